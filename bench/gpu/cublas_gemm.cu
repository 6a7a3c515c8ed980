// The cuBLAS side of the GEMM comparison in bench/gpu/run.sh: times C = A·B (row-major, f16 or
// bf16 in and out, fp32 accumulation, as examples/gemm*.grove compute it) the way `grove bench`
// times Grove's kernels, so the two lines compare: random inputs, copies of every operand cycled
// through until they hold twice the L2 (so operands come from memory, not a warm cache), a
// warm-up, then the median of cudaEvent-timed runs.
//
//   cublas_gemm f16|bf16|e4m3 M N K [iters] [batch L | dual | bias_gelu | linear | residual |
//               rowwise | blockwise]
//   -> BENCH cublas f16 L=1 M=4096 N=4096 K=4096 median_ms 0.1850 TFLOP/s 742.9 copies 2
//
// `batch L`: C[l] = A[l]·B[l] for l < L (examples/batched_gemm.grove), one strided-batched call.
// `dual`: C = A·B1 + A·B2 (examples/dual_gemm.grove) as cuBLAS does it, two calls, the second
// accumulating into C (beta = 1). `bias_gelu`: C = gelu(A·B + bias[N]) (examples/gemm_bias_gelu
// .grove) with cuBLASLt's fused GELU_BIAS epilogue and the algorithm its heuristic ranks first.
// `linear`: C = A·W^T with W stored [N, K] (examples/linear.grove), cuBLAS's "TN" GEMM.
// `residual`: C = A·B + C (beta = 1, in place: the same reads and writes as examples/gemm_residual
// .grove's D = A·B + C).
// e4m3: C (bf16) = A·W^T with A and W e4m3 and W stored [N, K] (examples/gemm_fp8.grove; FP8
// GEMMs are "TN" only), through cuBLASLt (fast accumulation) and the algorithm its heuristic ranks
// first. `e4m3 ... rowwise`: the same with a scale per row of A and of W (cuBLASLt's OUTER_VEC_32F
// mode, CUDA 12.9 and later; examples/gemm_fp8_rowwise.grove). `e4m3 ... blockwise`: the same
// with DeepSeek-V3's block scales
// (examples/gemm_fp8_blockwise.grove: f32 scales per 128x128 block of W and per 1x128 of A,
// cuBLASLt's BLK128x128_32F and VEC128_32F modes, CUDA 12.9 and later), which cuBLASLt runs
// without fast accumulation (partial sums promoted into fp32, as Grove's kernel does).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x)) {                                                                                    \
      std::printf("BENCH cublas FAIL %s:%d %s\n", __FILE__, __LINE__, #x);                         \
      std::exit(1);                                                                                \
    }                                                                                              \
  } while (0)

// Uniform values in [-1, 1) from a hash of the index: no host round trip for 16384^2 operands.
template <typename T> __global__ void fill_random(T* p, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    unsigned x = static_cast<unsigned>(i) * 2654435761u ^ seed * 40503u;
    x ^= x >> 16, x *= 0x7feb352du, x ^= x >> 15, x *= 0x846ca68bu, x ^= x >> 16;
    p[i] = T(static_cast<float>(x >> 8) / 8388608.0f - 1.0f);
  }
}

__global__ void fill_ones(float* p, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    p[i] = 1.0f;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(
        stderr,
        "usage: cublas_gemm f16|bf16|e4m3 M N K [iters] [batch L | dual | bias_gelu | linear | "
        "residual | rowwise | blockwise]\n");
    return 2;
  }
  const std::string type = argv[1];
  const bool fp8 = type == "e4m3", bf16 = type == "bf16" || fp8; // e4m3 in, bf16 out
  CHECK(bf16 || type == "f16");
  const long long M = std::atoll(argv[2]), N = std::atoll(argv[3]), K = std::atoll(argv[4]);
  const int iters = argc > 5 ? std::atoi(argv[5]) : 50, warmup = 10;
  const std::string mode = argc > 6 ? argv[6] : "";
  const bool dual = mode == "dual", bias_gelu = mode == "bias_gelu", linear = mode == "linear",
             residual = mode == "residual", rowwise = mode == "rowwise",
             blockwise = mode == "blockwise";
  const long long L = mode == "batch" && argc > 7 ? std::atoll(argv[7]) : 1;
  CHECK(M > 0 && N > 0 && K > 0 && iters > 0 && L > 0 &&
        (mode.empty() || dual || bias_gelu || linear || residual || rowwise || blockwise ||
         argc > 7) &&
        (fp8 ? mode.empty() || rowwise || blockwise : !rowwise && !blockwise));
  const cudaDataType dt = bf16 ? CUDA_R_16BF : CUDA_R_16F;

  int dev = 0, l2 = 0;
  CHECK(cudaGetDevice(&dev) == cudaSuccess);
  CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev) == cudaSuccess);
  // A, B (B1; W for `linear`), C, and B2 for `dual` or the bias for `bias_gelu`.
  const int T = dual || bias_gelu ? 4 : 3;
  const size_t elems[4] = {size_t(L * M * K), size_t(L * K * N), size_t(L * M * N),
                           size_t(dual ? K * N : N)};
  const size_t bytes[4] = {fp8 ? 1u : 2u, fp8 ? 1u : 2u, 2, 2}; // per element
  size_t set_bytes = 0;
  for (int t = 0; t < T; ++t) set_bytes += bytes[t] * elems[t];
  const int copies = static_cast<int>(std::clamp(std::ceil(2.0 * l2 / set_bytes), 1.0, 16.0));
  std::vector<void*> ptr(size_t(T) * copies);
  for (int c = 0; c < copies; ++c)
    for (int t = 0; t < T; ++t) {
      void*& p = ptr[size_t(T) * c + t];
      CHECK(cudaMalloc(&p, elems[t] * bytes[t]) == cudaSuccess);
      if (bytes[t] == 1)
        fill_random<<<1024, 256>>>(static_cast<__nv_fp8_e4m3*>(p), elems[t], T * c + t + 1);
      else if (bf16)
        fill_random<<<1024, 256>>>(static_cast<__nv_bfloat16*>(p), elems[t], T * c + t + 1);
      else
        fill_random<<<1024, 256>>>(static_cast<__half*>(p), elems[t], T * c + t + 1);
    }
  CHECK(cudaDeviceSynchronize() == cudaSuccess);

  cublasHandle_t h;
  CHECK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  // cuBLASLt for the fused epilogue: D^T[N, M] = B^T A^T column-major, bias along D^T's rows;
  // for e4m3, D^T[N, M] = (W^T)^T A^T with W^T [K, N] column-major (op T, as cuBLASLt's FP8 wants).
  cublasLtHandle_t lt = nullptr;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulHeuristicResult_t best{};
  const size_t ws_bytes = 32u << 20;
  void* ws = nullptr;
  void* scales[2] = {nullptr, nullptr}; // rowwise and blockwise: W's and A's
  if (bias_gelu || fp8) {
    CHECK(cublasLtCreate(&lt) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS);
    if (fp8) {
      const cublasOperation_t t = CUBLAS_OP_T;
      CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t) ==
            CUBLAS_STATUS_SUCCESS);
      if (rowwise || blockwise) {
        // Scales of 1.0 (their values do not change the time): W's (cuBLASLt's A) per row or per
        // 128x128 block, A's (its B) per row or per row and 128 of K.
        const size_t wscales = rowwise ? size_t(N) : size_t((N + 127) / 128) * ((K + 127) / 128),
                     ascales = rowwise ? size_t(M) : size_t((K + 127) / 128) * M;
        CHECK(cudaMalloc(&scales[0], wscales * 4) == cudaSuccess);
        CHECK(cudaMalloc(&scales[1], ascales * 4) == cudaSuccess);
        fill_ones<<<256, 256>>>(static_cast<float*>(scales[0]), wscales);
        fill_ones<<<256, 256>>>(static_cast<float*>(scales[1]), ascales);
        const cublasLtMatmulMatrixScale_t wmode = rowwise
                                                      ? CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F
                                                      : CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F,
                                          amode = rowwise
                                                      ? CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F
                                                      : CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &wmode,
                                             sizeof wmode) == CUBLAS_STATUS_SUCCESS);
        CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &amode,
                                             sizeof amode) == CUBLAS_STATUS_SUCCESS);
        CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scales[0],
                                             sizeof scales[0]) == CUBLAS_STATUS_SUCCESS);
        CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scales[1],
                                             sizeof scales[1]) == CUBLAS_STATUS_SUCCESS);
      }
      if (!blockwise) {
        // Sums kept in the tensor cores' accumulator, as Grove's per-tensor and rowwise kernels
        // keep them (cuBLASLt's default adds them into fp32 registers every few k-steps, more
        // exact and slower).
        const int8_t fast = 1;
        CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast,
                                             sizeof fast) == CUBLAS_STATUS_SUCCESS);
      }
      CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, K, N, K) == CUBLAS_STATUS_SUCCESS);
      CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, K, M, K) == CUBLAS_STATUS_SUCCESS);
    } else {
      const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_GELU_BIAS;
      CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi) ==
            CUBLAS_STATUS_SUCCESS);
      CHECK(cublasLtMatrixLayoutCreate(&la, dt, N, K, N) == CUBLAS_STATUS_SUCCESS); // B^T
      CHECK(cublasLtMatrixLayoutCreate(&lb, dt, K, M, K) == CUBLAS_STATUS_SUCCESS); // A^T
    }
    CHECK(cublasLtMatrixLayoutCreate(&lc, dt, N, M, N) == CUBLAS_STATUS_SUCCESS); // C^T
    CHECK(cudaMalloc(&ws, ws_bytes) == cudaSuccess);
    cublasLtMatmulPreference_t pref;
    CHECK(cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &ws_bytes,
                                               sizeof ws_bytes) == CUBLAS_STATUS_SUCCESS);
    if (bias_gelu) {
      const void* bias = ptr[3];
      CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                           sizeof bias) == CUBLAS_STATUS_SUCCESS);
    }
    int found = 0;
    CHECK(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &best, &found) ==
              CUBLAS_STATUS_SUCCESS &&
          found > 0);
    cublasLtMatmulPreferenceDestroy(pref);
  }
  const float one = 1, zero = 0;
  // Row-major C[M, N] = A[M, K] B[K, N] is column-major C^T = B^T A^T.
  auto run = [&](int i) {
    void** p = &ptr[size_t(T) * (i % copies)];
    if (bias_gelu || fp8) {
      if (bias_gelu) {
        const void* bias = p[3];
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
      }
      return cublasLtMatmul(lt, op, &one, p[1], la, p[0], lb, &zero, p[2], lc, p[2], lc, &best.algo,
                            ws, ws_bytes, nullptr);
    }
    if (L > 1)
      return cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, int(N), int(M), int(K), &one,
                                        p[1], dt, int(N), K * N, p[0], dt, int(K), M * K, &zero,
                                        p[2], dt, int(N), M * N, int(L), CUBLAS_COMPUTE_32F,
                                        CUBLAS_GEMM_DEFAULT);
    // W[N, K] row-major is W^T column-major: C^T[N, M] = (W^T)^T A^T, op T on the first operand.
    if (linear)
      return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &one, p[1], dt,
                          int(K), p[0], dt, int(K), &zero, p[2], dt, int(N), CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT);
    cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, int(N), int(M), int(K), &one,
                                     p[1], dt, int(N), p[0], dt, int(K), residual ? &one : &zero,
                                     p[2], dt, int(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS || !dual) return st;
    return cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, int(N), int(M), int(K), &one, p[3], dt, int(N),
                        p[0], dt, int(K), &one, p[2], dt, int(N), CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT);
  };
  for (int i = 0; i < warmup; ++i) CHECK(run(i) == CUBLAS_STATUS_SUCCESS);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<float> ms(iters);
  for (int i = 0; i < iters; ++i) {
    cudaEventRecord(start);
    CHECK(run(warmup + i) == CUBLAS_STATUS_SUCCESS);
    cudaEventRecord(stop);
    CHECK(cudaEventSynchronize(stop) == cudaSuccess);
    cudaEventElapsedTime(&ms[i], start, stop);
  }
  std::sort(ms.begin(), ms.end());
  const double med = iters % 2 ? ms[iters / 2] : (ms[iters / 2 - 1] + ms[iters / 2]) / 2;
  const double flop = 2.0 * L * M * N * K * (dual ? 2 : 1); // the epilogue's work not counted
  std::printf(
      "BENCH cublas %s%s L=%lld M=%lld N=%lld K=%lld median_ms %.4f TFLOP/s %.1f copies %d\n",
      type.c_str(),
      dual            ? " dual"
      : bias_gelu     ? " bias_gelu"
      : residual      ? " residual"
      : rowwise       ? " rowwise"
      : blockwise     ? " blockwise"
      : linear || fp8 ? " linear"
                      : "",
      L, M, N, K, med, flop / (med * 1e-3) / 1e12, copies);
  if (lt) {
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(lt);
    cudaFree(ws);
  }
  cublasDestroy(h);
  for (void* p : ptr) cudaFree(p);
  for (void* p : scales) cudaFree(p);
  return 0;
}
