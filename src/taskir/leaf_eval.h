// Executes the statements of a leaf variant on dense copies of its tensors.
//
// Each element-wise statement is evaluated a whole expression node at a time over its index
// space (every index combination at once), which keeps the evaluator short and fast enough for
// the examples at the sizes the tests use.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "frontend/ast.h"

namespace grove {

struct Dense {
  std::string name;
  ElemType elem = ElemType::F32;
  std::vector<int64_t> shape;
  std::vector<double> data;
};

struct LeafEnv {
  std::map<std::string, Dense*> tensors;
  std::map<std::string, double> scalars; // sizes, tunables, scalar parameters and lets
  bool exact = false;                    // float64 reference: no rounding on store
};

// Runs one Assign or Mma statement. Throws GroveError (located) on shape mismatches.
void run_leaf_statement(const Stmt& s, LeafEnv& env);

} // namespace grove
