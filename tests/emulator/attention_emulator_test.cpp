// The hand-built attention step under the emulator against a float64 softmax(Q·K^T)·V.
#include <gtest/gtest.h>

#include "attention_fixture.h"
#include "emulator_util.h"

namespace grove::test {
namespace {

constexpr double kLog2e = 1.4426950408889634;

struct AttnResult {
  EmulatorReport report;
  double error = 0;
};

AttnResult run_attention(const kir::Kernel& k, int64_t S, int64_t T, int64_t D, uint64_t data_seed,
                         const EmulatorOptions& opts) {
  std::mt19937_64 rng(data_seed);
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["Q"] = random_buffer("Q", ElemType::F16, {S, D}, rng, 2.0);
  t["K"] = random_buffer("K", ElemType::F16, {T, D}, rng, 2.0);
  t["V"] = random_buffer("V", ElemType::F16, {T, D}, rng);
  t["O"] = poisoned_buffer("O", ElemType::F16, {S, D});
  double scale = 1.0 / std::sqrt(static_cast<double>(D));
  AttnResult r;
  r.report = emulate(k, t, {{"S", S}, {"T", T}}, {{"scale", scale * kLog2e}}, opts);
  const std::vector<double>&q = t["Q"]->data, &kk = t["K"]->data, &v = t["V"]->data;
  std::vector<double> ref(static_cast<size_t>(S * D), 0.0), p(static_cast<size_t>(T));
  for (int64_t i = 0; i < S; ++i) {
    double mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < T; ++c) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += q[i * D + d] * kk[c * D + d];
      p[c] = s * scale;
      mx = std::max(mx, p[c]);
    }
    for (int64_t c = 0; c < T; ++c) sum += p[c] = std::exp(p[c] - mx);
    for (int64_t c = 0; c < T; ++c)
      for (int64_t d = 0; d < D; ++d) ref[i * D + d] += p[c] / sum * v[c * D + d];
  }
  r.error = rel_error(t["O"]->data, ref);
  return r;
}

TEST(EmulatorAttention, MatchesReference) {
  auto f = make_attention_fixture();
  int n = schedules(20);
  for (int s = 0; s < n; ++s) {
    EmulatorOptions o;
    o.seed = 50 + static_cast<uint64_t>(s);
    o.max_delay = 1 + s % 12;
    bool ragged = s % 2;
    AttnResult r = ragged ? run_attention(f->kernel, 200, 200, 64, s, o)
                          : run_attention(f->kernel, 128, 256, 64, s, o);
    ASSERT_TRUE(r.report.ok) << "seed " << o.seed << "\n" << report_text(r.report);
    ASSERT_LT(r.error, 2 * tolerance_for(ElemType::F16)) << "seed " << o.seed;
  }
}

TEST(EmulatorAttention, OneWarpgroupThreeStages) {
  auto f = make_attention_fixture(1, 64, 64, 3);
  AttnResult r = run_attention(f->kernel, 100, 300, 64, 9, {});
  EXPECT_TRUE(r.report.ok) << report_text(r.report);
  EXPECT_LT(r.error, 2 * tolerance_for(ElemType::F16));
}

} // namespace
} // namespace grove::test
