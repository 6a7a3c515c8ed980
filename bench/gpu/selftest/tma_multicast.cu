// Self-test: clusters of two blocks. Each block loads half the rows of one [64, 64] f16 tile with
// a multicast TMA load into both blocks' shared memory (the 128-byte swizzle, as the CUDA back end
// issues it); each block's mbarrier expects the whole tile. Then each block arrives on the other's
// mbarrier through mapa (mbar_arrive_cluster) and waits for the other's arrival, and a final
// barrier.cluster keeps both alive until then. Every element of both copies is checked.
#include "common.cuh"

static const char* kTestName = "tma_multicast";

constexpr int kRows = 128, kCols = 64; // global f16 tensor [128, 64]
constexpr int kBoxRows = 64, kHalf = 32, kTileBytes = kBoxRows * kCols * 2;

__global__ void load_shared_tile(const __grid_constant__ grove::TensorMap half_map, int row0,
                                 unsigned char* out, int* handshake) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* tile = grove::align_1024(raw);
  __shared__ grove::u64 full, hello;
  const grove::u32 full_addr = grove::smem_u32(&full), hello_addr = grove::smem_u32(&hello);
  const int rank = static_cast<int>(blockIdx.x % 2);
  if (threadIdx.x == 0) {
    grove::mbar_init(full_addr, 1);
    grove::mbar_init(hello_addr, 1);
    grove::fence_mbarrier_init();
  }
  __syncthreads();
  grove::cluster_sync(); // both blocks' barriers exist before either is signalled
  if (threadIdx.x == 0) {
    grove::mbar_arrive_expect_tx(full_addr, kTileBytes);
    grove::tma_load_2d_multicast(grove::smem_u32(tile) + rank * kHalf * 128, &half_map, full_addr,
                                 3, 0, row0 + rank * kHalf);
  }
  grove::mbar_wait(full_addr, 0);
  for (int i = threadIdx.x; i < kTileBytes; i += blockDim.x)
    out[blockIdx.x * kTileBytes + i] = tile[i];
  if (threadIdx.x == 0) grove::mbar_arrive_cluster(hello_addr, static_cast<grove::u32>(rank ^ 1));
  grove::mbar_wait(hello_addr, 0);
  if (threadIdx.x == 0) handshake[blockIdx.x] = 1;
  grove::cluster_sync(); // neither block exits while the other may still signal it
}

int main() {
  std::vector<unsigned short> host(kRows * kCols);
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c)
      host[r * kCols + c] = host_f32_to_f16(static_cast<float>((r * 5 + c * 11) % 1500 + 1));
  unsigned short* dev = nullptr;
  unsigned char* out = nullptr;
  int* handshake = nullptr;
  CHECK_CUDA(cudaMalloc(&dev, host.size() * 2));
  CHECK_CUDA(cudaMalloc(&out, 2 * kTileBytes));
  CHECK_CUDA(cudaMalloc(&handshake, 2 * sizeof(int)));
  CHECK_CUDA(cudaMemcpy(dev, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemset(out, 0xff, 2 * kTileBytes)); // poison
  CHECK_CUDA(cudaMemset(handshake, 0, 2 * sizeof(int)));
  grove::TensorMap map;
  const long long dims[] = {kRows, kCols};
  const int box[] = {kHalf, 64};
  CHECK_CUDA(grove::encode_tensor_map(&map, dev, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, 2, dims, box,
                                      CU_TENSOR_MAP_SWIZZLE_128B));
  const int smem = kTileBytes + 1024;
  CHECK_CUDA(
      cudaFuncSetAttribute(load_shared_tile, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const int row0 = 64;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(2);
  config.blockDim = dim3(128);
  config.dynamicSmemBytes = smem;
  cudaLaunchAttribute cluster[1];
  cluster[0].id = cudaLaunchAttributeClusterDimension;
  cluster[0].val.clusterDim.x = 2;
  cluster[0].val.clusterDim.y = 1;
  cluster[0].val.clusterDim.z = 1;
  config.attrs = cluster;
  config.numAttrs = 1;
  CHECK_CUDA(cudaLaunchKernelEx(&config, load_shared_tile, map, row0, out, handshake));
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<unsigned char> tiles(2 * kTileBytes);
  int shook[2] = {0, 0};
  CHECK_CUDA(cudaMemcpy(tiles.data(), out, tiles.size(), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(shook, handshake, sizeof(shook), cudaMemcpyDeviceToHost));
  int bad = 0;
  long long checked = 0;
  for (int b = 0; b < 2; ++b)
    for (int r = 0; r < kBoxRows; ++r)
      for (int c = 0; c < kCols; ++c) {
        unsigned off = grove::sw_offset<128>(r, c * 2, kBoxRows);
        unsigned short got;
        std::memcpy(&got, &tiles[static_cast<size_t>(b * kTileBytes) + off], 2);
        unsigned short want = host[(row0 + r) * kCols + c];
        ++checked;
        if (got != want && bad++ < 10)
          std::printf("  block %d element (%d, %d): got %g want %g\n", b, r, c,
                      host_f16_to_f32(got), host_f16_to_f32(want));
      }
  for (int b = 0; b < 2; ++b)
    if (!shook[b] && bad++ < 10) std::printf("  block %d never saw the other's arrival\n", b);
  std::printf("SELFTEST %s %s %lld elements checked in 2 blocks, %d wrong\n", kTestName,
              bad ? "FAIL" : "PASS", checked, bad);
  return bad ? 1 : 0;
}
