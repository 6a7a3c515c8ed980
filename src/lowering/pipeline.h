// The lowering pipeline: from a program and a mapping to one kernel IR per block launch.
#pragma once
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "lowering/event_ir.h"
#include "lowering/loop_graph.h"

namespace grove::lower {

// The passes in the order they run; `grove explain --after NAME` prints the IR after one of them.
const std::vector<std::string>& pass_names();

struct LowerOptions {
  std::string dump_after;       // a pass name, or empty
  std::ostream* dump = nullptr; // where to print it
  // Sizes fixed at compile time (e.g. a head dimension); the others stay kernel parameters.
  std::map<std::string, int64_t> sizes;
  // Where `pipeline = auto` leaves the schedules it solved (for `grove explain --schedule`).
  std::vector<LoopSchedule>* schedules = nullptr;
  bool schedule_all = false; // also solve loops with a fixed depth (without changing the depth)
};

// Throws GroveError, located in the program or mapping, when the mapping cannot be honoured.
Lowered lower_mapping(const Program& prog, const MappingDecl& mapping,
                      const LowerOptions& opts = {});

} // namespace grove::lower
