// Self-test: stmatrix_x4 from grove_sm90.cuh, addressed as the CUDA back end's epilogue addresses
// it (print_leaf.cpp emit_stmatrix). A warpgroup holds a [64, N] tile in the WGMMA accumulator
// fragment layout (the wgmma self-test checks that layout), packs it in pairs and stores it
// with one stmatrix per pair of 8-column blocks: into a 128B-swizzled tile (the TMA-store staging
// layout; 64-column panels) and into a plain row-major one. stmatrix moves 16-bit patterns, so
// element (r, c) is the pattern r * N + c itself (the printed code packs f16 pairs with
// pack_f16x2 first): every element distinct, and the check is equality.
#include "common.cuh"

static const char* kTestName = "stmatrix";

template <int N, bool Swizzled>
__global__ void __launch_bounds__(128) store_kernel(grove::u16* out) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* tile = grove::align_1024(raw);
  const int tid = threadIdx.x;
  const int frag_row = 16 * (tid / 32) + (tid % 32) / 4, frag_col = 2 * (tid % 4);
  auto offset = [](int r, int c) {
    return Swizzled ? grove::sw_offset<128>(r, 2 * c, 64)
                    : static_cast<grove::u32>(2 * (r * N + c));
  };
  grove::u32 pk[2][N / 8];
#pragma unroll
  for (int rh = 0; rh < 2; ++rh)
#pragma unroll
    for (int cb = 0; cb < N / 8; ++cb) {
      const int r = frag_row + 8 * rh, c = 8 * cb + frag_col;
      pk[rh][cb] = static_cast<grove::u32>(r * N + c) | static_cast<grove::u32>(r * N + c + 1)
                                                            << 16;
    }
  // As printed: lane l names row l % 8 of matrix l / 8 = (rh, cb) = ((l / 8) % 2, 2 cb2 + l / 16).
  const int st_row = 16 * (tid / 32) + 8 * ((tid / 8) % 2) + tid % 8;
#pragma unroll
  for (int cb2 = 0; cb2 < N / 16; ++cb2) {
    const int st_col = 8 * (2 * cb2 + (tid % 32) / 16);
    grove::stmatrix_x4(grove::smem_u32(tile + offset(st_row, st_col)), pk[0][2 * cb2],
                       pk[1][2 * cb2], pk[0][2 * cb2 + 1], pk[1][2 * cb2 + 1]);
  }
  __syncthreads();
  for (int i = tid; i < 64 * N; i += 128)
    out[i] = *reinterpret_cast<const grove::u16*>(tile + offset(i / N, i % N));
}

template <int N, bool Swizzled> int run(const char* label) {
  grove::u16* dOut;
  CHECK_CUDA(cudaMalloc(&dOut, 64 * N * 2));
  CHECK_CUDA(cudaMemset(dOut, 0xff, 64 * N * 2));                        // NaN poison
  const int smem = (Swizzled ? 64 * 128 * (N / 64) : 64 * N * 2) + 1024; // panels: 128-byte rows
  auto kernel = store_kernel<N, Swizzled>;
  CHECK_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  kernel<<<1, 128, smem>>>(dOut);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<unsigned short> out(64 * N);
  CHECK_CUDA(cudaMemcpy(out.data(), dOut, out.size() * 2, cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int i = 0; i < 64 * N; ++i)
    if (out[i] != i && bad++ < 5)
      std::printf("  %s: [%d, %d] = %d, want %d\n", label, i / N, i % N, out[i], i);
  std::printf("  %-44s %s\n", label, bad ? "FAIL" : "ok");
  CHECK_CUDA(cudaFree(dOut));
  return bad;
}

int main() {
  int bad = 0;
  bad += run<64, true>("[64, 64] into a 128B-swizzled tile");
  bad += run<128, true>("[64, 128]: two swizzled panels");
  bad += run<32, false>("[64, 32] into a row-major tile");
  bad += run<16, false>("[64, 16] (one stmatrix a warp), row-major");
  std::printf("SELFTEST %s %s %d wrong elements\n", kTestName, bad ? "FAIL" : "PASS", bad);
  return bad ? 1 : 0;
}
