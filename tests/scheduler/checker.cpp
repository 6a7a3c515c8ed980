#include "checker.h"

#include "scheduler/costs.h"

#include <algorithm>
#include <map>

namespace grove::sched::testing {

bool overlaps_mod(int64_t a, int64_t da, int64_t b, int64_t db, int64_t ii) {
  if (da <= 0 || db <= 0) return false;
  if (da + db > ii) return true;
  for (int64_t t = 0; t < da; ++t) {
    int64_t x = ((a + t) % ii - b % ii + ii) % ii;
    if (x < db) return true;
  }
  return false;
}

std::vector<std::string> check_schedule(const Graph& g, const Machine& m, const Schedule& s) {
  std::vector<std::string> bad;
  if (!s.feasible) return {"schedule is not feasible"};
  Problem p = build_problem(g, m); // cycles
  const int64_t ii = s.ii;
  if (s.ops.size() != g.ops.size()) return {"op count differs"};
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const OpSlot& o = s.ops[i];
    if (o.name != g.ops[i].name) bad.push_back("op order differs at " + o.name);
    if (o.start != o.stage * ii + o.offset || o.offset < 0 || o.offset >= ii)
      bad.push_back("inconsistent start/stage/offset for " + o.name);
  }
  // Dependences, with the cross-warp cost.
  for (size_t e = 0; e < g.edges.size(); ++e) {
    const Edge& edge = g.edges[e];
    const OpSlot& a = s.ops[edge.src];
    const OpSlot& b = s.ops[edge.dst];
    int64_t need =
        p.edges[e].latency - edge.distance * ii + (a.role != b.role ? p.edges[e].cross_latency : 0);
    if (b.start - a.start < need)
      bad.push_back("dependence " + a.name + " -> " + b.name + " violated");
    if (edge.data && g.ops[edge.src].accumulator && a.role != b.role)
      bad.push_back("accumulator " + a.name + " read on another warpgroup");
  }
  // Units and warp roles, modulo II.
  for (size_t i = 0; i < g.ops.size(); ++i) {
    for (size_t j = i + 1; j < g.ops.size(); ++j) {
      const OpSlot& a = s.ops[i];
      const OpSlot& b = s.ops[j];
      if (a.role == b.role && overlaps_mod(a.offset, p.ops[i].busy, b.offset, p.ops[j].busy, ii))
        bad.push_back("warpgroup overlap: " + a.name + " and " + b.name);
      for (const UnitUse& ua : p.ops[i].units)
        for (const UnitUse& ub : p.ops[j].units)
          if (ua.unit == ub.unit && m.units[ua.unit].count == 1 &&
              overlaps_mod(a.offset, ua.cycles, b.offset, ub.cycles, ii))
            bad.push_back("unit " + m.units[ua.unit].name + " overlap: " + a.name + " and " +
                          b.name);
      if (p.ops[i].variable_latency != p.ops[j].variable_latency && a.role == b.role)
        bad.push_back("variable-latency op shares a warp: " + a.name + ", " + b.name);
    }
  }
  // Buffers cover every lifetime; registers and shared memory fit.
  std::map<int, int64_t> regs;
  int64_t smem = g.fixed_smem_bytes;
  for (const Role& r : s.roles) regs[r.id] = r.kind == "consumer" ? m.base_regs : m.producer_regs;
  for (size_t v = 0; v < g.ops.size(); ++v) {
    const Op& op = g.ops[v];
    if (op.regs == 0 && op.smem_bytes == 0) continue;
    const Buffer* b = s.buffer(op.name);
    if (!b) {
      bad.push_back("no buffer for " + op.name);
      continue;
    }
    if (op.accumulator && b->copies != 1) bad.push_back("accumulator with copies " + op.name);
    for (const Edge& edge : g.edges) {
      if (edge.src != static_cast<int>(v) || !edge.data || op.accumulator) continue;
      int64_t end = s.ops[edge.dst].start + p.ops[edge.dst].hold - edge.distance * ii;
      if (b->copies * ii < end - s.ops[v].start)
        bad.push_back("buffer " + op.name + " too shallow for its reader " + s.ops[edge.dst].name);
    }
    smem += int64_t{b->copies} * op.smem_bytes;
    std::vector<int> holders = {s.ops[v].role};
    for (int r : b->consumer_roles) holders.push_back(r);
    if (op.regs > 0)
      for (int r : holders) regs[r] += b->copies * op.regs;
    if (b->transfer) smem += int64_t{b->copies} * op.regs * 4 * m.threads_per_role;
    if (!b->consumer_roles.empty()) smem += 2 * b->copies * m.barrier_bytes;
  }
  int64_t file = 0;
  for (const Role& r : s.roles) {
    if (regs[r.id] > m.regs_per_thread_max)
      bad.push_back("wg" + std::to_string(r.id) + " needs " + std::to_string(regs[r.id]) +
                    " registers per thread");
    if (r.regs < regs[r.id]) bad.push_back("wg" + std::to_string(r.id) + " under-allocated");
    file += int64_t{r.regs} * r.threads;
  }
  if (file > m.register_file) bad.push_back("register file exceeded");
  if (smem > m.smem_bytes) bad.push_back("shared memory exceeded");
  if (static_cast<int>(s.roles.size()) > m.max_roles) bad.push_back("too many warpgroups");
  return bad;
}

} // namespace grove::sched::testing
