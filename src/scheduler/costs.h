// From (graph, machine) to the numbers the solver works with: per-op unit occupancy, warp time,
// latency and operand hold time; per-edge latency; lower bounds on the initiation interval; and
// cost normalisation (dividing every time by their greatest common divisor).
#pragma once

#include "scheduler/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace grove::sched {

struct UnitUse {
  int unit = 0;       // index into Machine::units
  int64_t cycles = 0; // occupied from the op's start for this long
};

struct OpCost {
  std::vector<UnitUse> units;
  int64_t busy = 0;    // time the issuing warpgroup is occupied from the op's start
  int64_t latency = 0; // start -> result usable
  int64_t hold = 0;    // start -> operands no longer read (buffer may be reused)
  bool async = false;
  bool variable_latency = false;
};

struct EdgeCost {
  int64_t latency = 0;       // on the same warpgroup
  int64_t cross_latency = 0; // extra when src and dst run on different warpgroups
  bool reg_value = false;    // carries a register value (a cross-warp transfer moves it)
};

// The scheduling problem in normalised time units (1 unit = `time_unit` cycles).
struct Problem {
  const Graph* graph = nullptr;
  const Machine* machine = nullptr;
  int64_t time_unit = 1;
  std::vector<OpCost> ops;
  std::vector<EdgeCost> edges;
};

// Builds the problem in cycles (time_unit = 1). Throws std::runtime_error on an unknown kind,
// work key or unit, naming the op.
Problem build_problem(const Graph& g, const Machine& m);

// Divides every time in the problem by the gcd of all of them. Exact: a schedule in cycles with
// an II that is a multiple of the gcd maps onto one in units and back (see docs/scheduling.md).
void normalise(Problem& p);

struct IiBound {
  int64_t ii = 1;     // in the problem's units
  std::string reason; // which resource or recurrence gives it
};

// max(resource bound per unit, longest single warp occupancy, recurrence bound, total warp time
// over the warpgroups available). Cross-warp costs are left out, so this is a true lower bound.
IiBound lower_bound(const Problem& p);

// True when the dependence graph with weights latency - distance*ii has no positive cycle.
bool recurrences_fit(const Problem& p, int64_t ii);

} // namespace grove::sched
