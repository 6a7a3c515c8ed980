#include "scheduler/print.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace grove::sched {

namespace {

std::string role_name(const Role& r) {
  return "wg" + std::to_string(r.id);
}

// Ops of `stage`, in start order, as "a, b, c".
std::string stage_ops(const Schedule& s, int stage) {
  std::vector<const OpSlot*> ops;
  for (const OpSlot& o : s.ops)
    if (o.stage == stage) ops.push_back(&o);
  std::sort(ops.begin(), ops.end(),
            [](const OpSlot* a, const OpSlot* b) { return a->start < b->start; });
  std::string out;
  for (const OpSlot* o : ops) out += (out.empty() ? "" : ", ") + o->name;
  return out.empty() ? "-" : out;
}

} // namespace

std::string to_text(const Schedule& s) {
  std::ostringstream os;
  os << "schedule of " << s.graph << " on " << s.machine << "\n";
  if (!s.feasible) {
    os << "no schedule: " << s.reason << "\n";
    if (!s.binding_limits.empty()) {
      os << "binding limit(s):";
      for (const std::string& l : s.binding_limits) os << " [" << l << "]";
      os << "\n";
    }
    os << "solve time " << std::fixed << std::setprecision(3) << s.solve_seconds << " s\n";
    return os.str();
  }
  os << "initiation interval: " << s.ii << " cycles ("
     << (s.proven_optimal ? "optimal" : "best found, some smaller II timed out") << "; lower bound "
     << s.ii_lower_bound << " from the " << s.bound_reason << "; time unit " << s.time_unit
     << " cycles)\n";
  os << "stages: " << s.stages << ", one iteration spans " << s.iteration_length << " cycles\n";
  os << "warp roles (" << s.roles.size() << " warpgroups, " << s.regs_total << " registers):\n";
  for (const Role& r : s.roles) {
    os << "  " << role_name(r) << "  " << std::left << std::setw(9) << r.kind << std::right
       << std::setw(4) << r.regs << " regs/thread:";
    for (int i : r.ops) os << " " << s.ops[i].name;
    os << "\n";
  }
  os << "steady state (offset in the II, stage; async ops list the units they keep busy):\n";
  for (const Role& r : s.roles) {
    for (int i : r.ops) {
      const OpSlot& o = s.ops[i];
      os << "  " << std::setw(4) << role_name(r) << "  [" << std::setw(6) << o.offset << ", "
         << std::setw(6) << (o.offset + o.busy) << ")  " << std::left << std::setw(14) << o.name
         << std::right << " stage " << o.stage;
      for (const UnitSlot& u : o.units) os << "  " << u.unit << " " << u.cycles;
      if (o.async) os << "  (async, result at +" << o.latency << ")";
      os << "\n";
    }
  }
  os << "buffers:\n";
  for (const Buffer& b : s.buffers) {
    os << "  " << std::left << std::setw(14) << b.value << std::right << " " << b.copies << " x ";
    if (b.memory == "smem")
      os << b.bytes_each << " B shared";
    else
      os << b.bytes_each << " regs/thread";
    os << "  (written by wg" << b.producer_role;
    if (!b.consumer_roles.empty()) {
      os << ", read by";
      for (int r : b.consumer_roles) os << " wg" << r;
      if (b.transfer) os << " through shared memory";
    }
    os << ")\n";
  }
  os << "shared memory: " << s.smem_bytes << " of " << s.smem_limit << " bytes\n";
  if (!s.barriers.empty()) {
    os << "barriers:\n";
    for (const Barrier& b : s.barriers)
      os << "  " << b.name << " x" << b.count << ": " << b.purpose << "\n";
  }
  os << "loop structure:\n";
  for (int st = 0; st < s.stages; ++st) os << "  stage " << st << ": " << stage_ops(s, st) << "\n";
  if (s.stages > 1) {
    os << "  prologue: " << s.stages - 1 << " step(s); step p runs stages 0..p of iterations "
       << "p..0\n";
    os << "  steady state: every II runs stage s of iteration i-s for all s\n";
    os << "  epilogue: " << s.stages - 1 << " step(s) drain the last iterations\n";
  } else {
    os << "  single stage: no prologue or epilogue\n";
  }
  os << "solve time " << std::fixed << std::setprecision(3) << s.solve_seconds << " s over "
     << s.attempts.size() << " quer" << (s.attempts.size() == 1 ? "y" : "ies") << ":";
  for (const IiAttempt& a : s.attempts)
    os << " II " << a.ii << " " << a.result << " (" << std::setprecision(2) << a.seconds << " s)";
  os << "\n";
  return os.str();
}

} // namespace grove::sched
