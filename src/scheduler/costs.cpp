#include "scheduler/costs.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace grove::sched {

Problem build_problem(const Graph& g, const Machine& m) {
  Problem p;
  p.graph = &g;
  p.machine = &m;
  for (const Op& op : g.ops) {
    auto kit = m.kinds.find(op.kind);
    if (kit == m.kinds.end())
      throw std::runtime_error("op " + op.name + ": machine " + m.name + " has no kind '" +
                               op.kind + "'");
    const OpKind& kind = kit->second;
    // Unit cycles: from work amounts through the machine's rates, or given directly.
    std::vector<int64_t> per_unit(m.units.size(), 0);
    for (const auto& [work, amount] : op.work) {
      const Rate* r = m.rate(work);
      if (!r)
        throw std::runtime_error("op " + op.name + ": machine has no rate for '" + work + "'");
      per_unit[m.unit_index(r->unit)] += static_cast<int64_t>(std::ceil(amount / r->per_clock));
    }
    for (const auto& [unit, cyc] : op.cycles) {
      int u = m.unit_index(unit);
      if (u < 0) throw std::runtime_error("op " + op.name + ": unknown unit '" + unit + "'");
      per_unit[u] = cyc;
    }
    OpCost c;
    c.async = kind.async;
    c.variable_latency = kind.variable_latency;
    int64_t sum = 0, longest = 0;
    for (size_t u = 0; u < per_unit.size(); ++u) {
      if (per_unit[u] <= 0) continue;
      c.units.push_back({static_cast<int>(u), per_unit[u]});
      sum += per_unit[u];
      longest = std::max(longest, per_unit[u]);
    }
    int64_t work_time = kind.combine == "max" ? longest : sum;
    if (kind.async) {
      c.busy = kind.issue_cycles;
      c.latency = longest + kind.latency;
    } else {
      c.busy = std::max<int64_t>(work_time, kind.issue_cycles);
      c.latency = c.busy + kind.latency;
    }
    if (op.latency) c.latency = *op.latency;
    // Async ops read their operands until they complete (a WGMMA reads shared memory while it
    // runs); synchronous ops have read theirs when the warp is done with them.
    c.hold = kind.async ? c.latency : c.busy;
    p.ops.push_back(c);
  }
  for (const Edge& e : g.edges) {
    EdgeCost c;
    c.latency = e.latency ? *e.latency : p.ops[e.src].latency;
    const Op& src = g.ops[e.src];
    c.reg_value = e.data && src.regs > 0;
    c.cross_latency = m.cross_role_latency + (c.reg_value ? m.reg_transfer_latency : 0);
    p.edges.push_back(c);
  }
  return p;
}

void normalise(Problem& p) {
  int64_t g = 0;
  auto add = [&](int64_t v) {
    if (v > 0) g = std::gcd(g, v);
  };
  for (const OpCost& c : p.ops) {
    for (const UnitUse& u : c.units) add(u.cycles);
    add(c.busy);
    add(c.latency);
    add(c.hold);
  }
  for (const EdgeCost& e : p.edges) {
    add(e.latency);
    add(e.cross_latency);
  }
  if (g <= 1) return;
  for (OpCost& c : p.ops) {
    for (UnitUse& u : c.units) u.cycles /= g;
    c.busy /= g;
    c.latency /= g;
    c.hold /= g;
  }
  for (EdgeCost& e : p.edges) {
    e.latency /= g;
    e.cross_latency /= g;
  }
  p.time_unit *= g;
}

bool recurrences_fit(const Problem& p, int64_t ii) {
  // Longest paths by Bellman-Ford; a relaxation in round n means a positive cycle.
  const Graph& g = *p.graph;
  size_t n = g.ops.size();
  std::vector<int64_t> dist(n, 0);
  for (size_t round = 0; round <= n; ++round) {
    bool changed = false;
    for (size_t i = 0; i < g.edges.size(); ++i) {
      const Edge& e = g.edges[i];
      int64_t w = p.edges[i].latency - e.distance * ii;
      if (dist[e.src] + w > dist[e.dst]) {
        dist[e.dst] = dist[e.src] + w;
        changed = true;
      }
    }
    if (!changed) return true;
  }
  return false;
}

IiBound lower_bound(const Problem& p) {
  const Machine& m = *p.machine;
  const Graph& g = *p.graph;
  IiBound b{1, "one time unit"};
  auto raise = [&](int64_t v, const std::string& why) {
    if (v > b.ii) b = {v, why};
  };
  auto cyc = [&](int64_t units) { return std::to_string(units * p.time_unit) + " cycles"; };
  // Each unit must fit one iteration's work per II.
  for (size_t u = 0; u < m.units.size(); ++u) {
    int64_t total = 0;
    for (const OpCost& c : p.ops)
      for (const UnitUse& use : c.units)
        if (use.unit == static_cast<int>(u)) total += use.cycles;
    int64_t cap = m.units[u].count;
    raise((total + cap - 1) / cap, m.units[u].name + " unit (" + cyc(total) + " of work per " +
                                       "iteration over " + std::to_string(cap) + " unit(s))");
  }
  // No occupancy may wrap onto itself.
  int64_t warp_total = 0;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const OpCost& c = p.ops[i];
    raise(c.busy, "warp time of " + g.ops[i].name + " (" + cyc(c.busy) + ")");
    for (const UnitUse& use : c.units)
      raise(use.cycles, m.units[use.unit].name + " time of " + g.ops[i].name);
    warp_total += c.busy;
  }
  raise((warp_total + m.max_roles - 1) / m.max_roles,
        "warp time over " + std::to_string(m.max_roles) + " warpgroups");
  // Recurrences: smallest ii without a positive cycle (binary search, monotone in ii).
  if (!recurrences_fit(p, b.ii)) {
    int64_t lo = b.ii, hi = b.ii;
    while (!recurrences_fit(p, hi)) {
      lo = hi;
      hi *= 2;
      if (hi > (int64_t{1} << 40)) {
        b = {hi, "dependence cycle with distance 0"};
        return b;
      }
    }
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      (recurrences_fit(p, mid) ? hi : lo) = mid;
    }
    b = {hi, "loop-carried dependence cycle (" + cyc(hi) + " per iteration)"};
  }
  return b;
}

} // namespace grove::sched
