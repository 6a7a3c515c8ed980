// Calls the launch function `grove build` wrote for ../gemm.grove (C = A·B, f16, row-major, at
// the sizes given to CMake) and checks C against a plain CUDA kernel on random inputs:
// ||C - ref|| / ||ref||, both from the same f16 inputs with f32 accumulation.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "gemm_h100.h"

constexpr int M = GEMM_M, N = GEMM_N, K = GEMM_K; // the sizes `grove build` was given

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    cudaError_t err_ = (x);                                                                        \
    if (err_ != cudaSuccess) {                                                                     \
      std::printf("gemm_aot: %s: %s\n", #x, cudaGetErrorString(err_));                             \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

__global__ void reference(float* C, const __half* A, const __half* B) {
  const int i = blockIdx.y * blockDim.y + threadIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= M || j >= N) return;
  float s = 0;
  for (int k = 0; k < K; ++k) s += __half2float(A[i * K + k]) * __half2float(B[k * N + j]);
  C[i * N + j] = s;
}

int main(int argc, char** argv) {
  // Without a GPU, say so: a failure with --require-gpu (bench/gpu/run.sh), else not.
  const bool require_gpu = argc > 1 && std::string(argv[1]) == "--require-gpu";
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("gemm_aot: no GPU; built for M=%d N=%d K=%d\n", M, N, K);
    return require_gpu ? 1 : 0;
  }
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<__half> a(size_t(M) * K), b(size_t(K) * N);
  for (__half& x : a) x = __float2half(dist(rng));
  for (__half& x : b) x = __float2half(dist(rng));
  __half *A, *B, *C;
  float* R;
  CHECK(cudaMalloc(&A, a.size() * 2));
  CHECK(cudaMalloc(&B, b.size() * 2));
  CHECK(cudaMalloc(&C, size_t(M) * N * 2));
  CHECK(cudaMalloc(&R, size_t(M) * N * 4));
  CHECK(cudaMemcpy(A, a.data(), a.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(B, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemset(C, 0xff, size_t(M) * N * 2)); // NaN: an element never written shows
  CHECK(gemm_tile_0_launch(C, A, B, nullptr));
  reference<<<dim3((N + 15) / 16, (M + 15) / 16), dim3(16, 16)>>>(R, A, B);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  std::vector<__half> c(size_t(M) * N);
  std::vector<float> r(size_t(M) * N);
  CHECK(cudaMemcpy(c.data(), C, c.size() * 2, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(r.data(), R, r.size() * 4, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    const double d = double(__half2float(c[i])) - r[i];
    num += d * d;
    den += double(r[i]) * r[i];
  }
  const double rel = std::sqrt(num / den);
  const bool ok = std::isfinite(rel) && rel < 1e-3;
  std::printf("CHECK gemm_aot M=%d N=%d K=%d: ||C - ref|| / ||ref|| = %.2e %s\n", M, N, K, rel,
              ok ? "ok" : "FAILED");
  cudaFree(A);
  cudaFree(B);
  cudaFree(C);
  cudaFree(R);
  return ok ? 0 : 1;
}
