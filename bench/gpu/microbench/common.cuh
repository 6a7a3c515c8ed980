// Shared helpers of the machine-model microbenchmarks (bench/gpu/microbench/*.cu).
//
// Each program measures figures that data/machines/h100.json estimates and prints one JSON line
// per figure on stdout:
//   {"figure": "...", "value": ..., "unit": "...", "method": "...", "model": "kinds.wgmma.latency"}
// `model` is the dotted path of the machine-file figure it should replace or check ("" when none);
// bench/gpu/microbench/table.py puts the two side by side. Times are SM clock cycles read with
// clock64 on the SM doing the work; every latency is the median of many samples.
#pragma once
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "grove_sm90_host.cuh"

#define CHECK_CUDA(x)                                                                              \
  do {                                                                                             \
    cudaError_t err_ = (x);                                                                        \
    if (err_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "MICROBENCH FAIL %s:%d %s: %s\n", __FILE__, __LINE__, #x,               \
                   cudaGetErrorString(err_));                                                      \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

// One result line. `method` must not contain double quotes or backslashes.
inline void emit(const char* figure, double value, const char* unit, const char* model,
                 const char* method) {
  std::printf("{\"figure\": \"%s\", \"value\": %.4g, \"unit\": \"%s\", \"method\": \"%s\", "
              "\"model\": \"%s\"}\n",
              figure, value, unit, method, model);
  std::fflush(stdout);
}

template <typename T> double median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? double(v[n / 2]) : 0.5 * (double(v[n / 2 - 1]) + double(v[n / 2]));
}

inline int sm_count() {
  int dev = 0, n = 0;
  CHECK_CUDA(cudaGetDevice(&dev));
  CHECK_CUDA(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
  return n;
}

// Dynamic shared memory that lets only one block of a kernel be resident per SM (the limit is
// 227 KB per block and 228 KB per SM), so a grid of sm_count() blocks puts one block on every SM.
constexpr int kOneBlockPerSmSmem = 120 * 1024;
