// The scheduler's answer: an initiation interval and a modulo schedule with warp roles, buffers
// and barriers, or a statement that none exists under the machine's limits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace grove::sched {

struct UnitSlot {
  std::string unit;
  int64_t cycles = 0; // occupied from the op's start
};

struct OpSlot {
  std::string name;
  std::string kind;
  int64_t start = 0;  // cycles, iteration 0 (iteration i starts at start + i*II)
  int stage = 0;      // start / II
  int64_t offset = 0; // start % II: position in the steady-state loop body
  int role = 0;       // index into Schedule::roles
  int64_t busy = 0;   // warp time from start
  int64_t latency = 0;
  bool async = false;
  std::vector<UnitSlot> units;
};

struct Role {
  int id = 0;
  std::string kind; // "producer" (data movement only) or "consumer" (compute)
  int regs = 0;     // per-thread registers to request (setmaxnreg), granule-rounded
  int threads = 128;
  std::vector<int> ops; // indices into Schedule::ops, in steady-state issue order
};

// Storage for one value: `copies` rotating slots (the pipeline depth of that value).
struct Buffer {
  std::string value;  // the defining op's name
  std::string memory; // "smem" or "regs"
  int copies = 1;
  int64_t bytes_each = 0; // smem bytes per copy; for regs: registers per thread per copy
  int producer_role = 0;
  std::vector<int> consumer_roles; // roles other than the producer's that read it
  bool transfer = false;           // a register value moved to another warpgroup via smem
};

struct Barrier {
  std::string name;
  std::string kind; // "mbarrier"
  int count = 1;    // one per buffer copy
  std::string purpose;
};

struct IiAttempt {
  int64_t ii = 0;     // cycles
  std::string result; // "sat", "unsat", "unknown"
  double seconds = 0;
};

struct Schedule {
  std::string graph;
  std::string machine;
  bool feasible = false;

  // Feasible: the answer.
  int64_t ii = 0;             // cycles
  int64_t ii_lower_bound = 0; // cycles
  std::string bound_reason;
  int64_t time_unit = 1;       // normalisation unit: II is minimal over multiples of it
  bool proven_optimal = false; // every smaller multiple of time_unit was proven infeasible
  int stages = 1;
  int64_t iteration_length = 0; // first start to last completion of one iteration
  std::vector<OpSlot> ops;
  std::vector<Role> roles;
  std::vector<Buffer> buffers;
  std::vector<Barrier> barriers;
  int64_t smem_bytes = 0;
  int64_t smem_limit = 0;
  int regs_total = 0; // registers of the whole block (sum over roles of regs * threads)

  // Infeasible: why.
  std::string reason;                      // one sentence, names the binding limit(s)
  std::vector<std::string> binding_limits; // e.g. "registers per thread", "shared memory"

  std::vector<IiAttempt> attempts;
  double solve_seconds = 0;

  const OpSlot* op(const std::string& name) const;
  int role_of(const std::string& name) const; // -1 if no such op
  const Buffer* buffer(const std::string& value) const;
  int consumer_roles() const;
  int producer_roles() const;
};

} // namespace grove::sched
