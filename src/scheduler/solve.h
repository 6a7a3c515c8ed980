// Optimal modulo scheduling with warp specialisation, solved with Z3.
//
// For II = lower bound, lower bound + 1, ... (in normalised units) one Z3 query asks whether a
// modulo schedule with warp-role assignment exists under the machine's limits; the first II that
// is satisfiable is the answer, and every smaller one has been proven infeasible. Before that, one
// query at the sequential II (beyond which no constraint gets looser) decides whether any schedule
// exists; if not, the unsat core names the binding limits. docs/scheduling.md has the formulation.
#pragma once

#include "scheduler/model.h"
#include "scheduler/schedule.h"

namespace grove::sched {

struct SolveOptions {
  int max_roles = 0;             // warpgroups to consider; 0: the machine's max_roles
  int max_copies = 8;            // most rotating copies of one value (pipeline depth cap)
  double query_timeout_s = 20;   // per Z3 query; a timeout is reported, never taken as unsat
  double improve_budget_s = 2.0; // time to shorten one iteration at the optimal II
  bool normalise = true;         // divide times by their gcd (exact; see costs.h)
};

// Throws std::runtime_error for malformed input (unknown kinds, work keys, units).
Schedule solve(const Graph& g, const Machine& m, const SolveOptions& opt = {});

} // namespace grove::sched
