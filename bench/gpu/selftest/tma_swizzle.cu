// Self-test: TMA tile loads with the 128-, 64- and 32-byte swizzles, checked element by element
// against the layout grove_sm90.cuh documents (panels of W bytes; for 128, chunk c of row r at
// c ^ (r % 8); for 64, at c ^ ((r / 2) % 4); for 32, at c ^ ((r / 4) % 2)). One box three panels
// wide ([64, 192] f16 for 128 bytes) arrives as three panels (three TMA calls, as the CUDA back
// end issues them); a second box hangs over the tensor's last rows and columns and must read
// zeros.
#include "common.cuh"

static const char* kTestName = "tma_swizzle";

constexpr int kRows = 256, kCols = 200; // global f16 tensor [256, 200] (row pitch 400 bytes)
constexpr int kBoxRows = 64;
constexpr int kTileBytes = kBoxRows * 192 * 2; // the widest: three 128-byte panels

// W: the swizzle span; a panel is W / 2 f16 columns, the box three panels.
template <int W>
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
    grove::mbar_arrive_expect_tx(bar_addr, kBoxRows * 3 * W);
    for (int p = 0; p < 3; ++p)
      grove::tma_load_2d(grove::smem_u32(tile) + grove::sw_start<W>(0, p * W, kBoxRows), &map,
                         bar_addr, col0 + W / 2 * p, row0);
  }
  grove::mbar_wait(bar_addr, 0);
  for (int i = threadIdx.x; i < kTileBytes; i += blockDim.x) out[i] = tile[i];
}

template <int W>
int check(const std::vector<unsigned short>& host, unsigned short* dev, unsigned char* out,
          long long& checked) {
  constexpr int kBoxCols = 3 * W / 2;
  const int bytes = kBoxRows * kBoxCols * 2;
  grove::TensorMap map;
  const long long dims[] = {kRows, kCols};
  const int box[] = {kBoxRows, W / 2};
  CHECK_CUDA(grove::encode_tensor_map(&map, dev, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, 2, dims, box,
                                      W == 128  ? CU_TENSOR_MAP_SWIZZLE_128B
                                      : W == 64 ? CU_TENSOR_MAP_SWIZZLE_64B
                                                : CU_TENSOR_MAP_SWIZZLE_32B));
  const int smem = kTileBytes + 1024;
  CHECK_CUDA(cudaFuncSetAttribute(load_tile<W>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int bad = 0;
  for (auto [row0, col0] : {std::pair{64, 0}, std::pair{224, kCols - W / 2}}) {
    CHECK_CUDA(cudaMemset(out, 0xff, kTileBytes)); // poison
    load_tile<W><<<1, 128, smem>>>(map, row0, col0, out);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaDeviceSynchronize());
    std::vector<unsigned char> tile(static_cast<size_t>(bytes));
    CHECK_CUDA(cudaMemcpy(tile.data(), out, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost));
    for (int r = 0; r < kBoxRows; ++r)
      for (int c = 0; c < kBoxCols; ++c) {
        unsigned off = grove::sw_offset<W>(r, c * 2, kBoxRows);
        unsigned short got;
        std::memcpy(&got, &tile[off], 2);
        int gr = row0 + r, gc = col0 + c;
        unsigned short want = gr < kRows && gc < kCols ? host[gr * kCols + gc] : 0;
        ++checked;
        if (got != want && bad++ < 10)
          std::printf("  %dB swizzle: box (%d, %d) element (%d, %d) at byte %u: got %g want %g\n",
                      W, row0, col0, r, c, off, host_f16_to_f32(got), host_f16_to_f32(want));
      }
  }
  return bad;
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
  long long checked = 0;
  int bad = check<128>(host, dev, out, checked) + check<64>(host, dev, out, checked) +
            check<32>(host, dev, out, checked);
  std::printf("SELFTEST %s %s %lld elements checked, %d wrong\n", kTestName, bad ? "FAIL" : "PASS",
              checked, bad);
  return bad ? 1 : 0;
}
