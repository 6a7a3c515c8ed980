// TMA figures of the machine model: kinds.tma_load.latency, kinds.tma_store.latency and
// rates.bytes (sustained TMA bytes per clock per SM).
//
// Every copy is the box the kernels use most: 128 rows x 64 f16 columns (16 KB, one 128-byte
// panel) with CU_TENSOR_MAP_SWIZZLE_128B, from one 1 GiB f16 tensor [65536, 8192] (row pitch
// 16 KB), seen as a grid of 512 x 128 = 65536 distinct tiles.
//
// Latency (one block, one thread, the GPU otherwise idle): a sample is clock64 just before
// mbarrier.arrive.expect_tx to clock64 just after try_wait sees the phase complete, so it covers
// issue, the fetch, the 16 KB transfer into shared memory and the barrier's completion. Two
// cases: the same tile again and again (an L2 hit) and distinct tiles visited with a stride that
// defeats the 256-byte L2 promotion, after the L2 was flushed (mostly from HBM). The model's
// latency is on top of the transfer time (bytes / rates.bytes), so compare with latency + 256.
//
// Store latency: one thread stores a 16 KB tile from shared memory (cp.async.bulk.tensor to
// global) and waits with cp.async.bulk.wait_group 0 (writes performed, not just the source read).
//
// Bandwidth (one block per SM, all SMs): one thread per SM keeps a 12-deep ring of 16 KB tiles in
// flight (192 KB, far beyond latency x bandwidth) and reissues a slot as soon as its mbarrier
// completes; nothing reads the tiles, so only the TMA path is timed. Bytes per clock per SM =
// bytes loaded by the block / clock64 cycles of the block, median over SMs. Two cases: every
// tile distinct over the 1 GiB tensor (HBM-bound) and all SMs cycling over the first 16 MiB
// (L2-resident: the "L2 reuse across CTAs" the model assumes).
#include "common.cuh"

constexpr int kRows = 65536, kCols = 8192;   // 1 GiB of f16
constexpr int kBoxRows = 128, kBoxCols = 64; // 16 KB, one 128-byte swizzle panel wide
constexpr int kBoxBytes = kBoxRows * kBoxCols * 2;
constexpr int kColTiles = kCols / kBoxCols;            // 128
constexpr int kTiles = kColTiles * (kRows / kBoxRows); // 65536
constexpr int kSamples = 2000;
constexpr int kRing = 12;

__device__ __forceinline__ void tile_coords(int t, int& c0, int& r0) {
  c0 = (t % kColTiles) * kBoxCols;
  r0 = (t / kColTiles) * kBoxRows;
}

// Load latency: sample i loads tile (i * stride) % kTiles (stride 0: always tile 0).
__global__ void load_latency(const __grid_constant__ grove::TensorMap map, int stride,
                             long long* cycles) {
  extern __shared__ __align__(1024) unsigned char raw[];
  const grove::u32 tile = grove::smem_u32(grove::align_1024(raw));
  __shared__ grove::u64 bar;
  const grove::u32 b = grove::smem_u32(&bar);
  grove::tma_prefetch_map(&map);
  grove::mbar_init(b, 1);
  grove::fence_mbarrier_init();
  for (int i = 0; i < kSamples; ++i) {
    int c0, r0;
    tile_coords(static_cast<int>((static_cast<long long>(i) * stride) % kTiles), c0, r0);
    long long t0 = clock64();
    grove::mbar_arrive_expect_tx(b, kBoxBytes);
    grove::tma_load_2d(tile, &map, b, c0, r0);
    grove::mbar_wait(b, i & 1);
    cycles[i] = clock64() - t0;
  }
}

// Store latency: sample i stores the (zeroed) tile to tile (i * stride) % kTiles.
__global__ void store_latency(const __grid_constant__ grove::TensorMap map, int stride,
                              long long* cycles) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* tile = grove::align_1024(raw);
  for (int i = 0; i < kBoxBytes; ++i) tile[i] = 0;
  grove::fence_proxy_async(); // the generic-proxy writes above -> the TMA's reads
  grove::tma_prefetch_map(&map);
  for (int i = 0; i < kSamples; ++i) {
    int c0, r0;
    tile_coords(static_cast<int>((static_cast<long long>(i) * stride) % kTiles), c0, r0);
    long long t0 = clock64();
    grove::tma_store_2d(&map, grove::smem_u32(tile), c0, r0);
    grove::tma_store_commit();
    asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
    cycles[i] = clock64() - t0;
  }
}

// Bandwidth: block b loads tiles (b + i * gridDim.x) % tile_mod for i < per_block.
__global__ void __launch_bounds__(32, 1) stream(const __grid_constant__ grove::TensorMap map,
                                                int tile_mod, int per_block, long long* cycles) {
  extern __shared__ __align__(1024) unsigned char raw[];
  const grove::u32 ring = grove::smem_u32(grove::align_1024(raw));
  __shared__ grove::u64 full[kRing];
  if (threadIdx.x != 0) return;
  grove::tma_prefetch_map(&map);
  for (int s = 0; s < kRing; ++s) grove::mbar_init(grove::smem_u32(&full[s]), 1);
  grove::fence_mbarrier_init();
  long long t0 = clock64();
  for (int i = 0; i < per_block; ++i) {
    int s = i % kRing;
    grove::u32 bar = grove::smem_u32(&full[s]);
    if (i >= kRing) grove::mbar_wait(bar, (i / kRing - 1) & 1); // the slot's previous load landed
    int c0, r0;
    tile_coords((blockIdx.x + i * gridDim.x) % tile_mod, c0, r0);
    grove::mbar_arrive_expect_tx(bar, kBoxBytes);
    grove::tma_load_2d(ring + s * kBoxBytes, &map, bar, c0, r0);
  }
  for (int i = per_block > kRing ? per_block - kRing : 0; i < per_block; ++i)
    grove::mbar_wait(grove::smem_u32(&full[i % kRing]), (i / kRing) & 1);
  cycles[blockIdx.x] = clock64() - t0;
}

static std::vector<long long> run_latency(void (*kernel)(grove::TensorMap, int, long long*),
                                          const grove::TensorMap& map, int stride,
                                          long long* d_cycles) {
  kernel<<<1, 1, kBoxBytes + 1024>>>(map, stride, d_cycles);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<long long> c(kSamples);
  CHECK_CUDA(cudaMemcpy(c.data(), d_cycles, kSamples * sizeof(long long), cudaMemcpyDeviceToHost));
  c.erase(c.begin(), c.begin() + 10); // first samples: tensor map and instruction cache misses
  return c;
}

int main() {
  const int sms = sm_count();
  grove::u16* tensor;
  unsigned char* flush;
  long long* d_cycles;
  const size_t tensor_bytes = size_t(kRows) * kCols * 2, flush_bytes = size_t(256) << 20;
  CHECK_CUDA(cudaMalloc(&tensor, tensor_bytes));
  CHECK_CUDA(cudaMalloc(&flush, flush_bytes));
  CHECK_CUDA(cudaMalloc(&d_cycles, std::max(kSamples, sms) * sizeof(long long)));
  CHECK_CUDA(cudaMemset(tensor, 0, tensor_bytes));
  grove::TensorMap map;
  const long long dims[] = {kRows, kCols};
  const int box[] = {kBoxRows, kBoxCols};
  CHECK_CUDA(grove::encode_tensor_map(&map, tensor, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, 2, dims,
                                      box, CU_TENSOR_MAP_SWIZZLE_128B));
  const int smem_ring = kRing * kBoxBytes + 1024;
  CHECK_CUDA(cudaFuncSetAttribute(stream, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_ring));

  // Latencies. 7919 is prime, so kSamples strided tiles are distinct and never neighbours.
  auto hit = run_latency(load_latency, map, 0, d_cycles);
  emit("tma_load_latency_l2_hit", median(hit), "cycles", "kinds.tma_load.latency",
       "one thread, idle GPU: clock64 from arrive.expect_tx to mbarrier completion of one "
       "128x64 f16 SWIZZLE_128B box (16 KB), the same tile each time (L2 hit); median of 1990; "
       "includes the 16 KB transfer");
  CHECK_CUDA(cudaMemset(flush, 1, flush_bytes)); // evict the tensor from the 50 MB L2
  CHECK_CUDA(cudaDeviceSynchronize());
  auto miss = run_latency(load_latency, map, 7919, d_cycles);
  emit("tma_load_latency_hbm", median(miss), "cycles", "kinds.tma_load.latency",
       "as tma_load_latency_l2_hit but 1990 distinct tiles of a 1 GiB tensor after an L2 flush "
       "(mostly HBM); median; includes the 16 KB transfer");
  std::vector<long long> sorted = miss;
  std::sort(sorted.begin(), sorted.end());
  emit("tma_load_latency_hbm_p90", double(sorted[sorted.size() * 9 / 10]), "cycles", "",
       "90th percentile of the tma_load_latency_hbm samples (the tail a pipeline depth must hide)");
  auto store = run_latency(store_latency, map, 7919, d_cycles);
  emit("tma_store_latency", median(store), "cycles", "kinds.tma_store.latency",
       "one thread, idle GPU: clock64 from cp.async.bulk.tensor store of a 128x64 f16 box (16 KB) "
       "with commit_group to cp.async.bulk.wait_group 0 returning (writes performed); distinct "
       "tiles; median of 1990; includes the 16 KB transfer");

  // Bandwidth. Each case: one warm-up launch, then the best median of three.
  cudaEvent_t e0, e1;
  CHECK_CUDA(cudaEventCreate(&e0));
  CHECK_CUDA(cudaEventCreate(&e1));
  const int per_block = kTiles / sms; // the whole tensor once over all SMs
  struct Case {
    const char* figure;
    const char* gbs_figure;
    int tile_mod, per_block;
    const char* method;
  } cases[] = {
      {"tma_load_bytes_per_clock_per_sm_hbm", "tma_load_gbytes_per_s_hbm", kTiles, per_block,
       "one block per SM, one thread keeping 12 loads of 16 KB (128x64 f16, SWIZZLE_128B) in "
       "flight; all SMs stream distinct tiles of a 1 GiB tensor (HBM-bound); bytes / clock64 "
       "cycles per block, median over SMs, best of 3"},
      {"tma_load_bytes_per_clock_per_sm_l2", "tma_load_gbytes_per_s_l2", 1024, 4 * per_block,
       "as the HBM case but all SMs cycle over the same 16 MiB (1024 tiles, L2-resident): the L2 "
       "reuse across CTAs the model assumes; median over SMs, best of 3"},
  };
  for (const Case& c : cases) {
    double best = 0, best_gbs = 0;
    for (int rep = 0; rep < 4; ++rep) {
      CHECK_CUDA(cudaEventRecord(e0));
      stream<<<sms, 32, smem_ring>>>(map, c.tile_mod, c.per_block, d_cycles);
      CHECK_CUDA(cudaEventRecord(e1));
      CHECK_CUDA(cudaGetLastError());
      CHECK_CUDA(cudaEventSynchronize(e1));
      float ms = 0;
      CHECK_CUDA(cudaEventElapsedTime(&ms, e0, e1));
      std::vector<long long> cyc(sms);
      CHECK_CUDA(cudaMemcpy(cyc.data(), d_cycles, sms * sizeof(long long), cudaMemcpyDeviceToHost));
      if (rep == 0) continue; // warm-up (and, for the L2 case, the first touch from HBM)
      best = std::max(best, double(c.per_block) * kBoxBytes / median(cyc));
      best_gbs = std::max(best_gbs, double(c.per_block) * sms * kBoxBytes / (ms * 1e6));
    }
    emit(c.figure, best, "bytes_per_clock", "rates.bytes.per_clock", c.method);
    emit(c.gbs_figure, best_gbs, "GB/s", "",
         "the same runs: all bytes loaded / kernel time from cudaEvents (includes launch)");
  }
  return 0;
}
