// Clusters: which tile coordinates the blocks of a cluster split, and which loads they share. A
// cluster (cx, cy) takes cx neighbouring tiles along the tile rows times cy along the tile columns
// (the last two block coordinates); a global-to-shared copy whose source does not depend on some of
// those coordinates is the same for every block of the cluster that differs only along them (its
// group), so each block of the group loads a slice of its rows and multicasts it to the whole
// group. GEMM under (2, 1): both blocks need the same B panel; under (2, 2) the two blocks of a
// tile row also share their A panel. A kernel that is not persistent runs one tile group per
// cluster (pass 9's tile loop, one iteration a block).
#include <algorithm>

#include "lowering/passes.h"

namespace grove::lower {

ClusterPlan plan_cluster(const BlockProgram& b, const RolePlan& plan) {
  ClusterPlan out;
  const Instance& in = *b.block;
  if (!in.cluster) return out;
  const auto [cx, cy] = in.cluster->value;
  if (cx * cy <= 1) return out;
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
  if (cx > 1 && cy > 1 && n < 2)
    throw GroveError(in.cluster->loc,
                     "instance '" + in.name + "' asks for clusters of " + std::to_string(cx) + "x" +
                         std::to_string(cy) + " blocks, but its blocks have one tile coordinate",
                     "use (" + std::to_string(cx * cy) + ", 1)");
  out.size = cx * cy;
  if (cy == 1 || n == 1)
    out.dims.push_back({n == 1 ? b.grid_vars[0] : b.grid_vars[n - 2], cx * cy});
  else if (cx == 1)
    out.dims.push_back({b.grid_vars[n - 1], cy});
  else
    out.dims = {{b.grid_vars[n - 2], cx}, {b.grid_vars[n - 1], cy}};

  std::map<int, const Event*> by_id;
  for_each_event(const_cast<Events&>(b.events), [&](Event& e) { by_id[e.id] = &e; });
  for (size_t r = 0; r < plan.rings.size(); ++r)
    for (int c : plan.rings[r].copies) {
      const Event& e = *by_id.at(c);
      // The group: the cluster dimensions the source does not depend on.
      unsigned group = 0;
      int blocks = 1;
      for (size_t d = 0; d < out.dims.size(); ++d) {
        bool depends = false;
        for (const IExprP& o : e.src.origin) depends = depends || mentions(o, out.dims[d].var);
        if (depends) continue;
        group |= 1u << d;
        blocks *= out.dims[d].size;
      }
      // Each block's slice starts on a whole 8-row swizzle atom (8 W bytes of a W-byte-wide
      // panel), so the slices land in the layout a whole-box load would give.
      std::vector<int64_t> box = e.dst.const_extent();
      if (group == 0 || box.empty() || box[0] % (8 * blocks) != 0) continue;
      out.shared_copies[c] = group;
      std::vector<unsigned>& groups = out.rings[static_cast<int>(r)];
      if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
    }
  return out;
}

} // namespace grove::lower
