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

#ifdef __CUDACC__
// Writes a warpgroup's [64, N] fp32 accumulator fragment (the WGMMA D layout: thread t holds rows
// 16 (t / 32) + (t % 32) / 4 and 8 more, columns 2 (t % 4) and one more of every 8-column block)
// to row-major D, once the wgmmas that produced it have completed.
template <int N> __device__ void store_accumulator(float* acc, float* D) {
  const int tid = threadIdx.x;
  const int frag_row = 16 * (tid / 32) + (tid % 32) / 4, frag_col = 2 * (tid % 4);
#pragma unroll
  for (int i = 0; i < N / 2; ++i) grove::fence_reg(acc[i]);
#pragma unroll
  for (int j = 0; j < N / 8; ++j)
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int e = 0; e < 2; ++e)
        D[(frag_row + 8 * h) * N + 8 * j + frag_col + e] = acc[j * 4 + h * 2 + e];
}
#endif

// The WGMMA self-tests' harness: runs kernel<<<1, 128, smem>>>(A, B, D) on device copies of A and
// B with D [64, N] poisoned (NaN) and returns D.
template <typename E, typename Kernel>
std::vector<float> run_mma_kernel(const char* test, Kernel kernel, const std::vector<E>& A,
                                  const std::vector<E>& B, int N, int smem) {
  auto check = [test](cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    std::printf("SELFTEST %s FAIL %s: %s\n", test, what, cudaGetErrorString(e));
    std::exit(1);
  };
  E *dA, *dB;
  float* dD;
  std::vector<float> D(64 * N);
  check(cudaMalloc(&dA, A.size() * sizeof(E)), "cudaMalloc A");
  check(cudaMalloc(&dB, B.size() * sizeof(E)), "cudaMalloc B");
  check(cudaMalloc(&dD, D.size() * 4), "cudaMalloc D");
  check(cudaMemcpy(dA, A.data(), A.size() * sizeof(E), cudaMemcpyHostToDevice), "copy A");
  check(cudaMemcpy(dB, B.data(), B.size() * sizeof(E), cudaMemcpyHostToDevice), "copy B");
  check(cudaMemset(dD, 0xff, D.size() * 4), "poison D");
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
        "cudaFuncSetAttribute");
  kernel<<<1, 128, smem>>>(dA, dB, dD);
  check(cudaGetLastError(), "launch");
  check(cudaDeviceSynchronize(), "the kernel");
  check(cudaMemcpy(D.data(), dD, D.size() * 4, cudaMemcpyDeviceToHost), "copy D");
  check(cudaFree(dA), "cudaFree A");
  check(cudaFree(dB), "cudaFree B");
  check(cudaFree(dD), "cudaFree D");
  return D;
}

// How many elements of D [64, N] differ from want(m, n), the first five printed, then the case's
// line.
template <typename Want>
int count_wrong(const char* label, const std::vector<float>& D, int N, Want want) {
  int bad = 0;
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < N; ++n) {
      const float w = want(m, n);
      if (D[m * N + n] != w && bad++ < 5)
        std::printf("  %s: D[%d, %d] = %g, want %g\n", label, m, n, D[m * N + n], w);
    }
  std::printf("  %-44s %s\n", label, bad ? "FAIL" : "ok");
  return bad;
}
