// `pipeline = auto`: the dependence graph of a block's pipelined loop, handed to the solver-based
// scheduler (src/scheduler), whose answer fixes the ring depth.
#pragma once
#include <string>

#include "lowering/event_ir.h"

namespace grove::lower {

struct LoopSchedule {
  bool found = false;     // a pipelined loop with producer copies exists
  int depth = 0;          // ring slots the schedule needs (0 when infeasible)
  bool pingpong = false;  // one consumer warpgroup's CUDA-core work runs under another's wgmmas
  std::string text, svg;  // the scheduler's pictures
  std::string graph_json; // what was solved, for reproducing it with grove-schedule
};

// True when Grove was built with the scheduler (Z3).
bool have_scheduler();
// Builds the loop's graph and solves it for `machine` (e.g. "h100"). Throws GroveError at the
// block instance when no schedule exists, naming the binding limit.
LoopSchedule schedule_loop(const BlockProgram& b, const std::string& machine = "h100");

} // namespace grove::lower
