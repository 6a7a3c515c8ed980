// WGMMA figures of the machine model: kinds.wgmma.issue_cycles and kinds.wgmma.latency (the
// drain after the tensor unit's work), for f16 inputs and f32 accumulators, both operands from
// shared memory (K-major, 128B swizzle), as in the GEMM and attention kernels.
//
// One block of one warpgroup on an idle GPU. A sample: bar.sync (the four warps start together),
// clock64, wgmma.fence, K/16 x wgmma.mma_async m64nNk16, commit_group, clock64 (issue), then
// wgmma.wait_group 0, clock64 (completion). Warp 0's clock is recorded; median of 200 samples.
// Done for N = 128 and 256 and K = 16, 64, 128, 256. The model's latency of a wgmma group is
// unit time (64 * N * K / 2048 cycles at the tensor rate) + kinds.wgmma.latency; a least-squares
// line latency = a + b * (K / 16) over the four K gives the measured drain a (compare with
// kinds.wgmma.latency) and the cycles per k16 step b (compare with 64 * N * 16 / 2048: 64 for
// N = 128, 128 for N = 256, i.e. rates.tensor_fma).
#include "common.cuh"

constexpr int kSamples = 200;

template <int N> __device__ __forceinline__ void mma(float* d, grove::u64 a, grove::u64 b) {
  if constexpr (N == 128)
    grove::wgmma_m64n128k16_f16_ss<0, 0>(d, a, b);
  else
    grove::wgmma_m64n256k16_f16_ss<0, 0>(d, a, b);
}

// A [64, K] and B [N, K] (K-major, B^T as in Q K^T) in 128B-swizzled panels of 64 columns; a
// panel is 128 bytes per row even when K = 16 uses only 32 of them, so tiles are padded to 64.
template <int K> constexpr int kPaddedK = K < 64 ? 64 : K;
template <int N, int K> constexpr int kSmemBytes = (64 + N) * kPaddedK<K> * 2 + 1024;

template <int N, int K>
__global__ void __launch_bounds__(128, 1) timed(long long* issue, long long* latency, float* sink) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* sA = grove::align_1024(raw);
  unsigned char* sB = sA + 64 * kPaddedK<K> * 2;
  // Small f16 values (about 2^-7): the products stay finite over all samples.
  for (int i = threadIdx.x; i < (64 + N) * kPaddedK<K>; i += 128)
    reinterpret_cast<grove::u16*>(sA)[i] = grove::u16(0x2000 + (i & 0xff));
  grove::fence_proxy_async(); // generic-proxy writes -> the tensor cores' reads
  __syncthreads();
  const grove::u32 a = grove::smem_u32(sA), b = grove::smem_u32(sB);
  float acc[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) acc[i] = 0.0f;
  for (int s = 0; s < kSamples; ++s) {
    __syncthreads();
    long long t0 = clock64();
    grove::wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < K / 16; ++ks)
      mma<N>(acc, grove::wgmma_desc<128>(a + grove::sw_start<128>(0, 32 * ks, 64), 16, 1024),
             grove::wgmma_desc<128>(b + grove::sw_start<128>(0, 32 * ks, N), 16, 1024));
    grove::wgmma_commit();
    long long t1 = clock64();
    grove::wgmma_wait<0>();
    long long t2 = clock64();
#pragma unroll
    for (int i = 0; i < N / 2; ++i) grove::fence_reg(acc[i]);
    if (threadIdx.x == 0) {
      issue[s] = t1 - t0;
      latency[s] = t2 - t0;
    }
  }
  float sum = 0;
#pragma unroll
  for (int i = 0; i < N / 2; ++i) sum += acc[i];
  sink[threadIdx.x] = sum; // keeps the accumulators (and so the wgmma) alive
}

struct Sample {
  double issue, latency;
};

template <int N, int K> Sample run(long long* d_issue, long long* d_latency, float* sink) {
  const int smem = kSmemBytes<N, K>;
  auto kernel = timed<N, K>;
  CHECK_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  kernel<<<1, 128, smem>>>(d_issue, d_latency, sink);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<long long> issue(kSamples), latency(kSamples);
  CHECK_CUDA(cudaMemcpy(issue.data(), d_issue, kSamples * 8, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(latency.data(), d_latency, kSamples * 8, cudaMemcpyDeviceToHost));
  Sample r{median(issue), median(latency)};
  char figure[64], method[256];
  std::snprintf(figure, sizeof figure, "wgmma_latency_m64n%dk%d", N, K);
  std::snprintf(method, sizeof method,
                "one warpgroup, idle GPU: clock64 from wgmma.fence through %d x m64n%dk16 f16 "
                "(A, B in smem, 128B swizzle) and commit to wait_group 0 returning; median of %d",
                K / 16, N, kSamples);
  emit(figure, r.latency, "cycles", "", method);
  return r;
}

// Least squares latency = a + b * steps.
static void fit(int n, const char* label, const int* steps, const Sample* s) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < 4; ++i) {
    sx += steps[i];
    sy += s[i].latency;
    sxx += double(steps[i]) * steps[i];
    sxy += steps[i] * s[i].latency;
  }
  double b = (4 * sxy - sx * sy) / (4 * sxx - sx * sx), a = (sy - b * sx) / 4;
  char figure[64], method[256];
  std::snprintf(figure, sizeof figure, "wgmma_drain_m64n%d", n);
  std::snprintf(method, sizeof method,
                "intercept of a least-squares line through the %s latencies over K/16 = 1, 4, 8, "
                "16: the latency beyond the per-k16 work",
                label);
  emit(figure, a, "cycles", "kinds.wgmma.latency", method);
  std::snprintf(figure, sizeof figure, "wgmma_cycles_per_k16_m64n%d", n);
  std::snprintf(method, sizeof method,
                "slope of the same line; the model's rates.tensor_fma (2048 FMA/clock) gives %d",
                64 * n * 16 / 2048);
  emit(figure, b, "cycles", "", method);
}

int main() {
  long long *d_issue, *d_latency;
  float* sink;
  CHECK_CUDA(cudaMalloc(&d_issue, kSamples * 8));
  CHECK_CUDA(cudaMalloc(&d_latency, kSamples * 8));
  CHECK_CUDA(cudaMalloc(&sink, 128 * 4));
  const int steps[4] = {1, 4, 8, 16};
  Sample n128[4] = {run<128, 16>(d_issue, d_latency, sink), run<128, 64>(d_issue, d_latency, sink),
                    run<128, 128>(d_issue, d_latency, sink),
                    run<128, 256>(d_issue, d_latency, sink)};
  Sample n256[4] = {run<256, 16>(d_issue, d_latency, sink), run<256, 64>(d_issue, d_latency, sink),
                    run<256, 128>(d_issue, d_latency, sink),
                    run<256, 256>(d_issue, d_latency, sink)};
  fit(128, "m64n128k16", steps, n128);
  fit(256, "m64n256k16", steps, n256);
  emit("wgmma_issue_cycles_m64n256k64", n256[1].issue, "cycles", "kinds.wgmma.issue_cycles",
       "clock64 from before wgmma.fence to after commit_group of 4 x m64n256k16 (the GEMM's "
       "k-tile of 64); median of 200");
  emit("wgmma_issue_cycles_m64n128k128", n128[2].issue, "cycles", "kinds.wgmma.issue_cycles",
       "as above for 8 x m64n128k16 (Q K^T at head dim 128); median of 200");
  return 0;
}
