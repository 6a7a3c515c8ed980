// Cross-warpgroup hand-off costs of the machine model: cross_role_latency (an mbarrier arrive on
// one warpgroup to try_wait returning on another) and reg_transfer_latency (a register tile
// staged through shared memory to another warpgroup).
//
// One block of two warpgroups on an idle GPU; clock64 is one counter per SM, so a stamp taken on
// one warp and read on another measures a one-way time directly. 1000 rounds, medians.
//
// Hand-off, shaped like a producer/consumer ring: warp 0 (wg0, the "producer") stores clock64 to
// shared memory and arrives once on `full`; all 128 threads of wg1 wait on `full`, and thread 128
// takes clock64 - stamp (one way: arrive -> release of the waiting warpgroup). Each wg1 warp then
// arrives on `empty` (4 arrivals), which warp 0 waits for before the next round, so no barrier
// can run two phases ahead of a waiter. The round trip on warp 0 (arrive on full -> empty
// released) over 2 is a second estimate of the same cost.
//
// Register transfer: all 128 threads of wg0 store a 64-float tile each (an m64n128 f32
// accumulator, 32 KB; conflict-free), each wg0 warp arrives on `full` (4 arrivals); wg1 waits,
// loads the tile, adds it up and joins a named barrier; thread 128 takes clock64 - the stamp wg0's
// thread 0 took before its stores, after a named barrier lined up wg0's warps. wg1's warps arrive
// on `empty`, which all of wg0 waits for before overwriting the tile.
#include "common.cuh"

constexpr int kRounds = 1000, kTile = 64; // floats per thread

__global__ void __launch_bounds__(256, 1)
    handoff(long long* one_way, long long* round_trip, long long* transfer, float* sink) {
  __shared__ grove::u64 full, empty, full4, empty4;
  __shared__ volatile long long stamp;
  __shared__ float tile[kTile * 128];
  const int tid = threadIdx.x, wg = tid / 128;
  if (tid == 0) {
    grove::mbar_init(grove::smem_u32(&full), 1);
    grove::mbar_init(grove::smem_u32(&empty), 4);
    grove::mbar_init(grove::smem_u32(&full4), 4);
    grove::mbar_init(grove::smem_u32(&empty4), 4);
    grove::fence_mbarrier_init();
  }
  __syncthreads();

  // 1. Barrier hand-off.
  for (int r = 0; r < kRounds; ++r) {
    if (wg == 0) {
      if (tid >= 32) continue; // one producer warp; the rest of wg0 idles
      long long t0 = 0;
      if (tid == 0) {
        t0 = clock64();
        stamp = t0;
        grove::mbar_arrive(grove::smem_u32(&full)); // release: the stamp is visible to waiters
      }
      grove::mbar_wait(grove::smem_u32(&empty), r & 1);
      if (tid == 0) round_trip[r] = clock64() - t0;
    } else {
      grove::mbar_wait(grove::smem_u32(&full), r & 1);
      if (tid == 128) one_way[r] = clock64() - stamp;
      __syncwarp();
      if (tid % 32 == 0) grove::mbar_arrive(grove::smem_u32(&empty));
    }
  }
  __syncthreads();

  // 2. Register tile through shared memory.
  float acc[kTile];
#pragma unroll
  for (int i = 0; i < kTile; ++i) acc[i] = float(tid + i);
  float total = 0;
  for (int r = 0; r < kRounds; ++r) {
    if (wg == 0) {
      if (r > 0) grove::mbar_wait(grove::smem_u32(&empty4), (r - 1) & 1); // wg1 read the tile
      grove::named_barrier_sync(1, 128);
      if (tid == 0) stamp = clock64();
#pragma unroll
      for (int i = 0; i < kTile; ++i) tile[i * 128 + tid] = acc[i];
      __syncwarp();
      if (tid % 32 == 0) grove::mbar_arrive(grove::smem_u32(&full4));
#pragma unroll
      for (int i = 0; i < kTile; ++i) acc[i] += 1.0f; // a new value next round
    } else {
      grove::mbar_wait(grove::smem_u32(&full4), r & 1);
      float s = 0;
#pragma unroll
      for (int i = 0; i < kTile; ++i) s += tile[i * 128 + tid - 128];
      total += s;
      grove::named_barrier_sync(2, 128); // every wg1 thread has its values
      if (tid == 128) transfer[r] = clock64() - stamp;
      __syncwarp();
      if (tid % 32 == 0) grove::mbar_arrive(grove::smem_u32(&empty4));
    }
  }
  if (wg == 1) sink[tid - 128] = total;
}

int main() {
  long long *d_one_way, *d_round_trip, *d_transfer;
  float* sink;
  CHECK_CUDA(cudaMalloc(&d_one_way, kRounds * 8));
  CHECK_CUDA(cudaMalloc(&d_round_trip, kRounds * 8));
  CHECK_CUDA(cudaMalloc(&d_transfer, kRounds * 8));
  CHECK_CUDA(cudaMalloc(&sink, 128 * 4));
  for (int rep = 0; rep < 2; ++rep) { // the first launch warms up
    handoff<<<1, 256>>>(d_one_way, d_round_trip, d_transfer, sink);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaDeviceSynchronize());
  }
  std::vector<long long> one_way(kRounds), round_trip(kRounds), transfer(kRounds);
  CHECK_CUDA(cudaMemcpy(one_way.data(), d_one_way, kRounds * 8, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(round_trip.data(), d_round_trip, kRounds * 8, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(transfer.data(), d_transfer, kRounds * 8, cudaMemcpyDeviceToHost));
  emit("cross_role_latency", median(one_way), "cycles", "cross_role_latency",
       "clock64 stamped by the arriving thread (mbarrier.arrive.release, 1 arrival) to try_wait "
       "returning on a thread of the waiting warpgroup (all 128 threads wait); median of 1000");
  emit("cross_role_latency_round_trip_half", median(round_trip) / 2, "cycles", "cross_role_latency",
       "half the round trip on the producer warp: arrive on full, 4 consumer warps released, "
       "each arrives on empty, producer released; median of 1000");
  emit("reg_transfer_latency", median(transfer), "cycles", "reg_transfer_latency",
       "128 threads st.shared 64 floats each (32 KB), 4 warp arrivals, the other warpgroup "
       "released, ld.shared of the tile, bar.sync of the receivers; stamp before the stores to "
       "clock64 after the bar.sync; median of 1000");
  return 0;
}
