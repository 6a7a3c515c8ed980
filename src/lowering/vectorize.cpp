// Pass 2: vectorization. A prange over warpgroups in a block is an implicit parallel loop; here it
// becomes the processor id `wg` of the consumer warpgroup running the event. A NONE local is then
// held in registers in pieces: each warpgroup's piece must be its own rows, the same for every
// event that touches it, or NONE cannot be honoured.
#include <map>

#include "lowering/passes.h"

namespace grove::lower {
namespace {

using namespace kir;

IExprP subst(const IExprP& e, const std::string& name, const IExprP& by) {
  if (!e) return e;
  if (e->op == IExpr::Var) return e->name == name ? by : e;
  if (e->op == IExpr::Const) return e;
  return bin(e->op, subst(e->a, name, by), subst(e->b, name, by));
}

void subst_view(View& v, const std::string& name, const IExprP& by) {
  for (IExprP& o : v.origin) o = subst(o, name, by);
}

} // namespace

void vectorize(BlockProgram& b) {
  int W = 1;
  for_each_event(b.events, [&](Event& e) { W = std::max(W, e.wg_count); });
  b.consumer_warpgroups = W;
  IExprP wg = var("wg");
  for_each_event(b.events, [&](Event& e) {
    if (e.wg_count == 0) return;
    if (e.wg_count != W)
      throw GroveError(e.loc,
                       "this prange runs " + std::to_string(e.wg_count) +
                           " warpgroup(s), but block instance '" + b.block->name + "' runs " +
                           std::to_string(W) + " consumer warpgroups elsewhere",
                       "use the same number of warpgroups for every prange of the block");
    if (!e.wg_var.empty()) {
      subst_view(e.src, e.wg_var, wg);
      subst_view(e.dst, e.wg_var, wg);
      for (auto& [n, v] : e.args) subst_view(v, e.wg_var, wg);
      for (auto& [n, s] : e.scalars)
        if (s.int_value) s.int_value = subst(s.int_value, e.wg_var, wg);
      e.wg_var.clear();
    }
  });

  // NONE locals now in registers: check every use is warpgroup wg's own rows (all its columns,
  // or a piece of them: an epilogue in column pieces), then shrink the tensor to one piece.
  for (size_t t = 0; t < b.tensors.size(); ++t) {
    Tensor& ten = b.tensors[t];
    if (ten.kind != Tensor::Buffer || ten.memory != Memory::None) continue;
    if (!ten.per_warpgroup) continue; // never reaches a leaf: nothing to hold
    ten.memory = Memory::Register;
    int64_t rows = 0;
    is_const(ten.shape[0], &rows);
    if (rows % W != 0)
      throw GroveError(ten.loc, "NONE cannot be honoured: '" + ten.name + "' has " +
                                    std::to_string(rows) + " rows, which do not split over " +
                                    std::to_string(W) + " warpgroups");
    int64_t piece = rows / W;
    for_each_event(b.events, [&](Event& e) {
      for (auto& [n, v] : e.args) {
        if (v.tensor != static_cast<int>(t)) continue;
        bool ok = v.extent.size() == ten.shape.size();
        int64_t ext0 = 0;
        ok = ok && is_const(v.extent[0], &ext0) && ext0 == piece;
        for (int w = 0; ok && w < W; ++w) {
          std::map<std::string, int64_t> env{{"wg", w}};
          try {
            ok = eval(*v.origin[0], env) == w * piece;
          } catch (const std::exception&) {
            ok = false; // depends on a loop variable: not a fixed piece per warpgroup
          }
        }
        if (!ok)
          throw GroveError(e.loc,
                           "NONE cannot be honoured: instance '" +
                               (e.instance ? e.instance->name : std::string("?")) + "' uses " +
                               view_str(b, v) + " of '" + ten.name +
                               "', which is not warpgroup wg's " + std::to_string(piece) + " rows",
                           "pass every warpgroup leaf rows(" + ten.name + ", " +
                               std::to_string(piece) + ")[w] in a prange over w");
        v.origin[0] = cst(0); // (columns: any piece of the warpgroup's rows)
      }
    });
    ten.shape[0] = cst(piece);
  }

  // Shared buffers private to a warpgroup: one region per warpgroup, side by side.
  for (size_t t = 0; t < b.tensors.size(); ++t) {
    Tensor& ten = b.tensors[t];
    if (ten.memory != Memory::Shared || !ten.per_warpgroup) continue;
    int64_t rows = 0;
    is_const(ten.shape[0], &rows);
    ten.shape[0] = cst(rows * W);
    auto shift = [&](View& v) {
      if (v.tensor == static_cast<int>(t)) v.origin[0] = add(v.origin[0], mul(wg, cst(rows)));
    };
    for_each_event(b.events, [&](Event& e) {
      shift(e.src);
      shift(e.dst);
      for (auto& [n, v] : e.args) shift(v);
    });
    ten.per_warpgroup = false;
  }
}

} // namespace grove::lower
