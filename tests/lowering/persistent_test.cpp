// Persistent kernels: each role loops over its tiles, the tile order covers every tile once (in
// bands of rows where the two tile coordinates pick different operands), rings count on across
// tiles (by a running sum where a tile's trip count depends on it), and what a persistent grid
// cannot honour is refused with the reason.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "lowering/passes.h"
#include "lowering_util.h"

using namespace grove;
using namespace grove::test;

namespace {

const kir::Op& tile_loop(const kir::Role& r) {
  for (const kir::Op& o : r.body)
    if (o.kind == kir::Op::Loop && o.var == lower::kTileIter) return o;
  throw std::runtime_error("role " + r.name + " has no tile loop");
}

// The tile coordinates every (block, iteration) visits, in visiting order per block.
std::vector<std::vector<std::vector<int64_t>>>
visits(const kir::Kernel& k, std::map<std::string, int64_t> env, int64_t ctas) {
  const kir::Op& loop = tile_loop(k.roles.at(1));
  env["grove_ctas"] = ctas;
  std::vector<std::vector<std::vector<int64_t>>> out;
  for (int64_t cta = 0; cta < ctas; ++cta) {
    env["grove_cta"] = cta;
    out.emplace_back();
    int64_t n = kir::eval(*loop.extent, env);
    for (int64_t t = 0; t < n; ++t) {
      env[loop.var] = t;
      for (const auto& [name, value] : loop.lets) env[name] = kir::eval(*value, env);
      std::vector<int64_t> coords;
      for (const std::string& v : k.tile_vars) coords.push_back(env.at(v));
      out.back().push_back(coords);
    }
  }
  return out;
}

// The GEMM example without its cluster: one block per tile group of one.
std::string gemm_without_cluster() {
  return replace(read_example("gemm.grove"), "    cluster = (2, 1);\n", "");
}

TEST(Persistent, GemmRolesLoopOverTiles) {
  lower::Lowered l = lower_text(gemm_without_cluster());
  const kir::Kernel& k = l.kernels.at(0);
  ASSERT_TRUE(k.persistent);
  EXPECT_EQ(k.grid_vars, std::vector<std::string>{"grove_cta"});
  EXPECT_EQ(k.tile_vars, (std::vector<std::string>{"i", "j"}));
  for (const kir::Role& r : k.roles) {
    // setmaxnreg once, then the tile loop holds everything else but the consumers' last wait
    // for their TMA stores, once before the block exits.
    const bool cons = r.kind == kir::Role::Consumer;
    ASSERT_EQ(r.body.size(), cons ? 3u : 2u) << r.name;
    EXPECT_EQ(r.body[0].kind, kir::Op::SetMaxNReg);
    EXPECT_EQ(tile_loop(r).var, lower::kTileIter);
    if (cons) {
      EXPECT_EQ(r.body[2].kind, kir::Op::TmaStoreWait);
      EXPECT_EQ(r.body[2].count, 0);
    }
  }
  // Inside the loop, a tile waits for the last tile's store only before it writes the staging
  // tile again, so that store reads shared memory under this tile's main loop.
  std::string text = kir::to_text(k);
  size_t wait = text.find("the last TMA store from this staging tile has read it");
  size_t mma = text.find("wgmma");
  size_t store = text.find("tma.store global");
  ASSERT_NE(wait, std::string::npos) << text;
  EXPECT_LT(mma, wait) << text;
  EXPECT_LT(wait, store) << text;
  // The C staging tile has its own space: the producer loads the next tile during the epilogue.
  for (const kir::Barrier& b : k.barriers) EXPECT_NE(b.name, "tile_done");
  // Ring slots and phases count on from tile to tile.
  EXPECT_NE(text.find("ring0_full[(((grove_tile_iter * cdiv(K, 64)) + k) % 3)]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("consumers release the last iteration's slot"), std::string::npos);
}

TEST(Persistent, GemmTilesComeInBandsAndEachOnce) {
  lower::Lowered l = lower_text(gemm_without_cluster());
  const kir::Kernel& k = l.kernels.at(0);
  // 20 x 3 tiles of 128 x 256: bands of 8, 8 and 4 tile rows, each walked column by column.
  std::map<std::string, int64_t> sizes = {{"M", 20 * 128 - 5}, {"N", 3 * 256}, {"K", 64}};
  auto one = visits(k, sizes, 1).at(0);
  ASSERT_EQ(one.size(), 60u);
  for (int64_t t = 0; t < 60; ++t) {
    int64_t band = t / 24 * 8, rows = std::min<int64_t>(20 - band, 8), in = t % 24;
    EXPECT_EQ(one[static_cast<size_t>(t)], (std::vector<int64_t>{band + in % rows, in / rows}))
        << "tile " << t;
  }
  for (int64_t ctas : {1, 7, 59, 60}) {
    std::set<std::vector<int64_t>> seen;
    size_t total = 0;
    for (const auto& block : visits(k, sizes, ctas)) {
      total += block.size();
      seen.insert(block.begin(), block.end());
    }
    EXPECT_EQ(total, 60u) << ctas << " blocks";
    EXPECT_EQ(seen.size(), 60u) << ctas << " blocks";
  }
}

TEST(Persistent, ClustersTakeNeighbouringTilesTogether) {
  lower::Lowered l = lower_text(read_example("gemm.grove"));
  const kir::Kernel& k = l.kernels.at(0);
  ASSERT_EQ(k.cluster, 2);
  ASSERT_EQ(k.cluster_dims.size(), 1u);
  EXPECT_EQ(k.cluster_dims[0].var, "i");
  // 5 x 3 tiles: tile rows in pairs (the sixth row lies outside C: its loads read zeros and its
  // stores are dropped), both blocks of a cluster on the same pair at the same iteration.
  std::map<std::string, int64_t> sizes = {{"M", 5 * 128 - 3}, {"N", 3 * 256}, {"K", 64}};
  for (int64_t ctas : {2, 4, 10}) {
    auto blocks = visits(k, sizes, ctas);
    std::set<std::vector<int64_t>> seen;
    size_t total = 0;
    for (size_t b = 0; b < blocks.size(); ++b) {
      total += blocks[b].size();
      seen.insert(blocks[b].begin(), blocks[b].end());
      const auto& mate = blocks[b ^ 1];
      ASSERT_EQ(blocks[b].size(), mate.size()) << "blocks of a cluster run in lockstep";
      for (size_t t = 0; t < blocks[b].size(); ++t) {
        EXPECT_EQ(blocks[b][t][0], 2 * (blocks[b][t][0] / 2) + static_cast<int64_t>(b % 2));
        EXPECT_EQ(blocks[b][t][0] / 2, mate[t][0] / 2);
        EXPECT_EQ(blocks[b][t][1], mate[t][1]);
      }
    }
    EXPECT_EQ(total, 18u) << ctas << " blocks";
    EXPECT_EQ(seen.size(), 18u) << ctas << " blocks";
  }
  // B's tile is the same for both: each block loads half its rows and multicasts them.
  std::string text = kir::to_text(k);
  EXPECT_NE(text.find("tma.load.multicast smem B_s5"), std::string::npos) << text;
  EXPECT_NE(text.find("box[32, 256] <- global B @(((k * 64) + (grove_rank * 32))"),
            std::string::npos)
      << text;
  // Its slots are released to both blocks' producers; A is each block's own.
  EXPECT_NE(text.find("mbarrier ring0_empty[3], 4 arrival(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("mbarrier.arrive.cluster_wide ring0_empty"), std::string::npos) << text;
  EXPECT_EQ(text.find("tma.load.multicast smem A_s4"), std::string::npos) << text;
  EXPECT_NE(text.find("barrier.cluster.sync"), std::string::npos) << text;
}

// Without a persistent grid, a clustered kernel keeps the tile loop for one iteration: every
// cluster gets its own group of tiles, all launched at once (2 x groups blocks).
TEST(Persistent, ClustersWithoutPersistenceTakeOneGroupEach) {
  lower::Lowered l =
      lower_text(replace(read_example("gemm.grove"), "persistent = true;", "persistent = false;"));
  const kir::Kernel& k = l.kernels.at(0);
  EXPECT_FALSE(k.persistent);
  ASSERT_EQ(k.cluster, 2);
  ASSERT_TRUE(k.tiles);
  for (const kir::Role& r : k.roles) EXPECT_EQ(kir::to_string(*tile_loop(r).extent), "1") << r.name;
  // 5 x 3 tiles: 3 groups of two tile rows by 3 columns, 9 clusters of 2 blocks.
  std::map<std::string, int64_t> sizes = {{"M", 5 * 128 - 3}, {"N", 3 * 256}, {"K", 64}};
  EXPECT_EQ(kir::eval(*k.tiles, sizes), 9);
  auto blocks = visits(k, sizes, 18);
  std::set<std::vector<int64_t>> seen;
  for (size_t b = 0; b < blocks.size(); ++b) {
    ASSERT_EQ(blocks[b].size(), 1u);
    EXPECT_EQ(blocks[b][0][0] / 2, blocks[b ^ 1][0][0] / 2) << "a cluster's two tile rows";
    EXPECT_EQ(blocks[b][0][1], blocks[b ^ 1][0][1]) << "and the same column (B multicast)";
    seen.insert(blocks[b][0]);
  }
  EXPECT_EQ(seen.size(), 18u);
  EXPECT_NE(kir::to_text(k).find("tma.load.multicast smem B_s5"), std::string::npos);
}

TEST(Persistent, ClustersRefuseSharedSpace) {
  std::string text = replace(read_example("gemm.grove"), "pipeline = 3;", "pipeline = 4;");
  std::string msg = lowering_error(text);
  EXPECT_NE(msg.find("asks for clusters, but its shared buffer 'C_s6' reuses "
                     "another's space"),
            std::string::npos)
      << msg;
}

TEST(Persistent, BatchedGemmCoversEveryBatch) {
  lower::Lowered l = lower_text(read_example("batched_gemm.grove"));
  const kir::Kernel& k = l.kernels.at(0);
  ASSERT_EQ(k.tile_vars.size(), 3u);
  std::map<std::string, int64_t> sizes = {{"L", 3}, {"M", 1000}, {"N", 700}, {"K", 64}};
  std::set<std::vector<int64_t>> seen;
  for (const auto& block : visits(k, sizes, 5))
    for (const auto& c : block) {
      EXPECT_TRUE(c[0] < 3 && c[1] < 8 && c[2] < 3) << c[0] << " " << c[1] << " " << c[2];
      seen.insert(c);
    }
  EXPECT_EQ(seen.size(), 3u * 8 * 3);
}

// tile_band sets the band height: 3 rows of tiles per band (the last band of 20 holds 2), and 1
// is plain row-by-row order.
TEST(Persistent, TileBandSetsTheBandHeight) {
  std::map<std::string, int64_t> sizes = {{"M", 20 * 128 - 5}, {"N", 3 * 256}, {"K", 64}};
  for (int64_t b : {3, 1}) {
    std::string text = replace(gemm_without_cluster(), "persistent = true;",
                               "persistent = true;\n    tile_band = " + std::to_string(b) + ";");
    lower::Lowered l = lower_text(text);
    auto one = visits(l.kernels.at(0), sizes, 1).at(0);
    ASSERT_EQ(one.size(), 60u);
    for (int64_t t = 0; t < 60; ++t) {
      int64_t band = t / (3 * b) * b, rows = std::min<int64_t>(20 - band, b), in = t % (3 * b);
      EXPECT_EQ(one[static_cast<size_t>(t)], (std::vector<int64_t>{band + in % rows, in / rows}))
          << "tile_band " << b << ", tile " << t;
    }
    if (b == 1) {
      for (int64_t t = 0; t < 60; ++t)
        EXPECT_EQ(one[static_cast<size_t>(t)], (std::vector<int64_t>{t / 3, t % 3}));
    }
  }
}

// Attention's tiles all read one head's K and V: there are no bands to set.
TEST(Persistent, TileBandNeedsTilesOverTwoOperands) {
  std::string text =
      replace_in_mapping(read_example("attention.grove"), "h100_d128", "persistent = true;",
                         "persistent = true;\n    tile_band = 4;");
  std::string msg = lowering_error(text, {{"D", 128}}, "h100_d128");
  EXPECT_NE(msg.find("tile_band orders tiles whose two last coordinates pick panels of different "
                     "operands"),
            std::string::npos)
      << msg;
}

TEST(Persistent, AttentionWalksTheQueryTilesOfAHeadInOrder) {
  lower::Lowered l = lower_text(read_example("attention.grove"), {{"D", 128}});
  const kir::Kernel& k = l.kernels.at(0);
  // Every tile of a head reads the same K and V: query tiles of one head run side by side.
  auto one = visits(k, {{"BH", 3}, {"S", 512}}, 1).at(0);
  ASSERT_EQ(one.size(), 12u);
  for (int64_t t = 0; t < 12; ++t)
    EXPECT_EQ(one[static_cast<size_t>(t)], (std::vector<int64_t>{t / 4, t % 4}));
  // Q, loaded once per tile, is refilled only after both consumer warpgroups released it.
  bool q_empty = false;
  for (const kir::Barrier& b : k.barriers)
    q_empty =
        q_empty || (b.name.rfind("ready", 0) == 0 && b.name.find("_empty") != std::string::npos);
  EXPECT_TRUE(q_empty);
}

TEST(Persistent, GroveNamesAreRefused) {
  std::string text = replace(gemm_without_cluster(), R"(  for k in srange(cdiv(K, BK)) {
    launch mma_block(acc, Ak[k], Bk[k]);
  })",
                             R"(  for grove_tile in srange(cdiv(K, BK)) {
    launch mma_block(acc, Ak[grove_tile], Bk[grove_tile]);
  })");
  std::string msg = lowering_error(text);
  EXPECT_NE(msg.find("the name 'grove_tile' is taken by the persistent tile "
                     "loop"),
            std::string::npos)
      << msg;
}

// Clusters of 2 x 2: the blocks of a cluster take 2 x 2 neighbouring tiles; the two blocks of a
// tile row share its A panel, the two of a tile column its B panel.
TEST(Persistent, ClustersAlongBothCoordinatesShareBothPanels) {
  lower::Lowered l =
      lower_text(replace(read_example("gemm.grove"), "cluster = (2, 1);", "cluster = (2, 2);"));
  const kir::Kernel& k = l.kernels.at(0);
  ASSERT_EQ(k.cluster, 4);
  ASSERT_EQ(k.cluster_dims.size(), 2u);
  EXPECT_EQ(k.cluster_dims[0].var, "i");
  EXPECT_EQ(k.cluster_dims[1].var, "j");
  // 5 x 3 tiles: groups of 2 x 2 (the sixth row and fourth column lie outside C).
  std::map<std::string, int64_t> sizes = {{"M", 5 * 128 - 3}, {"N", 3 * 256}, {"K", 64}};
  for (int64_t ctas : {4, 8, 24}) {
    auto blocks = visits(k, sizes, ctas);
    std::set<std::vector<int64_t>> seen;
    for (size_t b = 0; b < blocks.size(); ++b) {
      const size_t first = b / 4 * 4; // the cluster's rank-0 block
      const int64_t rx = static_cast<int64_t>(b % 2), ry = static_cast<int64_t>(b % 4 / 2);
      ASSERT_EQ(blocks[b].size(), blocks[first].size()) << "blocks of a cluster run in lockstep";
      for (size_t t = 0; t < blocks[b].size(); ++t) {
        EXPECT_EQ(blocks[b][t][0], blocks[first][t][0] + rx) << "block " << b;
        EXPECT_EQ(blocks[b][t][1], blocks[first][t][1] + ry) << "block " << b;
        EXPECT_EQ(blocks[first][t][0] % 2, 0);
        EXPECT_EQ(blocks[first][t][1] % 2, 0);
        seen.insert(blocks[b][t]);
      }
    }
    EXPECT_EQ(seen.size(), 24u) << ctas << " blocks";
  }
  std::string text = kir::to_text(k);
  // A: half the rows each, multicast along the tile row (the blocks differing in j); B along the
  // tile column.
  EXPECT_NE(text.find("tma.load.multicast[j] smem A_s4"), std::string::npos) << text;
  EXPECT_NE(text.find("box[64, 64] <- global A @(((i * 128) + (((grove_rank / 2) % 2) * 64))"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tma.load.multicast[i] smem B_s5"), std::string::npos) << text;
  EXPECT_NE(text.find("box[32, 256] <- global B @(((k * 64) + ((grove_rank % 2) * 32))"),
            std::string::npos)
      << text;
  // A slot holds parts filled by three blocks (this one, its row mate, its column mate): each
  // releases it to all three, two consumer warpgroups each.
  EXPECT_NE(text.find("mbarrier ring0_empty[3], 6 arrival(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("mbarrier.arrive.cluster[j|i] ring0_empty"), std::string::npos) << text;
  for (int rank = 0; rank < 4; ++rank) {
    std::vector<int> cross = kir::cluster_targets(k, rank, {2u, 1u});
    EXPECT_EQ(cross.size(), 3u);
    EXPECT_EQ(std::count(cross.begin(), cross.end(), 3 - rank), 0) << "not the diagonal block";
  }
}

TEST(Persistent, ClustersAlongBothCoordinatesNeedTwoTileCoordinates) {
  // The GEMM with blocks over tile rows only (each block takes all N columns).
  std::string text = replace(read_example("gemm.grove"), R"(  let Ct = tile(C, BM, BN);
  let Ar = rows(A, BM);
  let Bc = cols(B, BN);
  for i, j in prange(cdiv(M, BM), cdiv(N, BN)) {
    launch gemm_tile(Ct[i, j], Ar[i], Bc[j]);
  })",
                             R"(  let Cr = rows(C, BM);
  let Ar = rows(A, BM);
  for i in prange(cdiv(M, BM)) {
    launch gemm_tile(Cr[i], Ar[i], B);
  })");
  EXPECT_EQ(lowering_error(text, {{"N", 256}}), "") << "with (2, 1) it lowers";
  std::string msg =
      lowering_error(replace(text, "cluster = (2, 1);", "cluster = (2, 2);"), {{"N", 256}});
  EXPECT_NE(msg.find("asks for clusters of 2x2 blocks, but its blocks have one tile coordinate"),
            std::string::npos)
      << msg;
}

// Causal attention: a query tile walks the key tiles up to the diagonal only, so its K/V loop's
// trip count depends on the tile. Each role's tile loop carries the iterations its block ran so
// far, which the rings' slots and phases count from; last_tiles_first walks the tiles longest
// first. Every tile is visited once, and the running sum is the sum of the tiles before.
TEST(Persistent, TileDependentTripCountsAreCountedPerBlock) {
  auto c = compile_file(example("attention_causal.grove"));
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions lo;
  lo.sizes = {{"D", 128}};
  lower::Lowered l =
      lower::lower_mapping(c->prog, *c->prog.find_mapping("h100_d128_causal_persistent"), lo);
  const kir::Kernel& k = l.kernels.at(0);
  ASSERT_EQ(k.tile_carries.size(), 1u);
  EXPECT_EQ(k.tile_carries[0].first, "grove_before_j");
  EXPECT_TRUE(kir::mentions(k.tile_carries[0].second, "i"));
  for (const kir::Role& r : k.roles) {
    ASSERT_EQ(tile_loop(r).carries.size(), 1u) << r.name;
    EXPECT_EQ(tile_loop(r).carries[0].first, "grove_before_j");
  }
  bool counted = false;
  std::function<void(const kir::Body&)> walk = [&](const kir::Body& body) {
    for (const kir::Op& o : body) {
      walk(o.body);
      if (o.kind == kir::Op::MbarWait && o.slot && kir::mentions(o.slot, "grove_before_j"))
        counted = true;
    }
  };
  walk(k.roles.at(1).body);
  EXPECT_TRUE(counted) << kir::to_text(k);
  // BH = 2, S = 700: 12 tiles (b, i) over 5 blocks, each once, in reverse grid order: block 0
  // starts with the last (b = 1, i = 5: the query tile with the most keys).
  std::map<std::string, int64_t> env = {{"BH", 2}, {"S", 700}, {"D", 128}};
  std::set<std::vector<int64_t>> seen;
  const auto blocks = visits(k, env, 5);
  EXPECT_EQ(blocks.at(0).at(0), (std::vector<int64_t>{1, 5}));
  for (const auto& block : blocks)
    for (size_t t = 0; t < block.size(); ++t) {
      EXPECT_TRUE(seen.insert(block[t]).second);
      if (t > 0) {
        EXPECT_LT(block[t][0] * 6 + block[t][1], block[t - 1][0] * 6 + block[t - 1][1]);
      }
    }
  EXPECT_EQ(seen.size(), 12u);
  // The warpgroups of ping-pong over tiles would each need the other's count: refused.
  std::string text = read_example("attention_causal.grove") + R"(
mapping alternate extends h100_d128_causal_persistent {
  instance host {
    tunable BQ = 64;
  }
}
)";
  std::string msg = lowering_error(text, {{"D", 128}}, "alternate");
  EXPECT_NE(msg.find("takes alternate tiles per warpgroup (pingpong), but its pipelined loop 'j' "
                     "runs"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("which depends on the tile coordinate 'i'"), std::string::npos) << msg;
}

} // namespace
