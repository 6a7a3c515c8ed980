// Clusters: which tile coordinate the blocks of a cluster split, and which loads they share. A
// cluster of c blocks takes c neighbouring tiles along one coordinate (the mapping's cluster
// (c, 1) splits tile rows, (1, c) tile columns); a global-to-shared copy whose source does not
// depend on that coordinate is the same for all c blocks, so each loads 1/c of its rows and
// multicasts them to every block (GEMM with clusters of (2, 1): both blocks need the same B
// panel). A kernel that is not persistent runs one tile group per cluster (pass 9's tile loop,
// one iteration a block).
#include "lowering/passes.h"

namespace grove::lower {

ClusterPlan plan_cluster(const BlockProgram& b, const RolePlan& plan) {
  ClusterPlan out;
  const Instance& in = *b.block;
  if (!in.cluster) return out;
  const auto [cx, cy] = in.cluster->value;
  if (cx * cy <= 1) return out;
  if (cx > 1 && cy > 1)
    throw GroveError(in.cluster->loc,
                     "instance '" + in.name + "' asks for clusters of " + std::to_string(cx) + "x" +
                         std::to_string(cy) +
                         " blocks; clusters along both tile coordinates are not lowered yet",
                     "use (" + std::to_string(cx * cy) + ", 1) or (1, " + std::to_string(cx * cy) +
                         ")");
  for (const Tensor& t : b.tensors)
    if (t.alias_of >= 0)
      throw GroveError(in.cluster->loc,
                       "instance '" + in.name + "' asks for clusters, but its shared buffer '" +
                           t.name +
                           "' reuses another's space, which the other blocks of the "
                           "cluster fill",
                       "use a shallower pipeline so every buffer has its own space, or drop the "
                       "cluster");
  const size_t n = b.grid_vars.size();
  if (n == 0) return out;
  out.size = cx * cy;
  out.var = cy > 1 || n == 1 ? b.grid_vars[n - 1] : b.grid_vars[n - 2];

  std::map<int, const Event*> by_id;
  for_each_event(const_cast<Events&>(b.events), [&](Event& e) { by_id[e.id] = &e; });
  for (size_t r = 0; r < plan.rings.size(); ++r)
    for (int c : plan.rings[r].copies) {
      const Event& e = *by_id.at(c);
      bool same_for_all = true;
      for (const IExprP& o : e.src.origin) same_for_all = same_for_all && !mentions(o, out.var);
      // Each block's slice starts on a whole 8-row swizzle atom (1024 bytes of a 128-byte-wide
      // panel), so the slices land in the layout a whole-box load would give.
      std::vector<int64_t> box = e.dst.const_extent();
      if (!same_for_all || box.empty() || box[0] % (8 * out.size) != 0) continue;
      out.shared_copies.insert(c);
      out.shared_rings.insert(static_cast<int>(r));
    }
  return out;
}

} // namespace grove::lower
