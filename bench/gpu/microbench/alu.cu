// CUDA-core rates of the machine model: rates.sfu_ops (MUFU exponentials per clock per SM),
// rates.fp32_ops (FP32 FMAs per clock per SM) and clock_ghz (the SM clock under this load).
//
// One block per SM (dynamic shared memory keeps a second one off), every SM busy. Each thread runs
// 8 independent register chains (enough to cover the pipe latency) through a fully unrolled body:
//   ex2: x = ex2.approx.ftz.f32(-x), grove::exp2_approx, the instruction softmax uses (one
//   MUFU.EX2;
//        the negation is an operand modifier; x stays in (0, 1), never a subnormal or inf);
//   fma: x = fma(x, a, b) with a, b kernel arguments (not folded).
// Rate = results of the block / clock64 cycles between two __syncthreads around the loop, median
// over SMs. Each op runs with 1024 threads (32 warps: all warps of the SM) and with 128 threads
// (one warpgroup, as one softmax warpgroup runs while another holds the tensor core): the model
// gives a warpgroup the whole SM's sfu and fma units, so the two should agree.
// The clock is clock64 cycles of the all-warps FMA run / its cudaEvent time.
#include "common.cuh"

constexpr int kChains = 8, kUnroll = 32;

template <bool Ex2>
__global__ void __launch_bounds__(1024, 1)
    alu(int iters, float a, float b, long long* cycles, float* sink) {
  float x[kChains];
#pragma unroll
  for (int j = 0; j < kChains; ++j) x[j] = 0.5f + 0.01f * ((threadIdx.x + j) & 15);
  __syncthreads();
  long long t0 = clock64();
  for (int it = 0; it < iters; ++it) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int j = 0; j < kChains; ++j) {
        if constexpr (Ex2)
          x[j] = grove::exp2_approx(-x[j]);
        else
          x[j] = fmaf(x[j], a, b);
      }
  }
  __syncthreads();
  if (threadIdx.x == 0) cycles[blockIdx.x] = clock64() - t0;
  float s = 0;
#pragma unroll
  for (int j = 0; j < kChains; ++j) s += x[j];
  if (s == 12345.0f) sink[0] = s; // practically never stored, but the chains stay live
}

struct Rate {
  double per_clock, ghz; // median results per clock per SM; clock64 cycles / event time
};

template <bool Ex2> Rate rate(int sms, int threads, int iters, long long* d_cycles, float* sink) {
  auto kernel = alu<Ex2>;
  CHECK_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  kOneBlockPerSmSmem));
  cudaEvent_t e0, e1;
  CHECK_CUDA(cudaEventCreate(&e0));
  CHECK_CUDA(cudaEventCreate(&e1));
  Rate best{0, 0};
  for (int rep = 0; rep < 3; ++rep) { // the first launch warms up (clocks, instruction cache)
    CHECK_CUDA(cudaEventRecord(e0));
    kernel<<<sms, threads, kOneBlockPerSmSmem>>>(iters, 0.999f, 0.001f, d_cycles, sink);
    CHECK_CUDA(cudaEventRecord(e1));
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaEventSynchronize(e1));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, e0, e1));
    std::vector<long long> cyc(sms);
    CHECK_CUDA(cudaMemcpy(cyc.data(), d_cycles, sms * 8, cudaMemcpyDeviceToHost));
    const double ops = double(threads) * iters * kUnroll * kChains, c = median(cyc);
    if (rep > 0 && ops / c > best.per_clock) best = {ops / c, c / (ms * 1e6)};
  }
  CHECK_CUDA(cudaEventDestroy(e0));
  CHECK_CUDA(cudaEventDestroy(e1));
  return best;
}

int main() {
  const int sms = sm_count();
  long long* d_cycles;
  float* sink;
  CHECK_CUDA(cudaMalloc(&d_cycles, sms * 8));
  CHECK_CUDA(cudaMalloc(&sink, 4));
  // Iterations: tens of milliseconds per launch at the documented rates.
  Rate ex2_all = rate<true>(sms, 1024, 4000, d_cycles, sink);
  emit("sfu_ops_per_clock_per_sm", ex2_all.per_clock, "ops_per_clock", "rates.sfu_ops.per_clock",
       "ex2.approx.ftz.f32 over registers, 8 independent chains per thread, 1024 threads (all 32 "
       "warps) on every SM; results / clock64 cycles, median over SMs, best of 2");
  Rate ex2_wg = rate<true>(sms, 128, 4000, d_cycles, sink);
  emit("sfu_ops_per_clock_one_warpgroup", ex2_wg.per_clock, "ops_per_clock",
       "rates.sfu_ops.per_clock",
       "as sfu_ops_per_clock_per_sm with 128 threads (one warpgroup) per SM");
  Rate fma_wg = rate<false>(sms, 128, 40000, d_cycles, sink);
  emit("fp32_fma_per_clock_one_warpgroup", fma_wg.per_clock, "ops_per_clock",
       "rates.fp32_ops.per_clock",
       "as fp32_fma_per_clock_per_sm with 128 threads (one warpgroup) per SM");
  Rate fma_all = rate<false>(sms, 1024, 40000, d_cycles, sink);
  emit("fp32_fma_per_clock_per_sm", fma_all.per_clock, "ops_per_clock", "rates.fp32_ops.per_clock",
       "fma.rn.f32 over registers (one FFMA, counted as one op), 8 independent chains per "
       "thread, 1024 threads on every SM; results / clock64 cycles, median over SMs, best of 2");
  emit("sm_clock_ghz", fma_all.ghz, "GHz", "clock_ghz.value",
       "median clock64 cycles of the all-warps FMA run / its cudaEvent time (includes launch, "
       "so slightly low); the clock under a sustained FP32 load");
  return 0;
}
