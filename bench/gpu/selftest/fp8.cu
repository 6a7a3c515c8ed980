// Self-test: the e4m3 wrappers of grove_sm90.cuh. (1) e4m3_to_f32 on every code and f32_to_e4m3
// on rounding ties, subnormals and saturation, against the format's definition (decoded from the
// fields; encoded by searching for the nearest code, ties to the even one, saturating at 448:
// what the CPU's round_to(e4m3) computes, found another way); (2) WGMMA m64nNk32 on e4m3
// operands as the CUDA back end emits it for examples/gemm_fp8.grove: A [64, K] and B stored
// [N, K], both K-major in 128-byte swizzled rows of 128 elements, descriptors advanced 32 bytes
// per k-step, the first k-step overwriting a garbage accumulator in one run (scale-d = 0).
// Operands are small integers, so every product and sum is exact and the check is equality.
#include <cmath>

#include "common.cuh"

static const char* kTestName = "fp8";

// OCP e4m3: sign, 4 exponent bits (bias 7), 3 mantissa bits; 0x7f and 0xff are NaN.
float host_e4m3_decode(int b) {
  const int e = (b >> 3) & 15, m = b & 7;
  float v = e == 15 && m == 7 ? NAN
            : e == 0          ? std::ldexp(float(m), -9)
                              : std::ldexp(8.0f + m, e - 10);
  return b & 0x80 ? -v : v;
}
unsigned char host_e4m3_encode(float f) {
  if (std::isnan(f)) return 0x7f;
  const float a = std::fabs(f);
  int best = 0;
  for (int b = 1; b < 0x7f; ++b) {
    const float d = std::fabs(host_e4m3_decode(b) - a), db = std::fabs(host_e4m3_decode(best) - a);
    if (d < db || (d == db && b % 2 == 0)) best = b;
  }
  return static_cast<unsigned char>(best | (std::signbit(f) ? 0x80 : 0));
}

__global__ void decode_kernel(float* out) {
  out[threadIdx.x] = grove::e4m3_to_f32(static_cast<unsigned char>(threadIdx.x));
}

__global__ void encode_kernel(const float* in, unsigned char* out, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = grove::f32_to_e4m3(in[i]);
}

int conversions() {
  int bad = 0;
  float* dF;
  unsigned char* dB;
  CHECK_CUDA(cudaMalloc(&dF, 256 * 4));
  CHECK_CUDA(cudaMalloc(&dB, 256));
  decode_kernel<<<1, 256>>>(dF);
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<float> got(256);
  CHECK_CUDA(cudaMemcpy(got.data(), dF, 256 * 4, cudaMemcpyDeviceToHost));
  for (int b = 0; b < 256; ++b) {
    float want = host_e4m3_decode(b);
    bool same = std::isnan(want) ? std::isnan(got[b]) : got[b] == want;
    if (!same && bad++ < 5) std::printf("  e4m3_to_f32(0x%02x) = %g, want %g\n", b, got[b], want);
  }
  // Every value, the midpoints between neighbours (ties to even) and just beside them, past the
  // largest (saturation), infinities.
  std::vector<float> in;
  for (int b = 0; b < 0x7e; ++b) {
    float lo = host_e4m3_decode(b);
    float hi = host_e4m3_decode(b + 1), mid = (lo + hi) / 2;
    for (float v : {lo, mid, std::nextafter(mid, lo), std::nextafter(mid, hi)})
      in.insert(in.end(), {v, -v});
  }
  for (float v : {448.0f, 460.0f, 1e6f, INFINITY}) in.insert(in.end(), {v, -v});
  const int n = static_cast<int>(in.size());
  float* dIn;
  unsigned char* dOut;
  CHECK_CUDA(cudaMalloc(&dIn, n * 4));
  CHECK_CUDA(cudaMalloc(&dOut, n));
  CHECK_CUDA(cudaMemcpy(dIn, in.data(), n * 4, cudaMemcpyHostToDevice));
  encode_kernel<<<1, 256>>>(dIn, dOut, n);
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<unsigned char> out(n);
  CHECK_CUDA(cudaMemcpy(out.data(), dOut, n, cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) {
    unsigned char want = host_e4m3_encode(in[i]);
    if (out[i] != want && bad++ < 10)
      std::printf("  f32_to_e4m3(%.9g) = 0x%02x, want 0x%02x\n", in[i], out[i], want);
  }
  std::printf("  %-44s %s\n", "e4m3 <-> f32 conversions", bad ? "FAIL" : "ok");
  CHECK_CUDA(cudaFree(dF));
  CHECK_CUDA(cudaFree(dB));
  CHECK_CUDA(cudaFree(dIn));
  CHECK_CUDA(cudaFree(dOut));
  return bad;
}

template <int N> struct Mma;
#define GROVE_SELFTEST_MMA(n)                                                                      \
  template <> struct Mma<n> {                                                                      \
    template <int SD> static __device__ void ss(float* d, grove::u64 a, grove::u64 b) {            \
      grove::wgmma_m64n##n##k32_e4m3_ss<0, 0, SD>(d, a, b);                                        \
    }                                                                                              \
  };
GROVE_SELFTEST_MMA(64)
GROVE_SELFTEST_MMA(256)

// D[64, N] = A[64, K] · B[N, K]^T; A and B row-major e4m3 bytes in global memory, K = 128.
template <int N, int K, bool ZeroInit>
__global__ void __launch_bounds__(128)
    mma_kernel(const unsigned char* A, const unsigned char* B, float* D) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* sA = grove::align_1024(raw);
  unsigned char* sB = sA + 64 * K;
  const int tid = threadIdx.x;
  for (int i = tid; i < 64 * K; i += 128) sA[grove::sw128_offset(i / K, i % K, 64)] = A[i];
  for (int i = tid; i < N * K; i += 128) sB[grove::sw128_offset(i / K, i % K, N)] = B[i];
  grove::fence_proxy_async(); // generic-proxy smem writes -> the tensor cores' reads
  __syncthreads();

  float acc[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) acc[i] = ZeroInit ? 1.0e30f : 0.0f;
  const grove::u32 a_tile = grove::smem_u32(sA), b_tile = grove::smem_u32(sB);
  grove::wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < K / 32; ++ks) {
    grove::u64 da = grove::wgmma_desc_sw128(a_tile + grove::sw128_start(0, 32 * ks, 64), 16, 1024);
    grove::u64 db = grove::wgmma_desc_sw128(b_tile + grove::sw128_start(0, 32 * ks, N), 16, 1024);
    if (ZeroInit && ks == 0)
      Mma<N>::template ss<0>(acc, da, db);
    else
      Mma<N>::template ss<1>(acc, da, db);
  }
  grove::wgmma_commit();
  grove::wgmma_wait<0>();
  store_accumulator<N>(acc, D);
}

template <int N, bool ZeroInit = false> int run(const char* label, std::mt19937& rng) {
  constexpr int K = 128;
  std::uniform_int_distribution<int> dist(-3, 3);
  std::vector<unsigned char> A(64 * K), B(N * K);
  std::vector<float> a(A.size()), b(B.size());
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = host_e4m3_encode(a[i] = static_cast<float>(dist(rng)));
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = host_e4m3_encode(b[i] = static_cast<float>(dist(rng)));
  const int smem = 64 * K + N * K + 1024;
  std::vector<float> D = run_mma_kernel(kTestName, mma_kernel<N, K, ZeroInit>, A, B, N, smem);
  return count_wrong(label, D, N, [&](int m, int n) {
    float want = 0;
    for (int k = 0; k < K; ++k) want += a[m * K + k] * b[n * K + k];
    return want;
  });
}

int main() {
  std::mt19937 rng(20261130);
  int bad = conversions();
  bad += run<64>("m64n64k32 e4m3 x4, A and B K-major", rng);
  bad += run<256>("m64n256k32 e4m3 x4 (gemm_fp8)", rng);
  bad += run<256, true>("m64n256k32 e4m3 x4, scale-d 0 first", rng);
  std::printf("SELFTEST %s %s %d wrong elements\n", kTestName, bad ? "FAIL" : "PASS", bad);
  return bad ? 1 : 0;
}
