#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "support/numeric.h"

using namespace grove;

TEST(Numeric, F16KnownValues) {
  EXPECT_EQ(f32_to_f16_bits(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16_bits(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7bff);                         // largest finite
  EXPECT_EQ(f32_to_f16_bits(65520.0f), 0x7c00);                         // rounds up to infinity
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -24)), 0x0001);            // smallest subnormal
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -26)), 0x0000);            // below half of it: zero
  EXPECT_EQ(f32_to_f16_bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);     // tie: to even (down)
  EXPECT_EQ(f32_to_f16_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02); // tie: to even (up)
  EXPECT_TRUE(std::isnan(f16_bits_to_f32(f32_to_f16_bits(NAN))));
}

// Every f16 value converts to f32 and back unchanged, and f32 rounding picks the nearest f16.
TEST(Numeric, F16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_bits_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16_bits(f), h) << std::hex << h;
  }
  for (uint32_t h = 0; h < 0x7bff; ++h) { // positive finite: the midpoint goes to the even one
    float lo = f16_bits_to_f32(static_cast<uint16_t>(h)),
          hi = f16_bits_to_f32(static_cast<uint16_t>(h + 1));
    float mid = (lo + hi) / 2; // exact in f32
    ASSERT_EQ(f32_to_f16_bits(mid), (h % 2 == 0) ? h : h + 1) << std::hex << h;
    ASSERT_EQ(f32_to_f16_bits(std::nextafter(mid, lo)), h);
    ASSERT_EQ(f32_to_f16_bits(std::nextafter(mid, hi)), h + 1);
  }
}

TEST(Numeric, Bf16) {
  EXPECT_EQ(f32_to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(bf16_bits_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even keeps 1.
  EXPECT_EQ(f32_to_bf16_bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(f32_to_bf16_bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  for (uint32_t h = 0; h < 0x7f80; h += 7)
    ASSERT_EQ(f32_to_bf16_bits(bf16_bits_to_f32(static_cast<uint16_t>(h))), h);
}

TEST(Numeric, RoundToType) {
  EXPECT_EQ(round_to(ElemType::F16, 0.1), static_cast<double>(f16_bits_to_f32(0x2e66)));
  EXPECT_EQ(round_to(ElemType::F32, 0.1), static_cast<double>(0.1f));
  EXPECT_NE(round_to(ElemType::BF16, 0.1), round_to(ElemType::F16, 0.1));
  EXPECT_LT(tolerance_for(ElemType::F16), tolerance_for(ElemType::BF16));
}
