// Helpers shared by the API tests: example paths, random f16 inputs, a float64 product, and the
// report of an expected api::Error.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "api/grove.h"
#include "support/numeric.h"
#include "test_util.h"

namespace grove::api {

// GROVE_SOURCE_DIR from the environment where it is set (a test binary carried to another
// machine, as bench/gpu/run.sh does), else the source tree it was built from.
inline std::string example(const std::string& name) {
  const char* dir = std::getenv("GROVE_SOURCE_DIR");
  return std::string(dir && *dir ? dir : GROVE_SOURCE_DIR) + "/examples/" + name;
}

// Uniform values in [-1, 1] as f16 bit patterns, and the same values as doubles.
struct Half {
  std::vector<uint16_t> bits;
  std::vector<double> values;
};
inline Half random_f16(size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> dist(-1, 1);
  Half h;
  for (size_t i = 0; i < n; ++i) {
    h.bits.push_back(f32_to_f16_bits(static_cast<float>(dist(rng))));
    h.values.push_back(f16_bits_to_f32(h.bits.back()));
  }
  return h;
}

inline std::vector<double> matmul(const std::vector<double>& a, const std::vector<double>& b,
                                  int64_t m, int64_t n, int64_t k) {
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

// Runs `f`, which must throw an api::Error, and returns its report.
template <typename F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

} // namespace grove::api
