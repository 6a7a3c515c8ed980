// Pass 9: persistent kernels. The grid shrinks to at most one block per SM (grove_ctas, chosen at
// launch) and each role loops over the output tiles grove_cta, grove_cta + grove_ctas, ... so a
// block's producer loads the next tile while its consumers finish the last one, and the launch
// and barrier setup are paid once per SM instead of once per tile.
//
// Clusters: a cluster's c blocks (consecutive grove_cta) walk the same groups of c tiles (c1 along
// one clustered coordinate, or c1 x c2 along two) in lockstep; `tiles` then counts groups, and the
// launch gives a multiple of c blocks. A clustered kernel that is not persistent gets the same loop
// with one iteration: one group of tiles per cluster, every cluster launched.
//
// Ping-pong over tiles (Kernel::alternate_tiles): the consumer warpgroups take alternate
// iterations of the block's tile loop, so one's epilogue runs under the other's main loop; the
// producer's loop and the rings' counts are unchanged.
//
// Tile order: where the last two grid coordinates pick panels of different operands (A's rows
// by the row coordinate, B's columns by the column one, as in GEMM), tiles come in bands of
// `tile_band` rows (of R x C tiles; 8 unless the mapping says), each band walked column by
// column: the blocks running at one time then share a few column panels of B and a band's row
// panels of A, which stay in L2 (the "grouped" or "swizzled" raster of fast Hopper GEMMs;
// tile_band = 1 is plain row-by-row order). Otherwise (attention: every tile of a head reads the
// same K and V) the last coordinate varies fastest. Outer coordinates (a batch) vary slowest.
#include "lowering/passes.h"

namespace grove::lower {
namespace {

using namespace kir;

constexpr int64_t kDefaultBand = 8;

void check_free(const Kernel& k, const std::vector<std::string>& names) {
  auto clash = [&](const std::string& n) {
    for (const std::string& ours : names)
      if (n == ours)
        throw GroveError(SourceLoc{},
                         "the name '" + n + "' is taken by the persistent tile loop of kernel '" +
                             k.name + "'",
                         "rename it in the program (names starting with grove_ are Grove's)");
  };
  for (const std::string& v : k.size_vars) clash(v);
  for (const std::string& v : k.grid_vars) clash(v);
  for (const Role& r : k.roles) {
    std::vector<const Body*> todo{&r.body};
    while (!todo.empty()) {
      const Body* b = todo.back();
      todo.pop_back();
      for (const Op& o : *b)
        if (o.kind == Op::Loop) {
          clash(o.var);
          todo.push_back(&o.body);
        }
    }
  }
}

// Whether some global tensor is read at an origin that depends on `with` but not on `without`.
bool read_by_one(const Body& b, const std::string& with, const std::string& without) {
  for (const Op& o : b) {
    if ((o.kind == Op::TmaLoad || o.kind == Op::Copy) && o.src.kind == Ref::Global) {
      bool w = false, wo = false;
      for (const IExprP& x : o.src.origin) {
        w = w || mentions(x, with);
        wo = wo || mentions(x, without);
      }
      if (w && !wo) return true;
    }
    if (o.kind == Op::Loop && read_by_one(o.body, with, without)) return true;
  }
  return false;
}

bool banded(const Kernel& k, const std::string& row, const std::string& col) {
  bool by_row = false, by_col = false;
  for (const Role& r : k.roles) {
    by_row = by_row || read_by_one(r.body, row, col);
    by_col = by_col || read_by_one(r.body, col, row);
  }
  return by_row && by_col;
}

} // namespace

void loop_over_tiles(Kernel& k, const std::optional<Located<int64_t>>& band_option) {
  std::vector<std::string> ours = {
      "grove_cta",       "grove_ctas",  "grove_tile", "grove_rc",      "grove_band",
      "grove_in_band",   "grove_outer", "grove_rank", "grove_cluster", "grove_clusters",
      "grove_band_rows", "grove_turn",  kTileIter};
  for (const auto& [name, step] : k.tile_carries) ours.push_back(name);
  check_free(k, ours);
  const size_t n = k.grid.size();
  const int c = k.cluster;
  // With clusters, the loop runs over groups of tiles: along each cluster dimension d, block
  // grove_rank of the cluster takes tile size_d * group_d + r_d of each group its cluster visits
  // (r_d its coordinate in the cluster: rank = r0 + size0 * r1).
  std::vector<std::string> names = k.grid_vars;
  std::vector<IExprP> ext = k.grid;
  std::vector<size_t> split; // the grid coordinate of each cluster dimension
  for (const Kernel::ClusterDim& cd : k.cluster_dims)
    for (size_t i = 0; i < n && c > 1; ++i)
      if (k.grid_vars[i] == cd.var) {
        names[i] = "grove_" + cd.var + "_group";
        ext[i] = bin(IExpr::CeilDiv, ext[i], cst(cd.size));
        split.push_back(i);
      }
  const bool clustered = !split.empty();
  IExprP tiles = cst(1);
  for (const IExprP& g : ext) tiles = mul(tiles, g);
  IExprP first = var("grove_cta"), step = var("grove_ctas");
  std::vector<std::pair<std::string, IExprP>> lets;
  if (clustered) {
    lets.push_back({"grove_rank", bin(IExpr::Mod, var("grove_cta"), cst(c))});
    lets.push_back({"grove_cluster", bin(IExpr::Div, var("grove_cta"), cst(c))});
    lets.push_back({"grove_clusters", bin(IExpr::Div, var("grove_ctas"), cst(c))});
    first = var("grove_cluster");
    step = var("grove_clusters");
  }

  // The tile coordinates of iteration kTileIter, as lets of the tile loop. Under
  // last_tiles_first the tiles go in reverse order, so the last ones (in causal attention, the
  // query tiles that read the most keys) start first and the short ones fill the tail.
  IExprP index = add(first, mul(var(kTileIter), step));
  if (k.last_tiles_first) index = sub(sub(tiles, cst(1)), index);
  lets.push_back({"grove_tile", index});
  const bool bands = n >= 2 && banded(k, k.grid_vars[n - 2], k.grid_vars[n - 1]);
  if (band_option && !bands)
    throw GroveError(band_option->loc,
                     "tile_band orders tiles whose two last coordinates pick panels of different "
                     "operands (GEMM: A by row, B by column), which kernel '" +
                         k.name + "' does not have",
                     "drop tile_band: its tiles go in grid order");
  const int64_t band = band_option ? band_option->value : kDefaultBand;
  if (!bands) {
    // The last coordinate varies fastest, as blocks of an ordinary grid do.
    IExprP rest = var("grove_tile");
    for (size_t i = n; i-- > 0;) {
      lets.push_back({names[i], i == 0 ? rest : bin(IExpr::Mod, rest, ext[i])});
      rest = bin(IExpr::Div, rest, ext[i]);
    }
  } else {
    IExprP rows = ext[n - 2], cols = ext[n - 1];
    IExprP rc = n == 2 ? var("grove_tile") : bin(IExpr::Mod, var("grove_tile"), mul(rows, cols));
    if (n > 2) {
      lets.push_back({"grove_rc", rc});
      rc = var("grove_rc");
    }
    IExprP band_tiles = mul(cst(band), cols);
    lets.push_back({"grove_band", mul(bin(IExpr::Div, rc, band_tiles), cst(band))});
    lets.push_back({"grove_band_rows", bin(IExpr::Min, sub(rows, var("grove_band")), cst(band))});
    lets.push_back({"grove_in_band", bin(IExpr::Mod, rc, band_tiles)});
    lets.push_back({names[n - 2], add(var("grove_band"), bin(IExpr::Mod, var("grove_in_band"),
                                                             var("grove_band_rows")))});
    lets.push_back({names[n - 1], bin(IExpr::Div, var("grove_in_band"), var("grove_band_rows"))});
    if (n > 2) {
      // The outer coordinates of tile / (rows * cols), the last varying fastest.
      lets.push_back({"grove_outer", bin(IExpr::Div, var("grove_tile"), mul(rows, cols))});
      IExprP rest = var("grove_outer");
      for (size_t i = n - 2; i-- > 0;) {
        lets.push_back({names[i], i == 0 ? rest : bin(IExpr::Mod, rest, ext[i])});
        rest = bin(IExpr::Div, rest, ext[i]);
      }
    }
  }
  for (size_t d = 0; d < split.size(); ++d) {
    const Kernel::ClusterDim& cd = k.cluster_dims[d];
    lets.push_back({cd.var, add(mul(var(names[split[d]]), cst(cd.size)), cluster_coord(k, d))});
  }

  for (Role& r : k.roles) {
    Op loop;
    loop.kind = Op::Loop;
    loop.var = kTileIter;
    // (The extent is evaluated before the lets: it spells out grove_cluster(s).)
    loop.extent = clustered
                      ? bin(IExpr::CeilDiv, sub(tiles, bin(IExpr::Div, var("grove_cta"), cst(c))),
                            bin(IExpr::Div, var("grove_ctas"), cst(c)))
                      : bin(IExpr::CeilDiv, sub(tiles, first), step);
    loop.lets = lets;
    loop.carries = k.tile_carries;
    loop.note = clustered ? "the tile groups of this cluster: grove_cluster, grove_cluster + "
                            "grove_clusters, ..."
                          : "the tiles of this block: grove_cta, grove_cta + grove_ctas, ...";
    if (!k.persistent) { // clusters only: every group of tiles has its own cluster
      loop.extent = cst(1);
      loop.note = "this cluster's group of tiles (one group per cluster: not persistent)";
    }
    // Ops that run once per block (setmaxnreg, the first ping-pong hand-over, the final cluster
    // barrier) stay in front of and after the loop.
    auto begin = r.body.begin(), end = r.body.end();
    while (begin != end && begin->once) ++begin;
    while (end != begin && (end - 1)->once) --end;
    if (k.alternate_tiles && r.kind == Role::Consumer) {
      // Warpgroup wg takes the block's tile iterations wg, wg + 2, ...
      loop.var = "grove_turn";
      loop.extent = bin(IExpr::CeilDiv, sub(loop.extent, var("wg")), cst(2));
      loop.lets.insert(loop.lets.begin(),
                       {kTileIter, add(mul(var("grove_turn"), cst(2)), var("wg"))});
      loop.note += "; warpgroup wg takes every other one, from the wg-th";
    }
    loop.body.assign(std::make_move_iterator(begin), std::make_move_iterator(end));
    auto at = r.body.erase(begin, end);
    r.body.insert(at, std::move(loop));
  }
  k.tile_vars = k.grid_vars;
  k.tile_grid = k.grid;
  k.tiles = tiles;
  k.grid_vars = {"grove_cta"};
  k.grid = {var("grove_ctas")};
}

} // namespace grove::lower
