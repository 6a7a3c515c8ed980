// Self-test: the 8-bit wrappers of grove_sm90.cuh. (1) e4m3_to_f32 / e5m2_to_f32 on every code
// and f32_to_e4m3 / f32_to_e5m2 on rounding ties, subnormals and saturation, against the formats'
// definitions (decoded from the fields; encoded by searching for the nearest finite code, ties to
// the even one, saturating at the largest: what the CPU's round_to computes, found another way);
// (2) WGMMA m64nNk32 on 8-bit operands as the CUDA back end emits it for examples/gemm_fp8.grove:
// A [64, K] and B stored [N, K], both K-major in 128-byte swizzled rows of 128 elements,
// descriptors advanced 32 bytes per k-step, the first k-step overwriting a garbage accumulator in
// one run (scale-d = 0), e4m3 and e5m2 mixed; (3) A from registers as FP8 attention's P: the
// accumulator-layout values turned into m64nNk32's A registers by fp8_afrag (quad shuffles), the
// _rs wrappers. Operands are small integers, so every product and sum is exact and the check is
// equality.
#include <cmath>

#include "common.cuh"

static const char* kTestName = "fp8";

// OCP FP8: sign, E exponent bits, M mantissa bits. e4m3 (bias 7): 0x7f/0xff are NaN, no
// infinities. e5m2 (bias 15): exponent all ones is infinity (mantissa 0) or NaN.
struct Format {
  const char* name;
  int mant, bias, finite_codes; // codes 0 .. finite_codes - 1 are the finite non-negative values
};
constexpr Format kE4m3{"e4m3", 3, 7, 0x7f}, kE5m2{"e5m2", 2, 15, 0x7c};

float host_decode(int b, const Format& f) {
  const int e = (b & 0x7f) >> f.mant, m = b & ((1 << f.mant) - 1);
  float v = (b & 0x7f) >= f.finite_codes ? ((b & 0x7f) == 0x7c && f.mant == 2 ? INFINITY : NAN)
            : e == 0                     ? std::ldexp(float(m), 1 - f.bias - f.mant)
                     : std::ldexp(float((1 << f.mant) + m), e - f.bias - f.mant);
  return b & 0x80 ? -v : v;
}
unsigned char host_encode(float x, const Format& f) {
  if (std::isnan(x)) return 0x7f;
  const float a = std::fmin(std::fabs(x), host_decode(f.finite_codes - 1, f)); // saturate
  int best = 0;
  for (int b = 1; b < f.finite_codes; ++b) {
    const float d = std::fabs(host_decode(b, f) - a), db = std::fabs(host_decode(best, f) - a);
    if (d < db || (d == db && b % 2 == 0)) best = b;
  }
  return static_cast<unsigned char>(best | (std::signbit(x) ? 0x80 : 0));
}

template <bool E5m2> __global__ void decode_kernel(float* out) {
  const auto b = static_cast<unsigned char>(threadIdx.x);
  out[threadIdx.x] = E5m2 ? grove::e5m2_to_f32(b) : grove::e4m3_to_f32(b);
}

template <bool E5m2> __global__ void encode_kernel(const float* in, unsigned char* out, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    out[i] = E5m2 ? grove::f32_to_e5m2(in[i]) : grove::f32_to_e4m3(in[i]);
}

template <bool E5m2> int conversions() {
  const Format& f = E5m2 ? kE5m2 : kE4m3;
  int bad = 0;
  float* dF;
  CHECK_CUDA(cudaMalloc(&dF, 256 * 4));
  decode_kernel<E5m2><<<1, 256>>>(dF);
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<float> got(256);
  CHECK_CUDA(cudaMemcpy(got.data(), dF, 256 * 4, cudaMemcpyDeviceToHost));
  for (int b = 0; b < 256; ++b) {
    float want = host_decode(b, f);
    bool same = std::isnan(want) ? std::isnan(got[b]) : got[b] == want;
    if (!same && bad++ < 5)
      std::printf("  %s_to_f32(0x%02x) = %g, want %g\n", f.name, b, got[b], want);
  }
  // Every value, the midpoints between neighbours (ties to even) and just beside them, past the
  // largest (saturation), infinities.
  std::vector<float> in;
  for (int b = 0; b + 1 < f.finite_codes; ++b) {
    float lo = host_decode(b, f);
    float hi = host_decode(b + 1, f), mid = (lo + hi) / 2;
    for (float v : {lo, mid, std::nextafter(mid, lo), std::nextafter(mid, hi)})
      in.insert(in.end(), {v, -v});
  }
  const float largest = host_decode(f.finite_codes - 1, f);
  for (float v : {largest, largest * 1.05f, 1e9f, INFINITY}) in.insert(in.end(), {v, -v});
  const int n = static_cast<int>(in.size());
  float* dIn;
  unsigned char* dOut;
  CHECK_CUDA(cudaMalloc(&dIn, n * 4));
  CHECK_CUDA(cudaMalloc(&dOut, n));
  CHECK_CUDA(cudaMemcpy(dIn, in.data(), n * 4, cudaMemcpyHostToDevice));
  encode_kernel<E5m2><<<1, 256>>>(dIn, dOut, n);
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<unsigned char> out(n);
  CHECK_CUDA(cudaMemcpy(out.data(), dOut, n, cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) {
    unsigned char want = host_encode(in[i], f);
    if (out[i] != want && bad++ < 10)
      std::printf("  f32_to_%s(%.9g) = 0x%02x, want 0x%02x\n", f.name, in[i], out[i], want);
  }
  std::printf("  %s %-39s %s\n", f.name, "<-> f32 conversions", bad ? "FAIL" : "ok");
  CHECK_CUDA(cudaFree(dF));
  CHECK_CUDA(cudaFree(dIn));
  CHECK_CUDA(cudaFree(dOut));
  return bad;
}

// The wrapper for N columns (64: e4m3 only; 256) and the operand types (AE5, BE5: e5m2, else
// e4m3); with RegA, A from the registers `ar` (N 64: e4m3 or e5m2 A, e4m3 B).
template <int N, bool AE5, bool BE5, int SD, bool RegA>
__device__ void mma(float* d, grove::u64 a, grove::u64 b, const grove::u32* ar) {
  static_assert(N == 256 || (N == 64 && !BE5));
  if constexpr (RegA) {
    static_assert(N == 64 && !BE5);
    if constexpr (AE5)
      grove::wgmma_m64n64k32_e5m2_e4m3_rs<0, SD>(d, ar, b);
    else
      grove::wgmma_m64n64k32_e4m3_e4m3_rs<0, SD>(d, ar, b);
  } else if constexpr (N == 64 && AE5)
    grove::wgmma_m64n64k32_e5m2_e4m3_ss<0, 0, SD>(d, a, b);
  else if constexpr (N == 64)
    grove::wgmma_m64n64k32_e4m3_e4m3_ss<0, 0, SD>(d, a, b);
  else if constexpr (!AE5 && !BE5)
    grove::wgmma_m64n256k32_e4m3_e4m3_ss<0, 0, SD>(d, a, b);
  else if constexpr (AE5 && !BE5)
    grove::wgmma_m64n256k32_e5m2_e4m3_ss<0, 0, SD>(d, a, b);
  else if constexpr (!AE5 && BE5)
    grove::wgmma_m64n256k32_e4m3_e5m2_ss<0, 0, SD>(d, a, b);
  else
    grove::wgmma_m64n256k32_e5m2_e5m2_ss<0, 0, SD>(d, a, b);
}

// D[64, N] = A[64, K] · B[N, K]^T; A and B row-major 8-bit bytes in global memory, K = 128. With
// RegA, A goes from global memory into the accumulator layout (as the softmax leaves P) and
// through fp8_afrag into registers.
template <int N, int K, bool AE5, bool BE5, bool ZeroInit, bool RegA = false>
__global__ void __launch_bounds__(128)
    mma_kernel(const unsigned char* A, const unsigned char* B, float* D) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* sA = grove::align_1024(raw);
  unsigned char* sB = sA + 64 * K;
  const int tid = threadIdx.x;
  for (int i = tid; i < 64 * K; i += 128) sA[grove::sw_offset<128>(i / K, i % K, 64)] = A[i];
  for (int i = tid; i < N * K; i += 128) sB[grove::sw_offset<128>(i / K, i % K, N)] = B[i];
  grove::fence_proxy_async(); // generic-proxy smem writes -> the tensor cores' reads
  __syncthreads();

  float acc[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) acc[i] = ZeroInit ? 1.0e30f : 0.0f;
  const grove::u32 a_tile = grove::smem_u32(sA), b_tile = grove::smem_u32(sB);
  grove::u32 a_regs[K / 8];
  if constexpr (RegA) {
    // Thread (warp w, lane l): rows 16w + l/4 + {0, 8}, columns 8j + 2(l%4) + {0, 1}.
    float v[K / 2];
    const int lane = tid % 32, row = 16 * (tid / 32) + lane / 4;
    for (int j = 0; j < K / 8; ++j)
      for (int rh = 0; rh < 2; ++rh)
        for (int e = 0; e < 2; ++e) {
          const unsigned char b = A[(row + 8 * rh) * K + 8 * j + 2 * (lane % 4) + e];
          v[4 * j + 2 * rh + e] = AE5 ? grove::e5m2_to_f32(b) : grove::e4m3_to_f32(b);
        }
    grove::fp8_afrag<AE5, K>(v, a_regs, lane);
  }
  grove::wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < K / 32; ++ks) {
    grove::u64 da = grove::wgmma_desc<128>(a_tile + grove::sw_start<128>(0, 32 * ks, 64), 16, 1024);
    grove::u64 db = grove::wgmma_desc<128>(b_tile + grove::sw_start<128>(0, 32 * ks, N), 16, 1024);
    if (ZeroInit && ks == 0)
      mma<N, AE5, BE5, 0, RegA>(acc, da, db, a_regs + 4 * ks);
    else
      mma<N, AE5, BE5, 1, RegA>(acc, da, db, a_regs + 4 * ks);
  }
  grove::wgmma_commit();
  grove::wgmma_wait<0>();
  store_accumulator<N>(acc, D);
}

template <int N, bool AE5 = false, bool BE5 = false, bool ZeroInit = false, bool RegA = false>
int run(const char* label, std::mt19937& rng) {
  constexpr int K = 128;
  std::uniform_int_distribution<int> dist(-3, 3);
  std::vector<unsigned char> A(64 * K), B(N * K);
  std::vector<float> a(A.size()), b(B.size());
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = host_encode(a[i] = static_cast<float>(dist(rng)), AE5 ? kE5m2 : kE4m3);
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = host_encode(b[i] = static_cast<float>(dist(rng)), BE5 ? kE5m2 : kE4m3);
  const int smem = 64 * K + N * K + 1024;
  std::vector<float> D =
      run_mma_kernel(kTestName, mma_kernel<N, K, AE5, BE5, ZeroInit, RegA>, A, B, N, smem);
  return count_wrong(label, D, N, [&](int m, int n) {
    float want = 0;
    for (int k = 0; k < K; ++k) want += a[m * K + k] * b[n * K + k];
    return want;
  });
}

int main() {
  std::mt19937 rng(20261130);
  int bad = conversions<false>() + conversions<true>();
  bad += run<64>("m64n64k32 e4m3 x4, A and B K-major", rng);
  bad += run<256>("m64n256k32 e4m3 x4 (gemm_fp8)", rng);
  bad += run<256, false, false, true>("m64n256k32 e4m3 x4, scale-d 0 first", rng);
  bad += run<256, true, false>("m64n256k32 e5m2 x e4m3 x4", rng);
  bad += run<256, false, true>("m64n256k32 e4m3 x e5m2 x4", rng);
  bad += run<256, true, true>("m64n256k32 e5m2 x e5m2 x4", rng);
  bad += run<64, false, false, false, true>("m64n64k32 e4m3 x4, A from registers", rng);
  bad += run<64, true, false, true, true>("m64n64k32 e5m2 x e4m3 x4, A from registers", rng);
  std::printf("SELFTEST %s %s %d wrong elements\n", kTestName, bad ? "FAIL" : "PASS", bad);
  return bad ? 1 : 0;
}
