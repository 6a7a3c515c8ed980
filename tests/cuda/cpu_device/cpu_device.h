// A CPU stand-in for the parts of an H100 that Grove's printed CUDA uses, so that the code the
// back end prints (kernels and launchers, not kernel IR) runs and is checked on machines without
// a GPU (tests/cuda/cpu_device_test.cpp).
//
// The generated .cu is compiled as C++ against include/ (a grove_sm90.cuh whose wrappers call
// into this file instead of PTX, and small cuda.h / cuda_runtime.h stand-ins). Every CUDA thread
// is a fiber (ucontext); the blocks of one cluster run together, clusters one after another.
// Fibers switch only where a thread waits (mbarrier, named barrier, __syncthreads, warp and
// warpgroup collectives); the order in which they run is shuffled and warps sit rounds out at
// random (seeded: GROVE_CPU_DEVICE_SEED replays one), so that a missing barrier between threads
// of a warpgroup, which the kernel IR emulator cannot see (a warpgroup is one agent there), shows
// as a wrong result. TMA loads move their bytes and signal their mbarriers at issue; a TMA store
// reads its tile at issue or at its thread's wait for it (at random: both are allowed); a wgmma
// reads its shared-memory operands at the warpgroup's first issue and completes (for
// wgmma_wait) at its last. The kernel IR emulator,
// which delays asynchronous work, remains what checks the synchronization of the roles.
//
// The models follow the PTX ISA: WGMMA descriptors (start, LBO, SBO, and the 128-, 64- or 32-byte
// swizzle: address bits 4-6, 4-5 or 4 xor the bits from 7 up), the m64nNk16 accumulator and
// A-operand fragment layouts, TMA tiled copies with zero fill and clipping, mbarrier phases with
// transaction counts, stmatrix.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace grove::cpu {

using u32 = unsigned int;
using u64 = unsigned long long;

struct Coord3 {
  unsigned x = 0, y = 0, z = 0;
};

// SMs the stand-in reports (persistent launchers size their grids by it): few, so that each
// block of a persistent kernel takes several tiles.
inline constexpr int kSms = 4;

// Runs `kernel` over `blocks` blocks of `threads` threads in clusters of `cluster`, each block
// with `smem_bytes` of dynamic shared memory. Returns "" or what went wrong (a deadlock and where
// each thread waits, a TMA copy outside the rules, an arrival on an uninitialized mbarrier).
std::string launch(unsigned blocks, unsigned threads, unsigned cluster, size_t smem_bytes,
                   const std::function<void()>& kernel);
// What the last failed launch reported.
const std::string& last_error();

// The calling thread's CUDA coordinates.
Coord3 thread_idx();
Coord3 block_idx();
Coord3 grid_dim();
Coord3 block_dim();

// Shared memory: addresses are byte offsets into the block's window (as PTX's .shared::cta
// addresses), which starts with the dynamic shared memory, 1024-byte aligned.
unsigned char* dynamic_smem();
u32 smem_addr(const void* p);
// Bytes at `addr` in this block's window (cta < 0) or in cluster block `cta`'s; fails outside it.
unsigned char* smem_at(u32 addr, size_t bytes, int cta = -1);
int cluster_rank();

// Stops the launch with an error (never returns to the calling thread).
[[noreturn]] void fail(const std::string& what);

// Barriers.
void sync_threads();                                // __syncthreads
void named_barrier(u32 id, u32 threads, bool wait); // bar.sync / bar.arrive
void cluster_barrier();                             // barrier.cluster arrive + wait

// mbarriers (state kept beside the shared memory, keyed by address).
void mbar_init(u32 bar, u32 arrivals);
void mbar_arrive(u32 bar, int cta, u32 expect_tx); // cta < 0: this block
void mbar_complete_tx(u32 bar, int cta, u32 bytes);
void mbar_wait(u32 bar, u32 parity);

// Every lane of the warp gives `bytes` (at most 64) from `in`; returns once all 32 have, with
// lane l's bytes at out + l * bytes.
void warp_exchange(const void* in, size_t bytes, void* out);

// TMA tiled copies. `coords` innermost first; mask: blocks of the cluster to multicast to (0:
// this block only).
void tma_load(u32 dst, const void* map, u32 bar, const int* coords, int rank, u32 mask);
void tma_store(const void* map, u32 src, const int* coords, int rank);
void tma_store_commit();
// Waits until at most `pending` of this thread's bulk groups still read shared memory: a store
// the stand-in did not perform at issue reads it here (or when its thread exits).
void tma_store_wait_read(int pending);
// cuTensorMapEncodeTiled's checks and encoding (the fake driver entry point).
int encode_tiled(void* map, int dtype, u32 rank, void* base, const uint64_t* dims,
                 const uint64_t* strides, const uint32_t* box, const uint32_t* elem_strides,
                 int interleave, int swizzle);

// wgmma.mma_async m64nNk(32 bytes): d (this thread's accumulator fragment, N/2 floats) = A · B
// (+ d when scale_d). `a_type`, `b_type`: 0 f16, 1 bf16, 2 e4m3, 3 e5m2. A comes from shared
// memory (a_regs null; desc_a) or from this warp's registers (a_regs: this thread's four).
void wgmma(float* d, int n, int a_type, int b_type, u64 desc_a, const u32* a_regs, u64 desc_b,
           int trans_a, int trans_b, int scale_d);

void wgmma_commit();
// Waits until every wgmma of this thread's groups but the last `pending` has been issued by the
// whole warpgroup (and so has run).
void wgmma_wait(int pending);

// stmatrix.m8n8.x4.b16: this lane's row address and four registers; a warp collective.
void stmatrix_x4(u32 row_addr, const u32* regs);

} // namespace grove::cpu
