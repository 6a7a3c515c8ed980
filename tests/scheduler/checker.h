// Independent check of a schedule against the model's rules, recomputed from the graph and the
// machine in cycles (no normalisation, no solver): a wrong or hard-coded answer fails here.
#pragma once

#include "scheduler/model.h"
#include "scheduler/schedule.h"

#include <string>
#include <vector>

namespace grove::sched::testing {

// Returns the violated rules, one line each; empty when the schedule is valid.
std::vector<std::string> check_schedule(const Graph& g, const Machine& m, const Schedule& s);

// True when [a, a+da) and [b, b+db) overlap on a circle of length ii.
bool overlaps_mod(int64_t a, int64_t da, int64_t b, int64_t db, int64_t ii);

} // namespace grove::sched::testing
