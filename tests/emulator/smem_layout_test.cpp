// The shared-memory model's swizzles against the documented layouts (kir.h).
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

kir::Kernel one_buffer(ElemType t, int64_t rows, int64_t cols,
                       kir::Swizzle sw = kir::Swizzle::B128) {
  kir::Kernel k;
  k.smem = {{"T", t, {rows, cols}, 1, sw, 0}};
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

TEST(EmulatorSmem, Swizzle64RowsOf64Bytes) {
  // f16 [16, 32] (BK = 32): two rows share a 128-byte line, so chunk c (8 elements) of row r is
  // stored at chunk c ^ ((r / 2) % 4).
  std::vector<double> p =
      physical(one_buffer(ElemType::F16, 16, 32, kir::Swizzle::B64), kir::Swizzle::B64);
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t c = 0; c < 32; ++c)
      ASSERT_EQ(p[r * 32 + ((c / 8) ^ ((r / 2) % 4)) * 8 + c % 8], r * 32 + c) << r << ", " << c;
}

TEST(EmulatorSmem, Swizzle32RowsOf32BytesAndWideRowsInPanels) {
  // f16 [16, 16] (BK = 16): chunk c of row r at chunk c ^ ((r / 4) % 2).
  std::vector<double> p =
      physical(one_buffer(ElemType::F16, 16, 16, kir::Swizzle::B32), kir::Swizzle::B32);
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t c = 0; c < 16; ++c)
      ASSERT_EQ(p[r * 16 + ((c / 8) ^ ((r / 4) % 2)) * 8 + c % 8], r * 16 + c) << r << ", " << c;
  // f16 [8, 48] in the 32-byte swizzle: three [8, 16] panels, each swizzled.
  p = physical(one_buffer(ElemType::F16, 8, 48, kir::Swizzle::B32), kir::Swizzle::B32);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 48; ++c) {
      int64_t panel = c / 16, cc = c % 16;
      ASSERT_EQ(p[panel * 8 * 16 + r * 16 + ((cc / 8) ^ ((r / 4) % 2)) * 8 + cc % 8], r * 48 + c);
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
  // 4 rows of 128 bytes: a whole 64-byte atom (8 rows of 64), not a 128-byte one; 64-byte panels.
  EXPECT_NO_THROW(m.read(box, kir::Swizzle::B64));
}

} // namespace
} // namespace grove::emu
