#include <gtest/gtest.h>

#include "gemm_fixture.h"

using namespace grove;

TEST(KernelIR, IExprFoldsAndEvaluates) {
  using namespace kir;
  IExprP e = add(mul(var("k"), cst(64)), cst(0));
  EXPECT_EQ(to_string(*e), "(k * 64)");
  EXPECT_EQ(eval(*e, {{"k", 3}}), 192);
  EXPECT_EQ(eval(*bin(IExpr::CeilDiv, var("K"), cst(64)), {{"K", 130}}), 3);
  EXPECT_THROW(eval(*var("x"), {}), std::out_of_range);
  EXPECT_TRUE(is_const(mul(cst(3), cst(4))));
}

// multiple_of decides by form, for every value of the variables (a warpgroup's part of a shared
// vector starts on 128 bytes: wg * 64 f32 elements, a multiple of 32).
TEST(KernelIR, MultipleOfHoldsForEveryValueOrIsFalse) {
  using namespace kir;
  EXPECT_TRUE(multiple_of(mul(var("wg"), cst(64)), 32));
  EXPECT_TRUE(multiple_of(add(mul(var("wg"), cst(64)), cst(128)), 32));
  EXPECT_TRUE(multiple_of(cst(0), 32));
  EXPECT_FALSE(multiple_of(mul(var("wg"), cst(16)), 32));
  EXPECT_FALSE(multiple_of(add(mul(var("wg"), cst(64)), cst(8)), 32));
  EXPECT_FALSE(multiple_of(var("wg"), 32));
  EXPECT_FALSE(multiple_of(bin(IExpr::Div, mul(var("wg"), cst(64)), cst(2)), 32));
}

TEST(KernelIR, GemmFixturePrints) {
  auto f = test::make_gemm_fixture();
  std::string text = kir::to_text(f->kernel);
  EXPECT_NE(text.find("smem A_s: f16[128, 64] x 4 slots at 0, 128B swizzle"), std::string::npos)
      << text;
  EXPECT_NE(text.find("mbarrier empty[4], 2 arrival(s) per phase"), std::string::npos) << text;
  EXPECT_NE(text.find("wgmma.mma_async reg acc"), std::string::npos) << text;
  EXPECT_EQ(f->kernel.threads(), 384);
  EXPECT_EQ(f->kernel.smem_bytes, 4 * (128 * 64 + 64 * 256) * 2);
}
