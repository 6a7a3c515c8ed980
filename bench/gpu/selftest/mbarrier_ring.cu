// Self-test: an mbarrier full/empty ring between a TMA producer warp and two consumer
// warpgroups, shaped like the kernels Grove prints (setmaxnreg, one elected lane issuing,
// parity waits, a fresh barrier passing a parity-1 wait). The producer streams T tiles of a
// [T*64, 64] f16 tensor through a 4-slot ring; each consumer warpgroup sums half the rows of every
// tile from shared memory (undoing the swizzle) and writes the sums; the host checks every one.
// A missed wait shows as a wrong sum (stale or partial tile), a missed arrival as a hang (the
// run.sh timeout).
#include "common.cuh"

static const char* kTestName = "mbarrier_ring";

constexpr int kSlots = 4, kTiles = 257, kTileRows = 64, kTileCols = 64;
constexpr int kTileBytes = kTileRows * kTileCols * 2;

__global__ void __launch_bounds__(384, 1)
    ring(const __grid_constant__ grove::TensorMap map, float* sums /* [kTiles][2] */) {
  extern __shared__ __align__(1024) unsigned char raw[];
  unsigned char* tiles = grove::align_1024(raw);
  __shared__ grove::u64 full[kSlots], empty[kSlots];
  if (threadIdx.x == 0) {
    for (int s = 0; s < kSlots; ++s) {
      grove::mbar_init(grove::smem_u32(&full[s]), 1);
      grove::mbar_init(grove::smem_u32(&empty[s]), 2);
    }
    grove::fence_mbarrier_init();
  }
  __syncthreads();
  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    grove::setmaxnreg_dec<40>();
    if (threadIdx.x < 32) {
      for (int t = 0; t < kTiles; ++t) {
        int s = t % kSlots;
        grove::mbar_wait(grove::smem_u32(&empty[s]), (t / kSlots + 1) % 2);
        if (threadIdx.x == 0) {
          grove::mbar_arrive_expect_tx(grove::smem_u32(&full[s]), kTileBytes);
          grove::tma_load_2d(grove::smem_u32(tiles + s * kTileBytes), &map,
                             grove::smem_u32(&full[s]), 0, t * kTileRows);
        }
      }
    }
  } else {
    grove::setmaxnreg_inc<232>();
    const int wg = warpgroup - 1, tid = threadIdx.x % 128;
    for (int t = 0; t < kTiles; ++t) {
      int s = t % kSlots;
      grove::mbar_wait(grove::smem_u32(&full[s]), (t / kSlots) % 2);
      // Rows [32*wg, 32*wg + 32): thread tid reads 16 elements.
      float sum = 0;
      for (int i = tid; i < 32 * kTileCols; i += 128) {
        int r = 32 * wg + i / kTileCols, c = i % kTileCols;
        sum += grove::f16_to_f32(*reinterpret_cast<const grove::u16*>(
            tiles + s * kTileBytes + grove::sw_offset<128>(r, 2 * c, kTileRows)));
      }
      for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      __shared__ float partial[2][4];
      if (tid % 32 == 0) partial[wg][tid / 32] = sum;
      grove::named_barrier_sync(1 + wg, 128); // this warpgroup's reads of the slot are done
      if (tid == 0) {
        sums[t * 2 + wg] = partial[wg][0] + partial[wg][1] + partial[wg][2] + partial[wg][3];
        grove::mbar_arrive(grove::smem_u32(&empty[s]));
      }
      grove::named_barrier_sync(1 + wg, 128); // partial[] is reused next tile
    }
  }
}

int main() {
  const int rows = kTiles * kTileRows;
  std::vector<unsigned short> host(rows * kTileCols);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dist(-8, 8);
  std::vector<double> want(kTiles * 2, 0.0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < kTileCols; ++c) {
      int v = dist(rng);
      host[r * kTileCols + c] = host_f32_to_f16(static_cast<float>(v));
      want[(r / kTileRows) * 2 + (r % kTileRows) / 32] += v;
    }
  grove::u16* dev;
  float* sums;
  CHECK_CUDA(cudaMalloc(&dev, host.size() * 2));
  CHECK_CUDA(cudaMalloc(&sums, kTiles * 2 * 4));
  CHECK_CUDA(cudaMemcpy(dev, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemset(sums, 0xff, kTiles * 2 * 4));
  grove::TensorMap map;
  const long long dims[] = {rows, kTileCols};
  const int box[] = {kTileRows, kTileCols};
  CHECK_CUDA(grove::encode_tensor_map(&map, dev, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, 2, dims, box,
                                      CU_TENSOR_MAP_SWIZZLE_128B));
  const int smem = kSlots * kTileBytes + 1024;
  CHECK_CUDA(cudaFuncSetAttribute(ring, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int bad = 0;
  for (int rep = 0; rep < 20 && !bad; ++rep) {
    ring<<<1, 384, smem>>>(map, sums);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaDeviceSynchronize());
    std::vector<float> got(kTiles * 2);
    CHECK_CUDA(cudaMemcpy(got.data(), sums, got.size() * 4, cudaMemcpyDeviceToHost));
    for (int i = 0; i < kTiles * 2; ++i)
      if (got[i] != static_cast<float>(want[i]) && bad++ < 5)
        std::printf("  run %d tile %d half %d: sum %g, want %g\n", rep, i / 2, i % 2, got[i],
                    want[i]);
  }
  std::printf("SELFTEST %s %s %d tiles x 20 runs, %d wrong sums\n", kTestName,
              bad ? "FAIL" : "PASS", kTiles, bad);
  return bad ? 1 : 0;
}
