// The shared-memory model's 128-byte swizzle against the documented layout.
#include <gtest/gtest.h>

#include "emulator/smem.h"

namespace grove::emu {
namespace {

// Writes each element's logical index through `sw`, reads the slot back in physical order.
std::vector<double> physical(const kir::Kernel& k, kir::Swizzle sw) {
  SmemModel m(k);
  const kir::SmemBuffer& b = k.smem[0];
  Box box;
  box.index = 0;
  box.lo = {0, 0};
  box.hi = b.shape;
  std::vector<double> v(static_cast<size_t>(box.count()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  m.write(box, sw, v);
  return m.read(box, kir::Swizzle::None);
}

kir::Kernel one_buffer(ElemType t, int64_t rows, int64_t cols) {
  kir::Kernel k;
  k.smem = {{"T", t, {rows, cols}, 1, kir::Swizzle::B128, 0}};
  return k;
}

TEST(EmulatorSmem, Swizzle128RowsOf128Bytes) {
  // f16 [16, 64]: chunk c (8 elements) of row r is stored at chunk c ^ (r % 8).
  std::vector<double> p = physical(one_buffer(ElemType::F16, 16, 64), kir::Swizzle::B128);
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t c = 0; c < 64; ++c)
      ASSERT_EQ(p[r * 64 + ((c / 8) ^ (r % 8)) * 8 + c % 8], r * 64 + c) << r << ", " << c;
}

TEST(EmulatorSmem, Swizzle128RowsOf128E4m3) {
  // e4m3 [16, 128]: chunk c (16 one-byte elements) of row r is stored at chunk c ^ (r % 8). The
  // slot holds e4m3 values, exact only for small integers: each element is written as its
  // chunk's number, then as its place in the chunk.
  const kir::Kernel k = one_buffer(ElemType::E4M3, 16, 128);
  for (bool chunk : {true, false}) {
    SmemModel m(k);
    Box box;
    box.index = 0;
    box.lo = {0, 0};
    box.hi = {16, 128};
    std::vector<double> v(16 * 128);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(chunk ? i % 128 / 16 : i % 16);
    m.write(box, kir::Swizzle::B128, v);
    std::vector<double> p = m.read(box, kir::Swizzle::None);
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < 128; ++c)
        ASSERT_EQ(p[r * 128 + ((c / 16) ^ (r % 8)) * 16 + c % 16], chunk ? c / 16 : c % 16)
            << r << ", " << c;
  }
}

TEST(EmulatorSmem, Swizzle128WideRowsSplitIntoSegments) {
  // f32 [8, 64]: 256-byte rows become two [8, 32] column segments, each swizzled.
  std::vector<double> p = physical(one_buffer(ElemType::F32, 8, 64), kir::Swizzle::B128);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 64; ++c) {
      int64_t seg = c / 32, cc = c % 32;
      ASSERT_EQ(p[seg * 8 * 32 + r * 32 + ((cc / 4) ^ (r % 8)) * 4 + cc % 4], r * 64 + c);
    }
}

TEST(EmulatorSmem, NoSwizzleIsRowMajorAndMismatchGarbles) {
  kir::Kernel k = one_buffer(ElemType::F16, 8, 64);
  std::vector<double> p = physical(k, kir::Swizzle::None);
  for (size_t i = 0; i < p.size(); ++i) ASSERT_EQ(p[i], static_cast<double>(i));
  EXPECT_NE(physical(k, kir::Swizzle::B128), p);
}

TEST(EmulatorSmem, SwizzleNeedsWholeKilobytes) {
  kir::Kernel k = one_buffer(ElemType::F16, 4, 64); // 512 bytes
  SmemModel m(k);
  Box box;
  box.index = 0;
  box.lo = {0, 0};
  box.hi = {4, 64};
  EXPECT_THROW(m.read(box, kir::Swizzle::B128), std::runtime_error);
  EXPECT_NO_THROW(m.read(box, kir::Swizzle::None));
}

} // namespace
} // namespace grove::emu
