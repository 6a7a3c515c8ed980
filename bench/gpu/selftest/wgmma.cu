// Self-test: WGMMA m64nNk16 (f16 in, f32 accumulate) through grove_sm90.cuh against a CPU product,
// in the operand forms the CUDA back end emits: A from shared memory (K-major) or from registers
// (the accumulator-shaped fragment), B K-major (kernel IR trans_b, K^T in attention) or N-major
// (plain B[K, N], LBO = the panel stride), with descriptors advanced along K, and with the first
// k-step overwriting a garbage accumulator (scale-d = 0: a folded zero fill); in the 128-byte
// swizzle (64-column panels) and the 64- and 32-byte ones (BK = 32 or 16). Inputs are small
// integers, so every product is exact and the check is equality.
#include "common.cuh"

static const char* kTestName = "wgmma";

template <int N> struct Mma;
#define GROVE_SELFTEST_MMA(n)                                                                      \
  template <> struct Mma<n> {                                                                      \
    template <int TB, int SD> static __device__ void ss(float* d, grove::u64 a, grove::u64 b) {    \
      grove::wgmma_m64n##n##k16_f16_ss<0, TB, SD>(d, a, b);                                        \
    }                                                                                              \
    template <int TB, int SD>                                                                      \
    static __device__ void rs(float* d, const grove::u32* a, grove::u64 b) {                       \
      grove::wgmma_m64n##n##k16_f16_rs<TB, SD>(d, a, b);                                           \
    }                                                                                              \
  };
GROVE_SELFTEST_MMA(64)
GROVE_SELFTEST_MMA(128)
GROVE_SELFTEST_MMA(256)

// D[64, N] = A[64, K] · B[K, N]; A and B row-major f16 in global memory, in shared memory swizzled
// over W bytes. ZeroInit: the accumulator starts as garbage and the first k-step overwrites it
// (scale-d = 0), as the printer does where it folds a zero fill into a wgmma.
template <int W, int N, int K, bool BKMajor, bool ARegs, bool ZeroInit>
__global__ void __launch_bounds__(128)
    mma_kernel(const grove::u16* A, const grove::u16* B, float* D) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* sA = grove::align_1024(raw);
  unsigned char* sB = sA + 64 * K * 2;
  const int tid = threadIdx.x;
  for (int i = tid; i < 64 * K; i += 128) {
    int r = i / K, c = i % K;
    *reinterpret_cast<grove::u16*>(sA + grove::sw_offset<W>(r, 2 * c, 64)) = A[i];
  }
  for (int i = tid; i < K * N; i += 128) {
    int k = i / N, n = i % N;
    unsigned off = BKMajor ? grove::sw_offset<W>(n, 2 * k, N) : grove::sw_offset<W>(k, 2 * n, K);
    *reinterpret_cast<grove::u16*>(sB + off) = B[i];
  }
  grove::fence_proxy_async(); // generic-proxy smem writes -> the tensor cores' reads
  __syncthreads();

  const int frag_row = 16 * (tid / 32) + (tid % 32) / 4, frag_col = 2 * (tid % 4);
  float acc[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) acc[i] = ZeroInit ? 1.0e30f : 0.0f;
  grove::u32 a[K / 16][4];
  if (ARegs) {
    auto pair = [&](int r, int c) {
      return grove::pack_f16x2(grove::f16_to_f32(A[r * K + c]),
                               grove::f16_to_f32(A[r * K + c + 1]));
    };
#pragma unroll
    for (int ks = 0; ks < K / 16; ++ks) {
      int c = 16 * ks + frag_col;
      a[ks][0] = pair(frag_row, c);
      a[ks][1] = pair(frag_row + 8, c);
      a[ks][2] = pair(frag_row, c + 8);
      a[ks][3] = pair(frag_row + 8, c + 8);
    }
  }
  const grove::u32 a_tile = grove::smem_u32(sA), b_tile = grove::smem_u32(sB);
  grove::wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < K / 16; ++ks) {
    grove::u64 db =
        BKMajor ? grove::wgmma_desc<W>(b_tile + grove::sw_start<W>(0, 32 * ks, N), 16, 8 * W)
                : grove::wgmma_desc<W>(b_tile + grove::sw_start<W>(16 * ks, 0, K), K * W, 8 * W);
    if (ARegs) {
      if (ZeroInit && ks == 0)
        Mma<N>::template rs<BKMajor ? 0 : 1, 0>(acc, a[ks], db);
      else
        Mma<N>::template rs<BKMajor ? 0 : 1, 1>(acc, a[ks], db);
    } else {
      grove::u64 da = grove::wgmma_desc<W>(a_tile + grove::sw_start<W>(0, 32 * ks, 64), 16, 8 * W);
      if (ZeroInit && ks == 0)
        Mma<N>::template ss<BKMajor ? 0 : 1, 0>(acc, da, db);
      else
        Mma<N>::template ss<BKMajor ? 0 : 1, 1>(acc, da, db);
    }
  }
  grove::wgmma_commit();
  grove::wgmma_wait<0>();
  store_accumulator<N>(acc, D);
}

template <int N, int K, bool BKMajor, bool ARegs, bool ZeroInit = false, int W = 128>
int run(const char* label, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-3, 3);
  std::vector<grove::u16> A(64 * K), B(K * N);
  std::vector<float> a(64 * K), b(K * N);
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = host_f32_to_f16(a[i] = static_cast<float>(dist(rng)));
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = host_f32_to_f16(b[i] = static_cast<float>(dist(rng)));
  const int smem = (64 * K + K * N) * 2 + 1024;
  std::vector<float> D =
      run_mma_kernel(kTestName, mma_kernel<W, N, K, BKMajor, ARegs, ZeroInit>, A, B, N, smem);
  return count_wrong(label, D, N, [&](int m, int n) {
    float want = 0;
    for (int k = 0; k < K; ++k) want += a[m * K + k] * b[k * N + n];
    return want;
  });
}

int main() {
  std::mt19937 rng(20260101);
  int bad = 0;
  bad += run<64, 16, true, false>("m64n64k16, A smem, B K-major", rng);
  bad += run<64, 16, false, false>("m64n64k16, A smem, B N-major", rng);
  bad += run<64, 16, false, true>("m64n64k16, A regs, B N-major", rng);
  bad += run<64, 16, true, true>("m64n64k16, A regs, B K-major", rng);
  bad += run<256, 64, false, false>("m64n256k16 x4 (gemm), B N-major, 4 panels", rng);
  bad += run<128, 128, true, false>("m64n128k16 x8 (Q K^T, d128), B K-major", rng);
  bad += run<64, 128, false, true>("m64n64k16 x8 (P V), A regs, B N-major", rng);
  bad += run<128, 128, true, false, true>("m64n128k16 x8 (Q K^T), scale-d 0 first", rng);
  bad += run<64, 16, false, true, true>("m64n64k16, A regs, scale-d 0", rng);
  // Narrower swizzles: 64 bytes (BK = 32 f16: 32-column panels) and 32 bytes (BK = 16).
  bad += run<256, 32, false, false, false, 64>("m64n256k16 x2 (gemm BK 32), 64B, B N-major", rng);
  bad += run<128, 64, true, false, false, 64>("m64n128k16 x4, 64B, B K-major, 2 panels", rng);
  bad += run<64, 32, false, true, false, 64>("m64n64k16 x2, 64B, A regs, B N-major", rng);
  bad += run<64, 16, true, false, false, 32>("m64n64k16, 32B, B K-major", rng);
  bad += run<64, 32, false, false, true, 32>("m64n64k16 x2, 32B, B N-major, scale-d 0", rng);
  std::printf("SELFTEST %s %s %d wrong elements\n", kTestName, bad ? "FAIL" : "PASS", bad);
  return bad ? 1 : 0;
}
