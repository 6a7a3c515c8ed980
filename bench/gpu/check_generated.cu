// End-to-end check of kernels the CUDA back end printed from the kernel IR fixtures (built by
// bench/gpu/prepare.sh together with one generated .cu): fresh random inputs, poisoned outputs, a
// float64 CPU reference, ||out - ref|| / ||ref|| against the f16 tolerance; with --bench, the
// GEMM is also timed against cuBLAS in the same run (median of CUDA-event timings).
//
//   -DCHECK_GEMM:      extern "C" gemm_fixture_launch(C, A, B, M, N, K, stream)
//   -DCHECK_ATTENTION: extern "C" attention_step_fixture_launch(O, Q, K, V, BH, S, scale, stream)
//                      (-DHEAD_DIM=64 or 128)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <cuda_runtime.h>
#ifdef CHECK_GEMM
#include <cublas_v2.h>
#endif

#include "selftest/common.cuh"

static const char* kTestName = "generated";

#ifdef CHECK_GEMM
extern "C" cudaError_t gemm_fixture_launch(void* C, const void* A, const void* B, int M, int N,
                                           int K, cudaStream_t stream);
#endif
#ifdef CHECK_ATTENTION
extern "C" cudaError_t attention_step_fixture_launch(void* O, const void* Q, const void* K,
                                                     const void* V, int BH, int S, float sm_scale,
                                                     cudaStream_t stream);
#endif

namespace {

unsigned short to_f16(float f) {
  // Round to nearest even through the hardware-independent route: float -> f16 bits.
  unsigned int x;
  std::memcpy(&x, &f, 4);
  unsigned int sign = (x >> 16) & 0x8000u;
  float a = std::fabs(f);
  if (a < 6.1035156e-05f) { // subnormal f16
    int m = static_cast<int>(std::nearbyint(a / 5.9604645e-08f));
    return static_cast<unsigned short>(sign | static_cast<unsigned>(m));
  }
  int e;
  float fr = std::frexp(a, &e);                           // a = fr * 2^e, fr in [0.5, 1)
  int m = static_cast<int>(std::nearbyint(fr * 2048.0f)); // 11 significant bits
  if (m == 2048) {
    m = 1024;
    ++e;
  }
  int exp = e - 1 + 15;
  if (exp >= 31) return static_cast<unsigned short>(sign | 0x7c00u);
  return static_cast<unsigned short>(sign | (static_cast<unsigned>(exp) << 10) |
                                     (static_cast<unsigned>(m) & 0x3ffu));
}

std::vector<unsigned short> random_f16(size_t n, std::mt19937& rng, std::vector<double>& value) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<unsigned short> out(n);
  value.resize(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = to_f16(dist(rng));
    value[i] = host_f16_to_f32(out[i]);
  }
  return out;
}

template <class T> T* upload(const std::vector<T>& v) {
  T* d = nullptr;
  CHECK_CUDA(cudaMalloc(&d, v.size() * sizeof(T)));
  CHECK_CUDA(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

double rel_error(const std::vector<unsigned short>& out, const std::vector<double>& ref,
                 size_t* nonfinite) {
  double num = 0, den = 0;
  *nonfinite = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double o = host_f16_to_f32(out[i]);
    if (!std::isfinite(o) || (out[i] & 0x7c00u) == 0x7c00u) ++*nonfinite;
    num += (o - ref[i]) * (o - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

} // namespace

#ifdef CHECK_GEMM
int check_gemm(int M, int N, int K, std::mt19937& rng) {
  std::vector<double> a, b;
  auto A = random_f16(size_t(M) * K, rng, a), B = random_f16(size_t(K) * N, rng, b);
  std::vector<double> ref(size_t(M) * N, 0.0);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) {
      double x = a[size_t(m) * K + k];
      for (int n = 0; n < N; ++n) ref[size_t(m) * N + n] += x * b[size_t(k) * N + n];
    }
  auto* dA = upload(A);
  auto* dB = upload(B);
  unsigned short* dC;
  CHECK_CUDA(cudaMalloc(&dC, ref.size() * 2));
  CHECK_CUDA(cudaMemset(dC, 0xff, ref.size() * 2)); // NaN poison: unwritten outputs fail
  CHECK_CUDA(gemm_fixture_launch(dC, dA, dB, M, N, K, nullptr));
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<unsigned short> C(ref.size());
  CHECK_CUDA(cudaMemcpy(C.data(), dC, C.size() * 2, cudaMemcpyDeviceToHost));
  size_t nonfinite = 0;
  double err = rel_error(C, ref, &nonfinite);
  bool ok = err < 2e-3 && nonfinite == 0; // f16 output, fp32 accumulation
  std::printf("CHECK gemm %dx%dx%d rel_error %.3e nonfinite %zu %s\n", M, N, K, err, nonfinite,
              ok ? "PASS" : "FAIL");
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
  return ok ? 0 : 1;
}

// Median time of `fn` over `reps` runs (ms), after warm-up.
template <class F> float median_ms(F fn, int reps = 30) {
  cudaEvent_t t0, t1;
  CHECK_CUDA(cudaEventCreate(&t0));
  CHECK_CUDA(cudaEventCreate(&t1));
  for (int i = 0; i < 5; ++i) fn();
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    CHECK_CUDA(cudaEventRecord(t0));
    fn();
    CHECK_CUDA(cudaEventRecord(t1));
    CHECK_CUDA(cudaEventSynchronize(t1));
    float x;
    CHECK_CUDA(cudaEventElapsedTime(&x, t0, t1));
    ms.push_back(x);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void bench_gemm(int S, std::mt19937& rng) {
  std::vector<double> a, b;
  auto A = random_f16(size_t(S) * S, rng, a), B = random_f16(size_t(S) * S, rng, b);
  auto* dA = upload(A);
  auto* dB = upload(B);
  unsigned short *dC, *dRef;
  CHECK_CUDA(cudaMalloc(&dC, size_t(S) * S * 2));
  CHECK_CUDA(cudaMalloc(&dRef, size_t(S) * S * 2));
  cublasHandle_t h;
  cublasCreate(&h);
  float one = 1, zero = 0;
  // Row-major C = A B is column-major C^T = B^T A^T.
  auto cublas = [&] {
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, S, S, S, &one, dB, CUDA_R_16F, S, dA, CUDA_R_16F, S,
                 &zero, dRef, CUDA_R_16F, S, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  auto grove = [&] { gemm_fixture_launch(dC, dA, dB, S, S, S, nullptr); };
  float t_cublas = median_ms(cublas), t_grove = median_ms(grove);
  CHECK_CUDA(cudaGetLastError());
  // Same function as cuBLAS on this input (both fp32 accumulation).
  std::vector<unsigned short> C(size_t(S) * S), R(size_t(S) * S);
  CHECK_CUDA(cudaMemcpy(C.data(), dC, C.size() * 2, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(R.data(), dRef, R.size() * 2, cudaMemcpyDeviceToHost));
  std::vector<double> ref(R.size());
  for (size_t i = 0; i < R.size(); ++i) ref[i] = host_f16_to_f32(R[i]);
  size_t nonfinite = 0;
  double err = rel_error(C, ref, &nonfinite);
  double flop = 2.0 * S * S * S;
  std::printf("BENCH gemm %d^3 grove %.1f TFLOP/s cublas %.1f TFLOP/s ratio %.3f "
              "(vs cublas rel_error %.1e)\n",
              S, flop / t_grove / 1e9, flop / t_cublas / 1e9, t_cublas / t_grove, err);
  cublasDestroy(h);
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
  cudaFree(dRef);
}
#endif

#ifdef CHECK_ATTENTION
int check_attention(int BH, int S, std::mt19937& rng) {
  const int D = HEAD_DIM;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<double> q, k, v;
  size_t n = size_t(BH) * S * D;
  auto Q = random_f16(n, rng, q), Kt = random_f16(n, rng, k), V = random_f16(n, rng, v);
  std::vector<double> ref(n, 0.0), p(S);
  for (int bh = 0; bh < BH; ++bh)
    for (int i = 0; i < S; ++i) {
      const double* qi = &q[(size_t(bh) * S + i) * D];
      double mx = -1e300;
      for (int j = 0; j < S; ++j) {
        const double* kj = &k[(size_t(bh) * S + j) * D];
        double s = 0;
        for (int d = 0; d < D; ++d) s += qi[d] * kj[d];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      double l = 0;
      for (int j = 0; j < S; ++j) l += (p[j] = std::exp(p[j] - mx));
      double* o = &ref[(size_t(bh) * S + i) * D];
      for (int j = 0; j < S; ++j)
        for (int d = 0; d < D; ++d) o[d] += p[j] / l * v[(size_t(bh) * S + j) * D + d];
    }
  auto* dQ = upload(Q);
  auto* dK = upload(Kt);
  auto* dV = upload(V);
  unsigned short* dO;
  CHECK_CUDA(cudaMalloc(&dO, n * 2));
  CHECK_CUDA(cudaMemset(dO, 0xff, n * 2));
  CHECK_CUDA(attention_step_fixture_launch(dO, dQ, dK, dV, BH, S, scale, nullptr));
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<unsigned short> O(n);
  CHECK_CUDA(cudaMemcpy(O.data(), dO, n * 2, cudaMemcpyDeviceToHost));
  size_t nonfinite = 0;
  double err = rel_error(O, ref, &nonfinite);
  bool ok = err < 1e-2 && nonfinite == 0; // P rounded to f16 before P V
  std::printf("CHECK attention d%d BH=%d S=%d rel_error %.3e nonfinite %zu %s\n", D, BH, S, err,
              nonfinite, ok ? "PASS" : "FAIL");
  cudaFree(dQ);
  cudaFree(dK);
  cudaFree(dV);
  cudaFree(dO);
  return ok ? 0 : 1;
}
#endif

int main(int argc, char** argv) {
  bool bench = argc > 1 && std::string(argv[1]) == "--bench";
  std::mt19937 rng(std::random_device{}());
  int bad = 0;
#ifdef CHECK_GEMM
  const int sizes[][3] = {{256, 256, 64}, {512, 512, 512}, {300, 264, 136}, {1024, 768, 1000}};
  for (const auto& s : sizes) bad += check_gemm(s[0], s[1], s[2], rng);
  if (bench && !bad)
    for (int S : {4096, 8192}) bench_gemm(S, rng);
#endif
#ifdef CHECK_ATTENTION
  for (auto [BH, S] : {std::pair{2, 128}, std::pair{3, 300}, std::pair{2, 1024}})
    bad += check_attention(BH, S, rng);
#endif
  (void)bench;
  return bad ? 1 : 0;
}
