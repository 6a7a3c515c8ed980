#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <random>
#include <vector>

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

// e4m3 (OCP FP8, finite): the documented values, then every code against the definition.
TEST(Numeric, E4m3KnownValues) {
  EXPECT_EQ(f32_to_e4m3_bits(1.0f), 0x38);
  EXPECT_EQ(f32_to_e4m3_bits(-2.0f), 0xc0);
  EXPECT_EQ(f32_to_e4m3_bits(448.0f), 0x7e);                // largest finite
  EXPECT_EQ(f32_to_e4m3_bits(1e6f), 0x7e);                  // saturates (satfinite)
  EXPECT_EQ(f32_to_e4m3_bits(-INFINITY), 0xfe);             // saturates
  EXPECT_EQ(f32_to_e4m3_bits(std::ldexp(1.0f, -9)), 0x01);  // smallest subnormal
  EXPECT_EQ(f32_to_e4m3_bits(std::ldexp(1.0f, -10)), 0x00); // half of it: tie to even zero
  EXPECT_EQ(f32_to_e4m3_bits(std::ldexp(3.0f, -10)), 0x02); // 1.5 steps: tie to even (up)
  EXPECT_EQ(f32_to_e4m3_bits(1.0f + 1.0f / 16), 0x38);      // tie between 1 and 1.125: down
  EXPECT_EQ(f32_to_e4m3_bits(1.0f + 3.0f / 16), 0x3a);      // tie between 1.125 and 1.25: up
  EXPECT_EQ(e4m3_bits_to_f32(0x7e), 448.0f);
  EXPECT_EQ(e4m3_bits_to_f32(0x08), std::ldexp(1.0f, -6)); // smallest normal
  EXPECT_TRUE(std::isnan(e4m3_bits_to_f32(0x7f)));
  EXPECT_TRUE(std::isnan(e4m3_bits_to_f32(0xff)));
  EXPECT_TRUE(std::isnan(e4m3_bits_to_f32(f32_to_e4m3_bits(NAN))));
}

// Every finite code of an 8-bit format (codes 0 .. finite - 1, increasing) converts to f32 and
// back unchanged, either sign, and f32 rounding picks the nearest code, midpoints the even one.
void expect_every_fp8_code_round_trips(uint8_t (*encode)(float), float (*decode)(uint8_t),
                                       uint32_t finite) {
  std::vector<float> values;
  for (uint32_t b = 0; b < finite; ++b) {
    float f = decode(static_cast<uint8_t>(b));
    ASSERT_EQ(encode(f), b) << std::hex << b;
    ASSERT_EQ(encode(-f), b | 0x80u) << std::hex << b;
    if (!values.empty()) {
      ASSERT_GT(f, values.back()) << std::hex << b;
    }
    values.push_back(f);
  }
  for (uint32_t b = 0; b + 1 < values.size(); ++b) {
    float lo = values[b], hi = values[b + 1], mid = (lo + hi) / 2;
    ASSERT_EQ(encode(mid), (b % 2 == 0) ? b : b + 1) << std::hex << b;
    ASSERT_EQ(encode(std::nextafter(mid, lo)), b);
    ASSERT_EQ(encode(std::nextafter(mid, hi)), b + 1);
  }
}

TEST(Numeric, E4m3RoundTripsEveryValue) {
  expect_every_fp8_code_round_trips(f32_to_e4m3_bits, e4m3_bits_to_f32, 0x7f);
  EXPECT_EQ(round_to(ElemType::E4M3, 0.3), 0.3125); // 1.25 * 2^-2, the nearest
}

// e5m2 (OCP FP8 with infinities): the documented values, then every finite code.
TEST(Numeric, E5m2) {
  EXPECT_EQ(f32_to_e5m2_bits(1.0f), 0x3c);
  EXPECT_EQ(f32_to_e5m2_bits(57344.0f), 0x7b);              // largest finite
  EXPECT_EQ(f32_to_e5m2_bits(1e9f), 0x7b);                  // saturates (satfinite)
  EXPECT_EQ(f32_to_e5m2_bits(-INFINITY), 0xfb);             // saturates
  EXPECT_EQ(f32_to_e5m2_bits(std::ldexp(1.0f, -16)), 0x01); // smallest subnormal
  EXPECT_EQ(f32_to_e5m2_bits(1.0f + 1.0f / 8), 0x3c);       // tie between 1 and 1.25: down
  EXPECT_EQ(f32_to_e5m2_bits(1.0f + 3.0f / 8), 0x3e);       // tie between 1.25 and 1.5: up
  EXPECT_EQ(e5m2_bits_to_f32(0x7c), INFINITY);
  EXPECT_EQ(e5m2_bits_to_f32(0xfc), -INFINITY);
  EXPECT_TRUE(std::isnan(e5m2_bits_to_f32(0x7d)));
  EXPECT_TRUE(std::isnan(e5m2_bits_to_f32(f32_to_e5m2_bits(NAN))));
  expect_every_fp8_code_round_trips(f32_to_e5m2_bits, e5m2_bits_to_f32, 0x7c);
  EXPECT_EQ(round_to(ElemType::E5M2, 0.3), 0.3125); // 1.25 * 2^-2
  EXPECT_TRUE(is_fp8(ElemType::E5M2) && is_fp8(ElemType::E4M3) && !is_fp8(ElemType::F16));
}

TEST(Numeric, RoundToType) {
  EXPECT_EQ(round_to(ElemType::F16, 0.1), static_cast<double>(f16_bits_to_f32(0x2e66)));
  EXPECT_EQ(round_to(ElemType::F32, 0.1), static_cast<double>(0.1f));
  EXPECT_NE(round_to(ElemType::BF16, 0.1), round_to(ElemType::F16, 0.1));
  EXPECT_LT(tolerance_for(ElemType::F16), tolerance_for(ElemType::BF16));
}

// matmul_add adds into C and sums each element in k order: bit for bit the plain triple loop, for
// widths that are and are not multiples of its eight-column blocks, more columns and a longer k
// than one of its cache panels (64 x 256), and k = 0.
TEST(Numeric, MatmulAddMatchesThePlainLoopBitForBit) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto [m, n, k] :
       {std::array<int64_t, 3>{3, 8, 5}, {5, 21, 17}, {1, 3, 64}, {4, 16, 0}, {3, 150, 600}}) {
    std::vector<double> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)),
        c(static_cast<size_t>(m * n));
    for (double& x : a) x = u(rng);
    for (double& x : b) x = u(rng);
    for (double& x : c) x = u(rng);
    std::vector<double> want = c;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t p = 0; p < k; ++p)
          want[static_cast<size_t>(i * n + j)] +=
              a[static_cast<size_t>(i * k + p)] * b[static_cast<size_t>(p * n + j)];
    matmul_add(a.data(), b.data(), c.data(), m, n, k);
    for (size_t e = 0; e < c.size(); ++e)
      ASSERT_EQ(c[e], want[e]) << m << "x" << n << "x" << k << " element " << e;
  }
}
