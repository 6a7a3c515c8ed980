// The reference interpreter: runs a program under a mapping on the CPU with sequential semantics.
// It is the ground truth every other layer is compared against, so it favours plain code over
// speed.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "taskir/view.h"

namespace grove {

struct RunOptions {
  bool exact = false;  // float64 reference: no rounding of stored values
  bool compute = true; // false: walk the tree and check shapes without computing (elaboration)
  // Bound on launches plus loop iterations, so a runaway program ends with an error.
  int64_t max_steps = 50'000'000;
};

// Arguments of the entry task: tensors by parameter name, and scalar values.
struct EntryArgs {
  std::map<std::string, std::shared_ptr<Buffer>> tensors;
  std::map<std::string, double> scalars;
};

// Counts of what ran, for `grove run` and for tests.
struct RunStats {
  int64_t launches = 0;
  int64_t leaf_runs = 0;
};

// Runs `mapping`'s entry instance. Throws GroveError with a location for anything that cannot run
// (a shape that does not bind, a partition that does not divide, an MMA shape the instance's
// level cannot issue, aliasing arguments).
RunStats run_mapping(const Program& prog, const MappingDecl& mapping, EntryArgs& args,
                     const RunOptions& opts);

// Runs the task's reference variant directly at HOST (no mapping), typically with opts.exact.
RunStats run_reference(const Program& prog, const TaskDecl& task, const VariantDecl& ref,
                       EntryArgs& args, const RunOptions& opts);

// The bound `--check` holds an output of type `out` to (||out - ref|| / ||ref||): its type's, or
// looser where a leaf the mapping runs rounds an intermediate (a local) to a narrower type, as FP8
// attention rounds its probabilities P to e4m3 before they multiply V.
double check_tolerance(const Program& prog, const MappingDecl& m, ElemType out);

// The entry task of a mapping (null if the mapping has no valid entry).
const TaskDecl* entry_task(const Program& prog, const MappingDecl& mapping);

// Allocates the entry tensors for the given sizes (size name -> value). Throws GroveError naming a
// missing size. Without `allocate` the tensors have their shapes but no elements (elaboration).
// Scalars come from `scalars` (the command line's --arg), else their defaults.
EntryArgs allocate_entry(const TaskDecl& task, const std::map<std::string, int64_t>& sizes,
                         const std::map<std::string, double>& scalars, SourceLoc where,
                         bool allocate = true);
inline EntryArgs allocate_entry(const TaskDecl& task, const std::map<std::string, int64_t>& sizes,
                                SourceLoc where) {
  return allocate_entry(task, sizes, {}, where);
}

} // namespace grove
