#include "scheduler/solve.h"

#include "scheduler/costs.h"

#include <z3++.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace grove::sched {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

z3::solver make_solver(z3::context& ctx) {
  z3::solver s(ctx);
  // Z3 4.8.12's older arithmetic core (arith.solver=2) solves these queries about 8x faster than
  // the default on the graphs in data/graphs (measured with bench/scheduler).
  z3::params p(ctx);
  p.set("arith.solver", 2u);
  s.set(p);
  return s;
}

// Constraint families whose violation the scheduler can report as "the binding limit".
enum Family { kRegsPerThread, kRegisterFile, kSharedMemory, kWarpgroups, kOwnWarp, kFamilyCount };

const char* family_name(int f) {
  switch (f) {
  case kRegsPerThread:
    return "registers per thread";
  case kRegisterFile:
    return "register file";
  case kSharedMemory:
    return "shared memory";
  case kWarpgroups:
    return "warpgroups per block";
  case kOwnWarp:
    return "variable-latency operations on their own warp";
  }
  return "?";
}

// One Z3 query: does a modulo schedule with this II (in units) exist?
class Formulation {
public:
  Formulation(const Problem& p, const SolveOptions& opt, int64_t ii, bool tracked)
      : p_(p), g_(*p.graph), m_(*p.machine), opt_(opt), ii_(ii), tracked_(tracked),
        s_(make_solver(ctx_)), lits_(ctx_), k_(ctx_), o_(ctx_), r_(ctx_), t_(ctx_), copies_(ctx_),
        regs_(ctx_), makespan_(ctx_.int_const("makespan")), roles_used_(ctx_.int_val(0)),
        smem_(ctx_.int_val(0)) {
    max_roles_ = opt.max_roles > 0 ? opt.max_roles : m_.max_roles;
    // With tracking on, one spare role lets the warpgroup limit show up in an unsat core.
    roles_ = std::min<int>(static_cast<int>(g_.ops.size()), max_roles_ + (tracked ? 1 : 0));
    roles_ = std::max(roles_, 1);
    for (int f = 0; f < kFamilyCount; ++f)
      lits_.push_back(ctx_.bool_const(("limit_" + std::to_string(f)).c_str()));
    build();
  }

  void set_timeout(double seconds) {
    z3::params prm(ctx_);
    prm.set("timeout", static_cast<unsigned>(std::max(1.0, seconds * 1000)));
    s_.set(prm);
  }

  z3::check_result check(const std::vector<int>& families) {
    z3::expr_vector assumptions(ctx_);
    for (int f : families) assumptions.push_back(lits_[f]);
    return s_.check(assumptions);
  }

  std::vector<int> core() {
    std::vector<int> out;
    z3::expr_vector c = s_.unsat_core();
    for (unsigned i = 0; i < c.size(); ++i)
      for (int f = 0; f < kFamilyCount; ++f)
        if (z3::eq(c[i], lits_[f])) out.push_back(f);
    return out;
  }

  // Secondary objectives at a fixed II. try_* keeps the model when `expr <= bound` is sat (false
  // also on timeout); fix_* makes the bound permanent.
  bool try_bound(const z3::expr& e, int64_t bound, double timeout) {
    s_.push();
    s_.add(e <= val(bound));
    set_timeout(timeout);
    z3::check_result r = check(all_families());
    if (r == z3::sat) model_.emplace(s_.get_model());
    s_.pop();
    return r == z3::sat;
  }
  void fix_bound(const z3::expr& e, int64_t bound) { s_.add(e <= val(bound)); }
  const z3::expr& makespan_expr() const { return makespan_; }
  const z3::expr& roles_used_expr() const { return roles_used_; }
  const z3::expr& smem_expr() const { return smem_; }
  int64_t smem() { return eval(smem_); }
  int64_t roles_used() { return eval(roles_used_); }

  void keep_model() { model_.emplace(s_.get_model()); }
  int64_t eval(const z3::expr& e) { return model_->eval(e, true).get_numeral_int64(); }
  int64_t makespan() { return eval(makespan_); }

  static std::vector<int> all_families() {
    std::vector<int> f;
    for (int i = 0; i < kFamilyCount; ++i) f.push_back(i);
    return f;
  }

  const z3::expr_vector& k() const { return k_; }
  const z3::expr_vector& o() const { return o_; }
  const z3::expr_vector& r() const { return r_; }
  int64_t copies_of(int op) { return copy_index_.count(op) ? eval(copies_[copy_index_[op]]) : 1; }
  int64_t role_regs(int role) { return eval(regs_[role]); }
  int roles() const { return roles_; }

private:
  z3::expr val(int64_t v) { return ctx_.int_val(v); }

  // Constraint that only counts when its family is assumed (the family can then be blamed).
  void add(int family, const z3::expr& e) { s_.add(z3::implies(lits_[family], e)); }

  // Busy intervals [a, a+da) and [b, b+db) on a circle of length II do not overlap.
  z3::expr disjoint(const z3::expr& a, int64_t da, const z3::expr& b, int64_t db) {
    if (da <= 0 || db <= 0) return ctx_.bool_val(true);
    if (da + db > ii_) return ctx_.bool_val(false);
    return (b >= a + val(da) && b + val(db) <= a + val(ii_)) ||
           (a >= b + val(db) && a + val(da) <= b + val(ii_));
  }

  // Interval [a, a+d) on the circle covers point x.
  z3::expr covers(const z3::expr& a, int64_t d, const z3::expr& x) {
    return (a <= x && x < a + val(d)) || (x < a + val(d - ii_));
  }

  void build();

  const Problem& p_;
  const Graph& g_;
  const Machine& m_;
  const SolveOptions& opt_;
  int64_t ii_;
  bool tracked_;
  int max_roles_ = 1;
  int roles_ = 1;
  z3::context ctx_;
  z3::solver s_;
  z3::expr_vector lits_, k_, o_, r_, t_, copies_, regs_;
  z3::expr makespan_;
  z3::expr roles_used_;                // number of warpgroups in use
  z3::expr smem_;                      // shared memory in use
  std::optional<z3::model> model_;     // after ctx_: destroyed before it
  std::map<int, unsigned> copy_index_; // op -> index into copies_
};

void Formulation::build() {
  const size_t n = g_.ops.size();
  // Stage bound: a schedule never needs an op later than the sequential length plus one II.
  int64_t seq = 0;
  for (const OpCost& c : p_.ops) seq += std::max({c.latency, c.hold, c.busy});
  for (const EdgeCost& e : p_.edges) seq += std::max<int64_t>(e.latency, 0) + e.cross_latency;
  int64_t max_stage = seq / ii_ + 2;

  for (size_t i = 0; i < n; ++i) {
    std::string id = std::to_string(i);
    k_.push_back(ctx_.int_const(("k" + id).c_str()));
    o_.push_back(ctx_.int_const(("o" + id).c_str()));
    r_.push_back(ctx_.int_const(("r" + id).c_str()));
    t_.push_back(k_[i] * val(ii_) + o_[i]);
    s_.add(k_[i] >= 0 && k_[i] <= val(max_stage));
    s_.add(o_[i] >= 0 && o_[i] < val(ii_));
    s_.add(r_[i] >= 0 && r_[i] < val(roles_));
    add(kWarpgroups, r_[i] < val(max_roles_));
    const OpCost& c = p_.ops[i];
    s_.add(makespan_ >= t_[i] + val(std::max(c.latency, c.busy)));
  }

  // Shifting every start time by a constant changes nothing: let the op with the most unit time
  // start at offset 0 (the stage bound above leaves room for the shift).
  {
    size_t anchor = 0;
    int64_t most = -1;
    for (size_t i = 0; i < n; ++i) {
      int64_t sum = 0;
      for (const UnitUse& u : p_.ops[i].units) sum += u.cycles;
      if (sum > most) most = sum, anchor = i;
    }
    s_.add(o_[anchor] == 0);
  }

  // Roles are interchangeable: number them in order of first use (restricted growth).
  {
    z3::expr prefix_max = r_[0];
    s_.add(r_[0] == 0);
    for (size_t i = 1; i < n; ++i) {
      s_.add(r_[i] <= prefix_max + 1);
      prefix_max = z3::ite(r_[i] > prefix_max, r_[i], prefix_max);
    }
  }

  // Modulo resource constraints: each unit serves at most `count` ops at any point of the II.
  for (size_t u = 0; u < m_.units.size(); ++u) {
    std::vector<std::pair<size_t, int64_t>> users;
    for (size_t i = 0; i < n; ++i)
      for (const UnitUse& use : p_.ops[i].units)
        if (use.unit == static_cast<int>(u)) users.push_back({i, use.cycles});
    int count = m_.units[u].count;
    if (count == 1) {
      for (size_t a = 0; a < users.size(); ++a)
        for (size_t b = a + 1; b < users.size(); ++b)
          s_.add(
              disjoint(o_[users[a].first], users[a].second, o_[users[b].first], users[b].second));
    } else {
      // Interval overlap is greatest at some interval's start: check every start.
      for (auto [i, di] : users) {
        (void)di;
        z3::expr load = val(0);
        for (auto [j, dj] : users)
          if (j != i) load = load + z3::ite(covers(o_[j], dj, o_[i]), val(1), val(0));
        s_.add(load <= val(count - 1));
      }
    }
    for (auto [i, d] : users)
      if (d > ii_) s_.add(ctx_.bool_val(false));
  }

  // A warpgroup is one instruction stream: its ops' warp time must not overlap.
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      s_.add(z3::implies(r_[i] == r_[j], disjoint(o_[i], p_.ops[i].busy, o_[j], p_.ops[j].busy)));

  // Variable-latency ops get warps of their own, so no fixed-latency work waits behind the
  // blocking wait for their next free buffer slot.
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (p_.ops[i].variable_latency && !p_.ops[j].variable_latency) add(kOwnWarp, r_[i] != r_[j]);

  // Dependences, with the cross-warp transfer cost when the two ends run on different roles.
  for (size_t e = 0; e < g_.edges.size(); ++e) {
    const Edge& edge = g_.edges[e];
    const EdgeCost& c = p_.edges[e];
    z3::expr extra = z3::ite(r_[edge.src] != r_[edge.dst], val(c.cross_latency), val(0));
    s_.add(t_[edge.dst] - t_[edge.src] >= val(c.latency - edge.distance * ii_) + extra);
    // An accumulator is updated in place in its owner's registers.
    if (edge.data && g_.ops[edge.src].accumulator) s_.add(r_[edge.src] == r_[edge.dst]);
  }

  // Values: copies * II must cover the lifetime from definition to the last read.
  for (size_t v = 0; v < n; ++v) {
    const Op& op = g_.ops[v];
    if (op.regs == 0 && op.smem_bytes == 0) continue;
    copy_index_[static_cast<int>(v)] = copies_.size();
    z3::expr c = ctx_.int_const(("copies_" + std::to_string(v)).c_str());
    copies_.push_back(c);
    if (op.accumulator) {
      s_.add(c == 1);
      continue;
    }
    s_.add(c >= 1 && c <= val(opt_.max_copies));
    s_.add(c * val(ii_) >= val(p_.ops[v].hold));
    for (size_t e = 0; e < g_.edges.size(); ++e) {
      const Edge& edge = g_.edges[e];
      if (edge.src != static_cast<int>(v) || !edge.data) continue;
      int64_t hold = p_.ops[edge.dst].hold - edge.distance * ii_;
      s_.add(c * val(ii_) >= t_[edge.dst] + val(hold) - t_[v]);
    }
  }

  // Registers per warpgroup and shared memory.
  z3::expr smem = val(p_.graph->fixed_smem_bytes);
  z3::expr regfile = val(0);
  for (int role = 0; role < roles_; ++role) {
    z3::expr_vector users(ctx_), compute(ctx_);
    for (size_t i = 0; i < n; ++i) {
      users.push_back(r_[i] == role);
      if (!p_.ops[i].variable_latency) compute.push_back(r_[i] == role);
    }
    z3::expr used = z3::mk_or(users);
    roles_used_ = roles_used_ + z3::ite(used, val(1), val(0));
    z3::expr has_compute = compute.empty() ? ctx_.bool_val(false) : z3::mk_or(compute);
    z3::expr regs =
        z3::ite(has_compute, val(m_.base_regs), z3::ite(used, val(m_.producer_regs), val(0)));
    for (auto [v, idx] : copy_index_) {
      const Op& op = g_.ops[v];
      if (op.regs == 0) continue;
      z3::expr held = r_[v] == role;
      // A register value read on another warpgroup also occupies registers there.
      for (const Edge& edge : g_.edges)
        if (edge.src == v && edge.data) held = held || r_[edge.dst] == role;
      regs = regs + z3::ite(held, copies_[idx] * val(op.regs), val(0));
    }
    regs_.push_back(regs);
    add(kRegsPerThread, regs <= val(m_.regs_per_thread_max));
    z3::expr q = ctx_.int_const(("q" + std::to_string(role)).c_str());
    s_.add(q >= 0 && q * val(m_.reg_granule) >= regs);
    regfile = regfile + q * val(int64_t{m_.reg_granule} * m_.threads_per_role);
  }
  add(kRegisterFile, regfile <= val(m_.register_file));

  for (auto [v, idx] : copy_index_) {
    const Op& op = g_.ops[v];
    z3::expr_vector crossings(ctx_);
    for (const Edge& edge : g_.edges)
      if (edge.src == v && edge.data) crossings.push_back(r_[edge.dst] != r_[v]);
    z3::expr crosses = crossings.empty() ? ctx_.bool_val(false) : z3::mk_or(crossings);
    int64_t bytes = op.smem_bytes;
    // A register value crossing warpgroups is staged through shared memory.
    int64_t staged = int64_t{op.regs} * 4 * m_.threads_per_role;
    z3::expr per_copy = val(bytes) + z3::ite(crosses, val(staged + 2 * m_.barrier_bytes), val(0));
    smem = smem + copies_[idx] * per_copy;
  }
  add(kSharedMemory, smem <= val(m_.smem_bytes));
  smem_ = smem;
}

} // namespace

Schedule solve(const Graph& g, const Machine& m, const SolveOptions& opt) {
  auto t0 = Clock::now();
  Problem p = build_problem(g, m);
  if (opt.normalise) normalise(p);
  const int64_t unit = p.time_unit;

  Schedule out;
  out.graph = g.name;
  out.machine = m.name;
  out.time_unit = unit;
  out.smem_limit = m.smem_bytes;
  IiBound lb = lower_bound(p);
  out.ii_lower_bound = lb.ii * unit;
  out.bound_reason = lb.reason;

  auto finish = [&](Schedule& s) -> Schedule& {
    s.solve_seconds = seconds_since(t0);
    return s;
  };

  if (g.ops.empty()) {
    out.reason = "the loop body has no operations";
    return finish(out);
  }
  if (lb.reason == "dependence cycle with distance 0") {
    out.reason = "no schedule: a dependence cycle has iteration distance 0";
    out.binding_limits = {"dependence cycle"};
    return finish(out);
  }

  // Sequential II: one iteration at a time, every value single-buffered. Larger IIs loosen no
  // constraint, so unsat here means no schedule at all; the core names the limits.
  int64_t seq = 0;
  for (const OpCost& c : p.ops) seq += std::max({c.latency, c.hold, c.busy});
  for (const EdgeCost& e : p.edges) seq += std::max<int64_t>(e.latency, 0) + e.cross_latency;
  seq = std::max(seq, lb.ii);
  {
    auto q0 = Clock::now();
    Formulation f(p, opt, seq, /*tracked=*/true);
    f.set_timeout(opt.query_timeout_s);
    z3::check_result r = f.check(Formulation::all_families());
    out.attempts.push_back({seq * unit,
                            r == z3::sat     ? "sat"
                            : r == z3::unsat ? "unsat"
                                             : "unknown",
                            seconds_since(q0)});
    if (r == z3::unknown) {
      out.reason = "the solver timed out deciding whether any schedule exists";
      return finish(out);
    }
    if (r == z3::unsat) {
      // Deletion-based minimal core over the limit families.
      std::vector<bool> keep(kFamilyCount, false);
      for (int c : f.core()) keep[c] = true;
      for (int drop = 0; drop < kFamilyCount; ++drop) {
        if (!keep[drop]) continue;
        std::vector<int> without;
        for (int c = 0; c < kFamilyCount; ++c)
          if (keep[c] && c != drop) without.push_back(c);
        if (!without.empty() && f.check(without) == z3::unsat) keep[drop] = false;
      }
      std::vector<int> core;
      for (int c = 0; c < kFamilyCount; ++c)
        if (keep[c]) core.push_back(c);
      std::ostringstream why;
      why << "no schedule exists on " << m.name << " at any initiation interval: the ";
      for (size_t i = 0; i < core.size(); ++i) {
        out.binding_limits.push_back(family_name(core[i]));
        why << (i ? " together with the " : "") << family_name(core[i]);
        switch (core[i]) {
        case kRegsPerThread:
          why << " limit (" << m.regs_per_thread_max << ")";
          break;
        case kRegisterFile:
          why << " (" << m.register_file << " registers)";
          break;
        case kSharedMemory:
          why << " (" << m.smem_bytes << " bytes)";
          break;
        case kWarpgroups:
          why << " (" << m.max_roles << ")";
          break;
        default:
          break;
        }
      }
      if (core.empty()) why << "dependence and resource constraints";
      why << (core.size() > 1 ? " cannot all be met" : " cannot be met");
      out.reason = why.str();
      return finish(out);
    }
  }

  // Iterate II upward from the lower bound; the first satisfiable II is optimal.
  bool all_proven = true;
  for (int64_t ii = lb.ii; ii <= seq; ++ii) {
    auto q0 = Clock::now();
    Formulation f(p, opt, ii, /*tracked=*/false);
    f.set_timeout(opt.query_timeout_s);
    z3::check_result r = f.check(Formulation::all_families());
    out.attempts.push_back({ii * unit,
                            r == z3::sat     ? "sat"
                            : r == z3::unsat ? "unsat"
                                             : "unknown",
                            seconds_since(q0)});
    if (r == z3::unknown) all_proven = false;
    if (r != z3::sat) continue;
    f.keep_model();

    // Among schedules at this II prefer, in order: fewer warpgroups (registers and threads left
    // for the rest of the kernel), less shared memory (fewer copies in flight), then a short
    // iteration (short prologue and epilogue, fewer live copies). Each is a search over a bound
    // within the improvement budget.
    auto i0 = Clock::now();
    auto left = [&] { return std::max(0.05, opt.improve_budget_s - seconds_since(i0)); };
    int64_t roles = f.roles_used();
    while (roles > 1 && seconds_since(i0) < opt.improve_budget_s &&
           f.try_bound(f.roles_used_expr(), roles - 1, left()))
      roles = f.roles_used();
    f.fix_bound(f.roles_used_expr(), roles);
    int64_t smem = f.smem();
    for (int64_t lo_smem = g.fixed_smem_bytes;
         lo_smem < smem && seconds_since(i0) < opt.improve_budget_s;) {
      int64_t mid = lo_smem + (smem - lo_smem) / 2;
      if (f.try_bound(f.smem_expr(), mid, left()))
        smem = f.smem();
      else
        lo_smem = mid + 1;
    }
    f.fix_bound(f.smem_expr(), smem);
    int64_t hi = f.makespan(), lo = 0;
    for (const OpCost& c : p.ops) lo = std::max(lo, std::max(c.latency, c.busy));
    while (lo < hi && seconds_since(i0) < opt.improve_budget_s) {
      int64_t mid = lo + (hi - lo) / 2;
      if (f.try_bound(f.makespan_expr(), mid, left()))
        hi = f.makespan();
      else
        lo = mid + 1;
    }

    // Read the model back in cycles.
    out.feasible = true;
    out.ii = ii * unit;
    out.proven_optimal = all_proven;
    int64_t min_stage = INT64_MAX;
    for (size_t i = 0; i < g.ops.size(); ++i) min_stage = std::min(min_stage, f.eval(f.k()[i]));
    int64_t first = INT64_MAX, last = 0;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const OpCost& c = p.ops[i];
      OpSlot s;
      s.name = g.ops[i].name;
      s.kind = g.ops[i].kind;
      s.stage = static_cast<int>(f.eval(f.k()[i]) - min_stage);
      s.offset = f.eval(f.o()[i]) * unit;
      s.start = s.stage * out.ii + s.offset;
      s.role = static_cast<int>(f.eval(f.r()[i]));
      s.busy = c.busy * unit;
      s.latency = c.latency * unit;
      s.async = c.async;
      for (const UnitUse& u : c.units) s.units.push_back({m.units[u.unit].name, u.cycles * unit});
      out.stages = std::max(out.stages, s.stage + 1);
      first = std::min(first, s.start);
      last = std::max(last, s.start + std::max(s.latency, s.busy));
      out.ops.push_back(s);
    }
    out.iteration_length = last - first;

    for (int role = 0; role < f.roles(); ++role) {
      Role rl;
      rl.id = role;
      rl.threads = m.threads_per_role;
      bool any = false, compute = false;
      for (size_t i = 0; i < out.ops.size(); ++i) {
        if (out.ops[i].role != role) continue;
        any = true;
        compute = compute || !p.ops[i].variable_latency;
        rl.ops.push_back(static_cast<int>(i));
      }
      if (!any) continue;
      rl.kind = compute ? "consumer" : "producer";
      int64_t regs = f.role_regs(role);
      rl.regs = static_cast<int>((regs + m.reg_granule - 1) / m.reg_granule * m.reg_granule);
      std::sort(rl.ops.begin(), rl.ops.end(),
                [&](int a, int b) { return out.ops[a].offset < out.ops[b].offset; });
      out.regs_total += rl.regs * rl.threads;
      out.roles.push_back(rl);
    }

    // Buffers and the barriers that hand them between warpgroups.
    out.smem_bytes = g.fixed_smem_bytes;
    for (size_t v = 0; v < g.ops.size(); ++v) {
      const Op& op = g.ops[v];
      if (op.regs == 0 && op.smem_bytes == 0) continue;
      Buffer b;
      b.value = op.name;
      b.memory = op.smem_bytes > 0 ? "smem" : "regs";
      b.copies = static_cast<int>(f.copies_of(static_cast<int>(v)));
      b.bytes_each = op.smem_bytes > 0 ? op.smem_bytes : op.regs;
      b.producer_role = out.ops[v].role;
      std::set<int> readers;
      for (const Edge& e : g.edges)
        if (e.src == static_cast<int>(v) && e.data && out.ops[e.dst].role != b.producer_role)
          readers.insert(out.ops[e.dst].role);
      b.consumer_roles.assign(readers.begin(), readers.end());
      b.transfer = b.memory == "regs" && !readers.empty();
      if (b.memory == "smem") out.smem_bytes += b.copies * b.bytes_each;
      if (b.transfer) out.smem_bytes += int64_t{b.copies} * op.regs * 4 * m.threads_per_role;
      if (!readers.empty()) {
        out.smem_bytes += 2 * b.copies * m.barrier_bytes;
        out.barriers.push_back({"full_" + op.name, "mbarrier", b.copies,
                                "consumers wait until " + op.name + " has landed"});
        out.barriers.push_back({"empty_" + op.name, "mbarrier", b.copies,
                                "producer waits until the slot of " + op.name + " is free"});
      }
      out.buffers.push_back(b);
    }
    for (const Edge& e : g.edges) {
      const Op& src = g.ops[e.src];
      bool has_buffer = e.data && (src.regs > 0 || src.smem_bytes > 0);
      if (has_buffer || out.ops[e.src].role == out.ops[e.dst].role) continue;
      out.barriers.push_back({"sync_" + src.name + "_" + g.ops[e.dst].name, "mbarrier", 1,
                              g.ops[e.dst].name + " waits for " + src.name + " on another warp"});
    }
    return finish(out);
  }
  out.reason = "the solver found no schedule up to the sequential II (timeouts: " +
               std::string(all_proven ? "none" : "some") + ")";
  return finish(out);
}

} // namespace grove::sched
