// Self-test: TMA tile loads with the 128-byte swizzle, checked element by element against the
// layout grove_sm90.cuh documents (panels of 64 f16 columns, chunk c of row r at c ^ (r % 8)).
// One [64, 192] box arrives as three 64-column panels (three TMA calls, as the CUDA back end
// issues them); a second box hangs over the tensor's last rows and columns and must read zeros.
#include "common.cuh"

static const char* kTestName = "tma_swizzle";

constexpr int kRows = 256, kCols = 200;      // global f16 tensor [256, 200] (row pitch 400 bytes)
constexpr int kBoxRows = 64, kBoxCols = 192; // three panels
constexpr int kTileBytes = kBoxRows * kBoxCols * 2;

__global__ void load_tile(const __grid_constant__ grove::TensorMap map, int row0, int col0,
                          unsigned char* out) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* tile = grove::align_1024(raw);
  __shared__ grove::u64 bar;
  const grove::u32 bar_addr = grove::smem_u32(&bar);
  if (threadIdx.x == 0) {
    grove::mbar_init(bar_addr, 1);
    grove::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    grove::mbar_arrive_expect_tx(bar_addr, kTileBytes);
    for (int p = 0; p < kBoxCols / 64; ++p)
      grove::tma_load_2d(grove::smem_u32(tile) + grove::sw128_start(0, p * 128, kBoxRows), &map,
                         bar_addr, col0 + 64 * p, row0);
  }
  grove::mbar_wait(bar_addr, 0);
  for (int i = threadIdx.x; i < kTileBytes; i += blockDim.x) out[i] = tile[i];
}

int main() {
  std::vector<unsigned short> host(kRows * kCols);
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) // distinct, exactly representable values
      host[r * kCols + c] = host_f32_to_f16(static_cast<float>((r * 7 + c * 3) % 2000 + 1));
  unsigned short* dev = nullptr;
  unsigned char* out = nullptr;
  CHECK_CUDA(cudaMalloc(&dev, host.size() * 2));
  CHECK_CUDA(cudaMalloc(&out, kTileBytes));
  CHECK_CUDA(cudaMemcpy(dev, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  grove::TensorMap map;
  const long long dims[] = {kRows, kCols};
  const int box[] = {kBoxRows, 64};
  CHECK_CUDA(grove::encode_tensor_map(&map, dev, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, 2, dims, box,
                                      CU_TENSOR_MAP_SWIZZLE_128B));
  const int smem = kTileBytes + 1024;
  CHECK_CUDA(cudaFuncSetAttribute(load_tile, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int bad = 0;
  long long checked = 0;
  for (auto [row0, col0] : {std::pair{64, 0}, std::pair{224, 64}}) {
    CHECK_CUDA(cudaMemset(out, 0xff, kTileBytes)); // poison
    load_tile<<<1, 128, smem>>>(map, row0, col0, out);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaDeviceSynchronize());
    std::vector<unsigned char> tile(kTileBytes);
    CHECK_CUDA(cudaMemcpy(tile.data(), out, kTileBytes, cudaMemcpyDeviceToHost));
    for (int r = 0; r < kBoxRows; ++r)
      for (int c = 0; c < kBoxCols; ++c) {
        unsigned off = grove::sw128_offset(r, c * 2, kBoxRows);
        unsigned short got;
        std::memcpy(&got, &tile[off], 2);
        int gr = row0 + r, gc = col0 + c;
        unsigned short want = gr < kRows && gc < kCols ? host[gr * kCols + gc] : 0;
        ++checked;
        if (got != want && bad++ < 10)
          std::printf("  box (%d, %d) element (%d, %d) at byte %u: got %g want %g\n", row0, col0, r,
                      c, off, host_f16_to_f32(got), host_f16_to_f32(want));
      }
  }
  std::printf("SELFTEST %s %s %lld elements checked, %d wrong\n", kTestName, bad ? "FAIL" : "PASS",
              checked, bad);
  return bad ? 1 : 0;
}
