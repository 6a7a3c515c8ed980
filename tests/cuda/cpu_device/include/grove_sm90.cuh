// grove_sm90.cuh for the CPU stand-in (../cpu_device.h): the same functions as
// src/cuda/grove_sm90.cuh, each calling the stand-in instead of issuing PTX, so printed kernels
// compile as C++ and run on the CPU. The real header's portable part (types, cdiv, the swizzle
// offsets the printed code computes addresses with, wgmma_desc) is included as is.
#pragma once
#include <cmath>
#include <cstring>

#include GROVE_REAL_DEVICE_HEADER
#include "cpu_device.h"
#include "support/numeric.h"

// CUDA's spellings, for the printed kernel.
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __align__(n) alignas(n)
// threadIdx.x and the rest, as objects (not macros: a launch config has members named gridDim).
template <int Which> struct GroveCpuX {
  operator unsigned() const {
    return Which == 0   ? ::grove::cpu::thread_idx().x
           : Which == 1 ? ::grove::cpu::block_idx().x
           : Which == 2 ? ::grove::cpu::grid_dim().x
                        : ::grove::cpu::block_dim().x;
  }
};
template <int Which> struct GroveCpuCoord { GroveCpuX<Which> x; };
inline constexpr GroveCpuCoord<0> threadIdx{};
inline constexpr GroveCpuCoord<1> blockIdx{};
inline constexpr GroveCpuCoord<2> gridDim{};
inline constexpr GroveCpuCoord<3> blockDim{};
inline void __syncthreads() {
  ::grove::cpu::sync_threads();
}

namespace grove {

inline u32 smem_u32(const void* p) {
  return cpu::smem_addr(p);
}
inline unsigned char* dynamic_smem() {
  return cpu::dynamic_smem();
}

inline float f16_to_f32(u16 h) {
  return f16_bits_to_f32(h);
}
inline float bf16_to_f32(u16 h) {
  return bf16_bits_to_f32(h);
}
inline u16 f32_to_f16(float f) {
  return f32_to_f16_bits(f);
}
inline u16 f32_to_bf16(float f) {
  return f32_to_bf16_bits(f);
}
inline float e4m3_to_f32(unsigned char b) {
  return e4m3_bits_to_f32(b);
}
inline float e5m2_to_f32(unsigned char b) {
  return e5m2_bits_to_f32(b);
}
inline u16 pack_e4m3x2(float lo, float hi) {
  return static_cast<u16>(f32_to_e4m3_bits(lo) | (f32_to_e4m3_bits(hi) << 8));
}
inline u16 pack_e5m2x2(float lo, float hi) {
  return static_cast<u16>(f32_to_e5m2_bits(lo) | (f32_to_e5m2_bits(hi) << 8));
}
inline unsigned char f32_to_e4m3(float f) {
  return f32_to_e4m3_bits(f);
}
inline unsigned char f32_to_e5m2(float f) {
  return f32_to_e5m2_bits(f);
}
inline u32 pack_f16x2(float lo, float hi) {
  return u32(f32_to_f16_bits(lo)) | (u32(f32_to_f16_bits(hi)) << 16);
}
inline u32 pack_bf16x2(float lo, float hi) {
  return u32(f32_to_bf16_bits(lo)) | (u32(f32_to_bf16_bits(hi)) << 16);
}
inline float f16x2_lo(u32 v) {
  return f16_bits_to_f32(u16(v & 0xffffu));
}
inline float f16x2_hi(u32 v) {
  return f16_bits_to_f32(u16(v >> 16));
}
inline float bf16x2_lo(u32 v) {
  return bf16_bits_to_f32(u16(v & 0xffffu));
}
inline float bf16x2_hi(u32 v) {
  return bf16_bits_to_f32(u16(v >> 16));
}
inline float inf() {
  return INFINITY;
}
inline float exp2_approx(float x) {
  return std::exp2(x);
}

inline float shfl_xor(float v, unsigned mask) {
  float all[32];
  cpu::warp_exchange(&v, sizeof v, all);
  return all[(cpu::thread_idx().x % 32) ^ mask];
}
inline u32 shfl_idx(u32 v, int lane) {
  u32 all[32];
  cpu::warp_exchange(&v, sizeof v, all);
  return all[lane % 32];
}
inline float quad_sum(float v) {
  v += shfl_xor(v, 1);
  v += shfl_xor(v, 2);
  return v;
}
inline float quad_max(float v) {
  v = std::fmax(v, shfl_xor(v, 1));
  v = std::fmax(v, shfl_xor(v, 2));
  return v;
}
inline void fence_reg(float&) {}
inline void fence_reg(u32&) {}

inline void mbar_init(u32 bar, u32 arrivals) {
  cpu::mbar_init(bar, arrivals);
}
inline void fence_mbarrier_init() {}
inline void mbar_arrive(u32 bar) {
  cpu::mbar_arrive(bar, -1, 0);
}
inline void mbar_arrive_cluster(u32 bar, u32 cta) {
  cpu::mbar_arrive(bar, static_cast<int>(cta), 0);
}
inline u32 cluster_group(u32 rank, u32 s0, u32 s1, u32 group) {
  u32 mask = 0;
  for (u32 r = 0; r < s0 * s1; ++r)
    if (((group & 1u) || r % s0 == rank % s0) && ((group & 2u) || r / s0 == rank / s0))
      mask |= 1u << r;
  return mask;
}
inline void cluster_sync() {
  cpu::cluster_barrier();
}
inline void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
  cpu::mbar_arrive(bar, -1, bytes);
}
inline void mbar_wait(u32 bar, u32 parity) {
  cpu::mbar_wait(bar, parity);
}

inline void stmatrix_x4(u32 row_addr, u32 r0, u32 r1, u32 r2, u32 r3) {
  const u32 r[4] = {r0, r1, r2, r3};
  cpu::stmatrix_x4(row_addr, r);
}
inline void fence_proxy_async() {}
inline void named_barrier_sync(u32 id, u32 threads) {
  cpu::named_barrier(id, threads, true);
}
inline void named_barrier_arrive(u32 id, u32 threads) {
  cpu::named_barrier(id, threads, false);
}
template <u32 Regs> inline void setmaxnreg_inc() {
  static_assert(Regs >= 24 && Regs <= 256 && Regs % 8 == 0, "setmaxnreg: 24..256, multiple of 8");
}
template <u32 Regs> inline void setmaxnreg_dec() {
  static_assert(Regs >= 24 && Regs <= 256 && Regs % 8 == 0, "setmaxnreg: 24..256, multiple of 8");
}

inline void tma_prefetch_map(const TensorMap*) {}
inline void tma_load_2d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1) {
  const int c[] = {c0, c1};
  cpu::tma_load(dst, map, bar, c, 2, 0);
}
inline void tma_load_3d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1, int c2) {
  const int c[] = {c0, c1, c2};
  cpu::tma_load(dst, map, bar, c, 3, 0);
}
inline void tma_load_4d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1, int c2, int c3) {
  const int c[] = {c0, c1, c2, c3};
  cpu::tma_load(dst, map, bar, c, 4, 0);
}
inline void tma_load_2d_multicast(u32 dst, const TensorMap* map, u32 bar, unsigned short mask,
                                  int c0, int c1) {
  const int c[] = {c0, c1};
  cpu::tma_load(dst, map, bar, c, 2, mask);
}
inline void tma_load_3d_multicast(u32 dst, const TensorMap* map, u32 bar, unsigned short mask,
                                  int c0, int c1, int c2) {
  const int c[] = {c0, c1, c2};
  cpu::tma_load(dst, map, bar, c, 3, mask);
}
inline void tma_store_2d(const TensorMap* map, u32 src, int c0, int c1) {
  const int c[] = {c0, c1};
  cpu::tma_store(map, src, c, 2);
}
inline void tma_store_3d(const TensorMap* map, u32 src, int c0, int c1, int c2) {
  const int c[] = {c0, c1, c2};
  cpu::tma_store(map, src, c, 3);
}
inline void tma_store_4d(const TensorMap* map, u32 src, int c0, int c1, int c2, int c3) {
  const int c[] = {c0, c1, c2, c3};
  cpu::tma_store(map, src, c, 4);
}
inline void tma_store_commit() {
  cpu::tma_store_commit();
}
template <int Pending> inline void tma_store_wait_read() {
  cpu::tma_store_wait_read(Pending);
}

inline void wgmma_fence() {}
inline void wgmma_commit() {
  cpu::wgmma_commit();
}
template <int Pending> inline void wgmma_wait() {
  cpu::wgmma_wait(Pending);
}

// wgmma_m64n<N>k16_<T>_ss / _rs and wgmma_m64n<N>k32_<TA>_<TB>_ss / _rs, as grove_sm90_wgmma.inc
// names them (operand types: 0 f16, 1 bf16, 2 e4m3, 3 e5m2).
#define GROVE_CPU_WGMMA_16(N, T, code)                                                             \
  template <int TransA, int TransB, int ScaleD = 1>                                                \
  inline void wgmma_m64n##N##k16_##T##_ss(float* d, u64 desc_a, u64 desc_b) {                      \
    cpu::wgmma(d, N, code, code, desc_a, nullptr, desc_b, TransA, TransB, ScaleD);                 \
  }                                                                                                \
  template <int TransB, int ScaleD = 1>                                                            \
  inline void wgmma_m64n##N##k16_##T##_rs(float* d, const u32* a, u64 desc_b) {                    \
    cpu::wgmma(d, N, code, code, 0, a, desc_b, 0, TransB, ScaleD);                                 \
  }
#define GROVE_CPU_WGMMA_8(N, TA, TB, ca, cb)                                                       \
  template <int TransA, int TransB, int ScaleD = 1>                                                \
  inline void wgmma_m64n##N##k32_##TA##_##TB##_ss(float* d, u64 desc_a, u64 desc_b) {              \
    static_assert(TransA == 0 && TransB == 0, "wgmma reads 8-bit operands K-major only");          \
    cpu::wgmma(d, N, ca, cb, desc_a, nullptr, desc_b, 0, 0, ScaleD);                               \
  }                                                                                                \
  template <int TransB, int ScaleD = 1>                                                            \
  inline void wgmma_m64n##N##k32_##TA##_##TB##_rs(float* d, const u32* a, u64 desc_b) {            \
    static_assert(TransB == 0, "wgmma reads 8-bit operands K-major only");                         \
    cpu::wgmma(d, N, ca, cb, 0, a, desc_b, 0, 0, ScaleD);                                          \
  }
#define GROVE_CPU_WGMMA_N(N)                                                                       \
  GROVE_CPU_WGMMA_16(N, f16, 0)                                                                    \
  GROVE_CPU_WGMMA_16(N, bf16, 1)                                                                   \
  GROVE_CPU_WGMMA_8(N, e4m3, e4m3, 2, 2)                                                           \
  GROVE_CPU_WGMMA_8(N, e4m3, e5m2, 2, 3)                                                           \
  GROVE_CPU_WGMMA_8(N, e5m2, e4m3, 3, 2)                                                           \
  GROVE_CPU_WGMMA_8(N, e5m2, e5m2, 3, 3)
GROVE_CPU_WGMMA_N(8)
GROVE_CPU_WGMMA_N(16)
GROVE_CPU_WGMMA_N(32)
GROVE_CPU_WGMMA_N(64)
GROVE_CPU_WGMMA_N(96)
GROVE_CPU_WGMMA_N(128)
GROVE_CPU_WGMMA_N(192)
GROVE_CPU_WGMMA_N(256)
#undef GROVE_CPU_WGMMA_N
#undef GROVE_CPU_WGMMA_8
#undef GROVE_CPU_WGMMA_16

} // namespace grove
