// The hand-built warp-specialized GEMM under the emulator: correct results under many random
// schedules, at tile-multiple and ragged sizes; a layout disagreement garbles them.
#include <gtest/gtest.h>

#include <chrono>

#include "emulator_util.h"
#include "gemm_fixture.h"

namespace grove::test {
namespace {

struct GemmResult {
  EmulatorReport report;
  double error = 0;
};

GemmResult run_gemm(const kir::Kernel& k, int64_t M, int64_t N, int64_t K, uint64_t data_seed,
                    const EmulatorOptions& opts) {
  std::mt19937_64 rng(data_seed);
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["A"] = random_buffer("A", ElemType::F16, {M, K}, rng);
  t["B"] = random_buffer("B", ElemType::F16, {K, N}, rng);
  t["C"] = poisoned_buffer("C", ElemType::F16, {M, N});
  GemmResult r;
  r.report = emulate(k, t, {{"M", M}, {"N", N}, {"K", K}}, {}, opts);
  std::vector<double> ref(static_cast<size_t>(M * N), 0.0);
  const std::vector<double>&a = t["A"]->data, &b = t["B"]->data;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t kk = 0; kk < K; ++kk)
      for (int64_t j = 0; j < N; ++j) ref[i * N + j] += a[i * K + kk] * b[kk * N + j];
  r.error = rel_error(t["C"]->data, ref);
  return r;
}

TEST(EmulatorGemm, FullTilesMatchReference) {
  auto f = make_gemm_fixture(); // 128 x 256 x 64 tiles, 4 stages, 2 consumer warpgroups
  for (uint64_t seed : {1, 2}) {
    EmulatorOptions o;
    o.seed = seed;
    GemmResult r = run_gemm(f->kernel, 256, 512, 256, 100 + seed, o);
    EXPECT_TRUE(r.report.ok) << report_text(r.report);
    EXPECT_LT(r.error, tolerance_for(ElemType::F16));
    EXPECT_EQ(r.report.blocks, 4);
  }
}

TEST(EmulatorGemm, RaggedSizesMatchReference) {
  auto f = make_gemm_fixture();
  for (uint64_t seed : {3, 4}) {
    EmulatorOptions o;
    o.seed = seed;
    GemmResult r = run_gemm(f->kernel, 200, 300, 136, 200 + seed, o);
    EXPECT_TRUE(r.report.ok) << report_text(r.report);
    EXPECT_LT(r.error, tolerance_for(ElemType::F16));
  }
}

// Many interleavings on smaller tiles (2 stages, so the rings wrap several times per block).
TEST(EmulatorGemm, ManyRandomSchedules) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  int n = schedules(100);
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < n; ++s) {
    EmulatorOptions o;
    o.seed = 1000 + static_cast<uint64_t>(s);
    o.max_delay = 1 + s % 16;
    bool ragged = s % 2;
    GemmResult r = ragged ? run_gemm(f->kernel, 200, 100, 136, 300 + s, o)
                          : run_gemm(f->kernel, 128, 128, 192, 300 + s, o);
    ASSERT_TRUE(r.report.ok) << "schedule seed " << o.seed << "\n" << report_text(r.report);
    ASSERT_LT(r.error, tolerance_for(ElemType::F16)) << "schedule seed " << o.seed;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("schedules", n);
  std::printf("%d schedules in %.2f s\n", n, secs);
}

// A wgmma that assumes no swizzle reads the 128B-swizzled tile the TMA wrote: wrong results.
TEST(EmulatorGemm, SwizzleMismatchGarblesResults) {
  auto f = make_gemm_fixture(128, 64, 64, 2);
  for (const char* operand : {"A", "B"}) {
    kir::Kernel k = f->kernel;
    auto paths = find_ops(k, [](const kir::Op& op) { return op.kind == kir::Op::Wgmma; });
    ASSERT_EQ(paths.size(), 1u);
    kir::Op& mma = const_cast<kir::Op&>(op_at(k, paths[0]));
    (operand[0] == 'A' ? mma.src : mma.src2).swizzle = kir::Swizzle::None;
    GemmResult r = run_gemm(k, 128, 128, 128, 7, {});
    EXPECT_TRUE(!r.report.ok || r.error > 0.1) << operand << ": error " << r.error;
  }
}

TEST(EmulatorGemm, StepLimitIsReported) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  EmulatorOptions o;
  o.step_limit = 10;
  GemmResult r = run_gemm(f->kernel, 128, 64, 64, 1, o);
  ASSERT_FALSE(r.report.ok);
  EXPECT_NE(r.report.errors[0].find("step limit"), std::string::npos) << report_text(r.report);
}

} // namespace
} // namespace grove::test
