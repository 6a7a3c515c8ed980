// Shared helpers of the device-header self-tests: error checks and a tiny result line format
// that bench/gpu/run.sh collects ("SELFTEST <name> PASS|FAIL <detail>").
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "grove_sm90_host.cuh"

#define CHECK_CUDA(x)                                                                              \
  do {                                                                                             \
    cudaError_t err_ = (x);                                                                        \
    if (err_ != cudaSuccess) {                                                                     \
      std::printf("SELFTEST %s FAIL %s:%d %s: %s\n", kTestName, __FILE__, __LINE__, #x,            \
                  cudaGetErrorString(err_));                                                       \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

inline unsigned short host_f32_to_f16(float f) {
  // Exact for the small integers and halves the tests use.
  unsigned int x;
  std::memcpy(&x, &f, 4);
  unsigned int sign = (x >> 16) & 0x8000u;
  int exp = static_cast<int>((x >> 23) & 0xffu) - 127 + 15;
  unsigned int mant = (x >> 13) & 0x3ffu;
  if ((x & 0x7fffffffu) == 0) return static_cast<unsigned short>(sign);
  if (exp <= 0 || exp >= 31) return static_cast<unsigned short>(sign | 0x7c00u); // not used
  return static_cast<unsigned short>(sign | (static_cast<unsigned>(exp) << 10) | mant);
}

inline float host_f16_to_f32(unsigned short h) {
  unsigned int sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  unsigned int x = exp == 0 ? sign : (sign | ((exp - 15 + 127) << 23) | (mant << 13));
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
