// Helpers shared by the unit tests: compile a program from text or a file, run it on random
// inputs, and compare with ||out - ref|| / ||ref||.
#pragma once
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "frontend/check.h"
#include "frontend/parser.h"
#include "taskir/interpreter.h"

namespace grove::test {

struct Compiled {
  SourceManager sm;
  Program prog;
  std::string errors; // formatted diagnostics; empty when the program checks
};

inline std::unique_ptr<Compiled> finish(std::unique_ptr<Compiled> c, Diagnostics& d) {
  if (!d.has_errors()) {
    check_program(c->prog, d);
    for (const MappingDecl& m : c->prog.mappings) check_mapping(c->prog, m, d);
  }
  std::ostringstream os;
  d.print(os);
  c->errors = os.str();
  return c;
}

// `types` set the program's type parameters (as `--type T=bf16`).
inline std::unique_ptr<Compiled> compile_text(const std::string& text,
                                              const std::string& name = "test.grove",
                                              const TypeArgs& types = {}) {
  auto c = std::make_unique<Compiled>();
  Diagnostics d(c->sm);
  parse_source(c->sm.add(name, text), c->sm, d, c->prog, types);
  return finish(std::move(c), d);
}

inline std::unique_ptr<Compiled> compile_file(const std::string& path, const TypeArgs& types = {}) {
  auto c = std::make_unique<Compiled>();
  Diagnostics d(c->sm);
  parse_file(path, c->sm, d, c->prog, types);
  return finish(std::move(c), d);
}

inline std::string example(const std::string& name) {
  return std::string(GROVE_SOURCE_DIR) + "/examples/" + name;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fills every readable tensor with uniform values in [-1, 1] rounded to its type; write-only
// tensors are poisoned with NaN so an element never written shows in the comparison.
inline void randomize(const TaskDecl& task, EntryArgs& args, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (const Param& p : task.params) {
    if (!p.type.is_tensor) continue;
    Buffer& b = *args.tensors.at(p.name);
    for (double& x : b.data) x = can_read(p.priv) ? round_to(b.elem, u(rng)) : std::nan("");
  }
}

inline EntryArgs deep_copy(const EntryArgs& a) {
  EntryArgs c = a;
  for (auto& [k, b] : c.tensors) b = std::make_shared<Buffer>(*b);
  return c;
}

// ||out - ref|| / ||ref||; infinite when `out` has a non-finite value.
inline double rel_error(const std::vector<double>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

} // namespace grove::test
