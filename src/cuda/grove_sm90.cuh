// grove_sm90.cuh: the device side of kernels Grove prints for Hopper (sm_90a).
//
// Thin, documented wrappers over the PTX instructions kernel IR names: TMA tensor copies,
// mbarriers, proxy fences, WGMMA with shared-memory matrix descriptors, stmatrix, named barriers
// and setmaxnreg; plus the shared-memory layout Grove uses for 128-byte-swizzled tiles and the
// conversions and quad reductions that leaf statements need. No includes: NVRTC compiles it as
// is, and nvcc compiles a kernel that uses it in about a second.
//
// Layout of a swizzled tile (a SmemBuffer with Swizzle::B128, B64 or B32: span W = 128, 64 or 32
// bytes). A slot of shape [..., rows, cols] is seen as a matrix of `rows` (the product of all
// leading dimensions) by `cols`. Its columns are cut into panels W bytes wide (64, 32 or 16
// elements of 16 bits); panel p holds W bytes of every row, row r at r * W, and panels follow each
// other (panel p starts at p * rows * W bytes). Then the 16-byte chunk bits of each byte offset
// (bits 4 and up, log2(W / 16) of them) are XORed with the bits from 7 up: for W = 128, chunk c of
// row r is stored at chunk c ^ (r % 8); for 64, at c ^ ((r / 2) % 4); for 32, at c ^ ((r / 4) % 2).
// This is what a TMA copy with CU_TENSOR_MAP_SWIZZLE_<W>B writes for a box one panel wide, and
// what a WGMMA descriptor with that swizzle mode reads: K-major operands advance along K by moving
// the start address (32 bytes per k16 step inside a panel, then to the next panel); M/N-major
// operands use LBO = the panel stride. Slots start on the 8-row atom (8 W bytes).
//
// Everything takes shared-memory addresses as 32-bit `u32` (as PTX's .shared::cta state space
// does); smem_u32(ptr) converts a generic pointer into shared memory.
#pragma once

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ < 900 || !defined(__CUDA_ARCH_FEAT_SM90_ALL))
#error "grove_sm90.cuh needs sm_90a: compile with -gencode arch=compute_90a,code=sm_90a"
#endif

namespace grove {

using u16 = unsigned short;
using u32 = unsigned int;
using u64 = unsigned long long;

// The driver's CUtensorMap: 128 opaque bytes, 64-byte aligned. Declared here so device code
// needs no cuda.h; the host encodes a CUtensorMap and copies its bytes into one of these.
struct alignas(64) TensorMap {
  u64 opaque[16];
};

// ---------------------------------------------------------------------------------------------
// Integer helpers shared by host and device code (problem sizes, grids, offsets); a plain C++
// compiler sees them too.

#ifdef __CUDACC__
#define GROVE_HD __host__ __device__
#else
#define GROVE_HD
#endif

GROVE_HD constexpr int cdiv(int a, int b) {
  return (a + b - 1) / b;
}
GROVE_HD constexpr int imin(int a, int b) {
  return a < b ? a : b;
}
GROVE_HD constexpr int imax(int a, int b) {
  return a > b ? a : b;
}

// Byte offset of element (row, col_bytes / elem_bytes) in a tile swizzled over W bytes, of `rows`
// rows (see the layout above). `sw_offset` is where the byte lives; `sw_start` is the address a
// TMA copy or a WGMMA descriptor starts from (the hardware applies the swizzle itself, so the
// chunk is not permuted).
template <u32 W> GROVE_HD constexpr u32 sw_start(u32 row, u32 col_bytes, u32 rows) {
  return (col_bytes / W) * rows * W + row * W + col_bytes % W;
}
template <u32 W> GROVE_HD constexpr u32 sw_offset(u32 row, u32 col_bytes, u32 rows) {
  static_assert(W == 32 || W == 64 || W == 128, "the swizzle spans are 32, 64 and 128 bytes");
  const u32 o = sw_start<W>(row, col_bytes, rows);
  return o ^ (((o >> 7) & (W / 16u - 1u)) << 4);
}

// A WGMMA descriptor names a tile in shared memory: start address, leading- and stride-dimension
// byte offsets (LBO, SBO) and the swizzle mode (1, 2, 3 for 128, 64, 32 bytes). For a tile
// swizzled over W bytes:
//   K-major operand (rows of the M or N dimension, K contiguous): SBO = 8 W (8 rows of W bytes),
//     LBO unused (16); the start moves 32 bytes per k step (16 f16 or 32 8-bit elements).
//   M/N-major operand (rows of K, M or N contiguous): SBO = 8 W (8 rows of K), LBO = the stride
//     between W-byte panels of M or N.
// Plain arithmetic, so host code (the CPU stand-in) builds the same bits.
template <u32 W> GROVE_HD constexpr u64 wgmma_desc(u32 start, u32 lbo_bytes, u32 sbo_bytes) {
  static_assert(W == 32 || W == 64 || W == 128, "the swizzle spans are 32, 64 and 128 bytes");
  constexpr u64 mode = W == 128 ? 1 : W == 64 ? 2 : 3;
  return u64((start & 0x3ffffu) >> 4) | (u64((lbo_bytes >> 4) & 0x3fffu) << 16) |
         (u64((sbo_bytes >> 4) & 0x3fffu) << 32) | (mode << 62);
}

#ifdef __CUDACC__ // device code below; a host-only compiler sees just the helpers above

// ---------------------------------------------------------------------------------------------
// Shared memory addresses.

__device__ __forceinline__ u32 smem_u32(const void* p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}

// Rounds a pointer into dynamic shared memory up to 1024 bytes (the 128B swizzle atom); the
// launcher asks for 1024 bytes more than the kernel's carve-up so the rounding always fits.
__device__ __forceinline__ unsigned char* align_1024(unsigned char* p) {
  u32 a = smem_u32(p);
  return p + ((1024u - (a & 1023u)) & 1023u);
}
// The block's dynamic shared memory, from a 1024-byte boundary: every buffer and mbarrier of a
// Grove kernel is carved out of it at a fixed offset.
__device__ __forceinline__ unsigned char* dynamic_smem() {
  extern __shared__ __align__(1024) unsigned char grove_smem_raw[];
  return align_1024(grove_smem_raw);
}

// ---------------------------------------------------------------------------------------------
// Element conversions (16-bit values travel as raw bits in u16 / packed pairs in u32).

__device__ __forceinline__ float f16_to_f32(u16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
// (cvt, not a shift: ptxas then treats a bf16 round trip as it does an f16 one; with the shift,
// bf16 attention's P rounding cost the registers that keep its wgmmas in flight, C7511.)
__device__ __forceinline__ float bf16_to_f32(u16 h) {
  float f;
  asm("cvt.f32.bf16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ u16 f32_to_f16(float f) {
  u16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ u16 f32_to_bf16(float f) {
  u16 h;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
// e4m3 and e5m2 (one byte) through the x2 forms of cvt (sm_89 and later), the byte in the low
// half: to f32 exactly; from f32 rounded to nearest even and saturated at the largest finite
// value (satfinite: 448, 57344), as the CPU's round_to does.
__device__ __forceinline__ float e4m3_to_f32(unsigned char b) {
  u32 pair;
  asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(pair) : "h"(u16(b)));
  return f16_to_f32(u16(pair & 0xffffu));
}
__device__ __forceinline__ float e5m2_to_f32(unsigned char b) {
  u32 pair;
  asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(pair) : "h"(u16(b)));
  return f16_to_f32(u16(pair & 0xffffu));
}
// Two floats to two adjacent 8-bit bytes, `lo` at the lower address.
__device__ __forceinline__ u16 pack_e4m3x2(float lo, float hi) {
  u16 pair;
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(hi), "f"(lo));
  return pair;
}
__device__ __forceinline__ u16 pack_e5m2x2(float lo, float hi) {
  u16 pair;
  asm("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(hi), "f"(lo));
  return pair;
}
__device__ __forceinline__ unsigned char f32_to_e4m3(float f) {
  return static_cast<unsigned char>(pack_e4m3x2(f, 0.0f) & 0xffu);
}
__device__ __forceinline__ unsigned char f32_to_e5m2(float f) {
  return static_cast<unsigned char>(pack_e5m2x2(f, 0.0f) & 0xffu);
}
// Two floats to a packed pair, `lo` in the low half (the element with the smaller column).
__device__ __forceinline__ u32 pack_f16x2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
__device__ __forceinline__ u32 pack_bf16x2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
__device__ __forceinline__ float f16x2_lo(u32 v) {
  return f16_to_f32(u16(v & 0xffffu));
}
__device__ __forceinline__ float f16x2_hi(u32 v) {
  return f16_to_f32(u16(v >> 16));
}
__device__ __forceinline__ float bf16x2_lo(u32 v) {
  return __uint_as_float(v << 16);
}
__device__ __forceinline__ float bf16x2_hi(u32 v) {
  return __uint_as_float(v & 0xffff0000u);
}

__device__ __forceinline__ float inf() {
  return __int_as_float(0x7f800000);
}
// 2^x with the SFU (ex2.approx.ftz: ~2 ulp, flushes subnormals; exp2(-inf) = 0).
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Sum / max over the four lanes of a quad (the threads that share a row of a WGMMA fragment).
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  v += __shfl_xor_sync(0xffffffffu, v, 2);
  return v;
}
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
  return v;
}
// The word lane `lane` of the warp passes in (every lane of the warp takes part).
__device__ __forceinline__ u32 shfl_idx(u32 v, int lane) {
  return __shfl_sync(0xffffffffu, v, lane);
}

// Keeps the compiler from moving reads or writes of a register across this point: used on
// WGMMA accumulators and register A operands after wgmma_wait, because the asynchronous
// instruction owns them until then although the compiler believes it wrote them at issue.
__device__ __forceinline__ void fence_reg(float& r) {
  asm volatile("" : "+f"(r)::"memory");
}
__device__ __forceinline__ void fence_reg(u32& r) {
  asm volatile("" : "+r"(r)::"memory");
}

// ---------------------------------------------------------------------------------------------
// mbarriers (64-bit, in shared memory).

// Initializes the barrier to expect `arrivals` arrivals per phase; it starts in phase 0.
__device__ __forceinline__ void mbar_init(u32 bar, u32 arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(arrivals) : "memory");
}
// Makes initialized barriers visible to other threads and to the async proxy (TMA); follow it
// with __syncthreads().
__device__ __forceinline__ void fence_mbarrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}
// One arrival.
__device__ __forceinline__ void mbar_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}
// One arrival on the mbarrier at `bar`'s offset in block `cta` of the cluster (mapa gives its
// address in the cluster's shared memory window). Release at CTA scope (the default), as CUTLASS's
// ClusterBarrier::arrive: what the arrival orders are the wgmma's reads of the slot, which
// wgmma.wait_group has already completed; .release.cluster would put a GPU-wide memory barrier
// (MEMBAR.ALL.GPU in SASS) in front of every release in the main loop.
__device__ __forceinline__ void mbar_arrive_cluster(u32 bar, u32 cta) {
  asm volatile("{\n\t.reg .b32 remote;\n\t"
               "mapa.shared::cluster.u32 remote, %0, %1;\n\t"
               "mbarrier.arrive.shared::cluster.b64 _, [remote];\n\t}" ::"r"(bar),
               "r"(cta)
               : "memory");
}
// The blocks of a cluster of s0 x s1 (rank r = r0 + s0 * r1) that agree with block `rank` along
// every dimension not in `group` (bit 0: r0, bit 1: r1), as a mask (bit r: rank r). The loop
// folds away: every argument but `rank` is a literal where the kernels call it.
__device__ __forceinline__ u32 cluster_group(u32 rank, u32 s0, u32 s1, u32 group) {
  u32 mask = 0;
#pragma unroll
  for (u32 r = 0; r < s0 * s1; ++r)
    if (((group & 1u) || r % s0 == rank % s0) && ((group & 2u) || r / s0 == rank / s0))
      mask |= 1u << r;
  return mask;
}
// Every non-exited thread of every block of the cluster arrives, then waits for the others
// (release/acquire: what a block wrote before is visible to the others after).
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\n\t"
               "barrier.cluster.wait.acquire.aligned;" ::
                   : "memory");
}
// One arrival that also raises the phase's expected transaction count by `bytes` (the bytes TMA
// copies will deliver with complete_tx before the phase can complete).
__device__ __forceinline__ void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;" ::"r"(bar),
               "r"(bytes)
               : "memory");
}
// True once the phase with parity `parity` has completed (a fresh barrier is in phase 0, so
// parity 1 counts as completed at once). May return false spuriously after a time limit.
__device__ __forceinline__ bool mbar_try_wait(u32 bar, u32 parity) {
  u32 done;
  asm volatile("{\n"
               "  .reg .pred p;\n"
               "  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 p, [%1], %2;\n"
               "  selp.u32 %0, 1, 0, p;\n"
               "}"
               : "=r"(done)
               : "r"(bar), "r"(parity)
               : "memory");
  return done != 0;
}
// With GROVE_HANG_TRAP (the runtime's checked runs: `grove run --gpu`), a wait that has not
// succeeded for this many SM clock cycles (about 10 s) is taken for a hang (a missing arrive, a
// transaction count that never completes) and the thread traps, so the launch fails with an error
// instead of never returning. Off in timed builds: ptxas keeps registers for a trap (the GEMM
// consumers spill 256 bytes a thread with it, with or without the clock; `grove compile` shows
// it). (No printf: a call in a kernel that issues wgmma makes ptxas serialize the wgmmas and
// ignore setmaxnreg.)
constexpr long long kHangCycles = 20000000000LL;
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
#ifdef GROVE_HANG_TRAP
  if (mbar_try_wait(bar, parity)) return;
  const long long start = clock64();
  while (!mbar_try_wait(bar, parity))
    if (clock64() - start > kHangCycles) __trap();
#else
  while (!mbar_try_wait(bar, parity)) {
  }
#endif
}

// ---------------------------------------------------------------------------------------------
// Proxy fences and barriers.

// Stores four 8x8 matrices of 16-bit elements, held by a warp in the MMA fragment layout, into
// shared memory: in matrix i, lane l holds row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1, packed
// in r_i (low half first); lane l gives `row_addr`, the address of row l % 8 of matrix l / 8 (16
// contiguous, 16-byte-aligned bytes, as a swizzled tile keeps them). One instruction where
// 32-bit stores need four: the epilogue's accumulator-to-staging-tile copy.
__device__ __forceinline__ void stmatrix_x4(u32 row_addr, u32 r0, u32 r1, u32 r2, u32 r3) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};" ::"r"(row_addr),
               "r"(r0), "r"(r1), "r"(r2), "r"(r3)
               : "memory");
}

// Orders this thread's earlier generic-proxy writes to shared memory (st.shared, stmatrix)
// before later async-proxy accesses (TMA, WGMMA operand reads) once a barrier joins them.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}
// bar.sync on named barrier `id` (1..15; 0 is __syncthreads) for `threads` threads (a multiple
// of 32).
__device__ __forceinline__ void named_barrier_sync(u32 id, u32 threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}
// bar.arrive: counts this warp's threads at barrier `id` without waiting (the producer side of a
// hand-off to warps that bar.sync on it with the same count).
__device__ __forceinline__ void named_barrier_arrive(u32 id, u32 threads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

// Changes this warpgroup's registers per thread (24..256, a multiple of 8). Takes effect only in
// kernels with a register cap at entry (__launch_bounds__(threads, 1)); every warp of the
// warpgroup must execute it.
template <u32 Regs> __device__ __forceinline__ void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(Regs));
}
template <u32 Regs> __device__ __forceinline__ void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(Regs));
}

// ---------------------------------------------------------------------------------------------
// TMA (cp.async.bulk.tensor). Coordinates are element indices, innermost dimension first; boxes
// reaching outside the tensor are zero-filled on load and clipped on store. `map` is the address
// of a `const __grid_constant__ TensorMap` kernel parameter.

__device__ __forceinline__ void tma_prefetch_map(const TensorMap* map) {
  asm volatile("prefetch.tensormap [%0];" ::"l"(map) : "memory");
}

// Global -> shared; the copy's bytes complete transactions on mbarrier `bar`.
__device__ __forceinline__ void tma_load_2d(u32 dst, const TensorMap* map, u32 bar, int c0,
                                            int c1) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%2, %3}], [%4];" ::"r"(dst),
               "l"(map), "r"(c0), "r"(c1), "r"(bar)
               : "memory");
}
__device__ __forceinline__ void tma_load_3d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1,
                                            int c2) {
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(dst),
               "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
               : "memory");
}
__device__ __forceinline__ void tma_load_4d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1,
                                            int c2, int c3) {
  asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%2, %3, %4, %5}], [%6];" ::"r"(dst),
               "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
               : "memory");
}

// Global -> shared of every block in `mask` (bit r: cluster rank r), at the same shared-memory
// offset in each; the bytes complete transactions on the mbarrier at `bar`'s offset in each.
__device__ __forceinline__ void tma_load_2d_multicast(u32 dst, const TensorMap* map, u32 bar,
                                                      unsigned short mask, int c0, int c1) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               ".multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(dst),
               "l"(map), "r"(c0), "r"(c1), "r"(bar), "h"(mask)
               : "memory");
}
__device__ __forceinline__ void tma_load_3d_multicast(u32 dst, const TensorMap* map, u32 bar,
                                                      unsigned short mask, int c0, int c1, int c2) {
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
               ".multicast::cluster [%0], [%1, {%2, %3, %4}], [%5], %6;" ::"r"(dst),
               "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(bar), "h"(mask)
               : "memory");
}

// Shared -> global, as part of this thread's current bulk group.
__device__ __forceinline__ void tma_store_2d(const TensorMap* map, u32 src, int c0, int c1) {
  asm volatile(
      "cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group [%0, {%2, %3}], [%1];" ::"l"(map),
      "r"(src), "r"(c0), "r"(c1)
      : "memory");
}
__device__ __forceinline__ void tma_store_3d(const TensorMap* map, u32 src, int c0, int c1,
                                             int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.global.shared::cta.tile.bulk_group [%0, {%2, %3, %4}], [%1];" ::"l"(
          map),
      "r"(src), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
}
__device__ __forceinline__ void tma_store_4d(const TensorMap* map, u32 src, int c0, int c1, int c2,
                                             int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.global.shared::cta.tile.bulk_group [%0, {%2, %3, %4, %5}], [%1];" ::
          "l"(map),
      "r"(src), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
      : "memory");
}
// Closes the current bulk group of TMA stores.
__device__ __forceinline__ void tma_store_commit() {
  asm volatile("cp.async.bulk.commit_group;" ::: "memory");
}
// Waits until at most `Pending` bulk groups still read their shared-memory source.
template <int Pending> __device__ __forceinline__ void tma_store_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read %0;" ::"n"(Pending) : "memory");
}

// ---------------------------------------------------------------------------------------------
// WGMMA: the instructions and their groups (descriptors are built by wgmma_desc above).

// Orders earlier register and shared-memory writes before the wgmma instructions that read them.
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
}
// Closes the current group of wgmma instructions.
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
}
// Waits until at most `Pending` wgmma groups of this warpgroup are still running.
template <int Pending> __device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(Pending) : "memory");
}

#include "grove_sm90_wgmma.inc"

#define GROVE_DEVICE __device__ __forceinline__
#define GROVE_UNROLL _Pragma("unroll")
#else
// (The CPU stand-in for the GPU defines these, after this header, and runs fp8_afrag below.)
inline u32 shfl_idx(u32 v, int lane);
inline u16 pack_e4m3x2(float lo, float hi);
inline u16 pack_e5m2x2(float lo, float hi);
#define GROVE_DEVICE inline
#define GROVE_UNROLL
#endif // __CUDACC__

// ---------------------------------------------------------------------------------------------
// An 8-bit A operand from registers. A 64xC tile the warpgroup holds in the accumulator layout
// (`v`: C/2 floats a thread; thread q of a quad has columns 8j + 2q + {0, 1} of rows r and
// r + 8; `lane` is the thread's lane) becomes the A registers of m64nNk32 (`a`: C/8 words a thread,
// four a k32 step: rows r and r + 8 at columns 4q..4q+3, then at 16 + 4q..16 + 4q+3, a byte a
// column, PTX ISA "Register Fragments" for wgmma .m64nNk32). Thread q takes columns 4q..4q+3 from
// quad threads 2(q%2) and 2(q%2) + 1, two each: each source packs what its two readers need into
// one word per reader, and two shuffles a row half and k32 step trade them (FlashAttention-3 does
// this for its FP8 P; the register A saves P's round trip through shared memory and the barriers
// around it).
template <bool E5M2, int C> GROVE_DEVICE void fp8_afrag(const float* v, u32* a, int lane) {
  static_assert(C % 32 == 0, "an 8-bit A operand is k32 steps wide");
  const int q = lane % 4, quad = lane - q;
  // The two sources, even then odd: the first shuffle reads the one whose word for this reader
  // it passes first (an even source passes its word for readers 0 and 1 first).
  const int first = quad + 2 * (q % 2) + q / 2, second = quad + 2 * (q % 2) + 1 - q / 2;
  GROVE_UNROLL
  for (int ks = 0; ks < C / 32; ++ks) {
    GROVE_UNROLL
    for (int rh = 0; rh < 2; ++rh) {
      u32 pair[4]; // columns 8j + 2q + {0, 1} of this k32 step, two bytes each
      GROVE_UNROLL
      for (int j = 0; j < 4; ++j) {
        const float* x = v + (4 * ks + j) * 4 + rh * 2;
        pair[j] = E5M2 ? pack_e5m2x2(x[0], x[1]) : pack_e4m3x2(x[0], x[1]);
      }
      // The word for readers q / 2 == m: columns of blocks m and 2 + m.
      const u32 word0 = pair[0] | (pair[2] << 16), word1 = pair[1] | (pair[3] << 16);
      const u32 r0 = shfl_idx(q % 2 ? word1 : word0, first);
      const u32 r1 = shfl_idx(q % 2 ? word0 : word1, second);
      const u32 even = q / 2 ? r1 : r0, odd = q / 2 ? r0 : r1; // from the even, odd source
      a[4 * ks + rh] = (even & 0xffffu) | (odd << 16);
      a[4 * ks + 2 + rh] = (even >> 16) | (odd & 0xffff0000u);
    }
  }
}
#undef GROVE_DEVICE
#undef GROVE_UNROLL

} // namespace grove
