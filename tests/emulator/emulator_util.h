// Helpers for the emulator tests: random inputs, float64 references, mutations of kernel IR.
#pragma once
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emulator/emulator.h"

namespace grove::test {

// How many random schedules a test runs: `fallback`, or GROVE_EMULATOR_SCHEDULES for a soak.
inline int schedules(int fallback) {
  const char* s = std::getenv("GROVE_EMULATOR_SCHEDULES");
  return s && std::atoi(s) > 0 ? std::atoi(s) : fallback;
}

inline std::shared_ptr<Buffer> random_buffer(const std::string& name, ElemType t,
                                             std::vector<int64_t> shape, std::mt19937_64& rng,
                                             double scale = 1.0) {
  auto b = std::make_shared<Buffer>(name, t, std::move(shape), 0.0);
  std::uniform_real_distribution<double> u(-scale, scale);
  for (double& x : b->data) x = round_to(t, u(rng));
  return b;
}

inline std::shared_ptr<Buffer> poisoned_buffer(const std::string& name, ElemType t,
                                               std::vector<int64_t> shape) {
  return std::make_shared<Buffer>(name, t, std::move(shape),
                                  std::numeric_limits<double>::quiet_NaN());
}

// ||out - ref|| / ||ref||; NaN anywhere makes it infinite.
inline double rel_error(const std::vector<double>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (std::isnan(out[i])) return std::numeric_limits<double>::infinity();
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

inline std::string report_text(const EmulatorReport& r) {
  std::string s;
  for (const std::string& e : r.errors) s += e + "\n";
  return s;
}

// Where an op sits: the role, then its index in each enclosing body.
using OpPath = std::vector<size_t>;

inline void collect_ops(const kir::Body& body, OpPath& path,
                        const std::function<bool(const kir::Op&)>& pick, std::vector<OpPath>& out) {
  for (size_t i = 0; i < body.size(); ++i) {
    path.push_back(i);
    if (pick(body[i])) out.push_back(path);
    collect_ops(body[i].body, path, pick, out);
    path.pop_back();
  }
}

inline std::vector<OpPath> find_ops(const kir::Kernel& k,
                                    const std::function<bool(const kir::Op&)>& pick) {
  std::vector<OpPath> out;
  for (size_t r = 0; r < k.roles.size(); ++r) {
    OpPath p{r};
    collect_ops(k.roles[r].body, p, pick, out);
  }
  return out;
}

inline kir::Body& body_at(kir::Kernel& k, const OpPath& p, size_t depth) {
  kir::Body* b = &k.roles[p[0]].body;
  for (size_t i = 1; i < depth; ++i) b = &(*b)[p[i]].body;
  return *b;
}

inline const kir::Op& op_at(const kir::Kernel& k, const OpPath& p) {
  return body_at(const_cast<kir::Kernel&>(k), p, p.size() - 1)[p.back()];
}

inline kir::Kernel without(const kir::Kernel& k, const OpPath& p) {
  kir::Kernel m = k;
  kir::Body& b = body_at(m, p, p.size() - 1);
  b.erase(b.begin() + static_cast<std::ptrdiff_t>(p.back()));
  return m;
}

} // namespace grove::test
