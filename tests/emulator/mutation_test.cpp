// Mutation tests: deleting any one synchronization op (arrive, expect-tx, wait, fence, commit)
// from the GEMM and attention kernels, or shrinking a ring's empty barriers, must be reported by
// the emulator under every schedule tried.
#include <gtest/gtest.h>

#include "attention_fixture.h"
#include "emulator_util.h"
#include "gemm_fixture.h"

namespace grove::test {
namespace {

bool is_sync(const kir::Op& op) {
  switch (op.kind) {
  case kir::Op::MbarArrive:
  case kir::Op::MbarArriveExpectTx:
  case kir::Op::MbarWait:
  case kir::Op::WgmmaFence:
  case kir::Op::WgmmaCommit:
  case kir::Op::WgmmaWait:
  case kir::Op::FenceProxyAsync:
  case kir::Op::TmaStoreCommit:
  case kir::Op::TmaStoreWait:
  case kir::Op::NamedBarrier:
    return true;
  default:
    return false;
  }
}

using Runner = std::function<EmulatorReport(const kir::Kernel&, uint64_t seed)>;

// Runs the unmutated kernel (must pass) and every single-op deletion (must fail) on `seeds`.
int check_mutations(const kir::Kernel& k, const Runner& run, int seeds) {
  for (int s = 1; s <= seeds; ++s) {
    EmulatorReport r = run(k, static_cast<uint64_t>(s));
    EXPECT_TRUE(r.ok) << report_text(r);
  }
  std::vector<OpPath> paths = find_ops(k, is_sync);
  for (const OpPath& p : paths) {
    kir::Kernel m = without(k, p);
    std::string what = std::string(kir::op_name(op_at(k, p).kind)) + " at role " +
                       k.roles[p[0]].name + " index " + std::to_string(p.back());
    for (int s = 1; s <= seeds; ++s) {
      EmulatorReport r = run(m, static_cast<uint64_t>(s));
      EXPECT_FALSE(r.ok) << "deleting " << what << " went unnoticed with seed " << s;
      if (s == 1 && !r.errors.empty())
        std::printf("- %s:\n    %s\n", what.c_str(), r.errors[0].c_str());
    }
  }
  return static_cast<int>(paths.size());
}

EmulatorReport run_ring_gemm(const kir::Kernel& k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t M = 128, N = 64, K = 160; // one block, 5 k-tiles through a 2-stage ring
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["A"] = random_buffer("A", ElemType::F16, {M, K}, rng);
  t["B"] = random_buffer("B", ElemType::F16, {K, N}, rng);
  t["C"] = poisoned_buffer("C", ElemType::F16, {M, N});
  EmulatorOptions o;
  o.seed = seed;
  o.max_delay = 1 + static_cast<int>(seed * 3 % 10);
  return emulate(k, t, {{"M", M}, {"N", N}, {"K", K}}, {}, o);
}

EmulatorReport run_ring_attention(const kir::Kernel& k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t S = 128, T = 320, D = 64;
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["Q"] = random_buffer("Q", ElemType::F16, {S, D}, rng);
  t["K"] = random_buffer("K", ElemType::F16, {T, D}, rng);
  t["V"] = random_buffer("V", ElemType::F16, {T, D}, rng);
  t["O"] = poisoned_buffer("O", ElemType::F16, {S, D});
  EmulatorOptions o;
  o.seed = seed;
  o.max_delay = 1 + static_cast<int>(seed * 3 % 10);
  return emulate(k, t, {{"S", S}, {"T", T}}, {{"scale", 0.18}}, o);
}

TEST(EmulatorMutations, GemmEverySyncOpIsNeeded) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  int n = check_mutations(f->kernel, run_ring_gemm, 4);
  EXPECT_EQ(n, 7); // producer: wait, expect_tx; consumer: wait, fence, commit, wait, arrive
}

TEST(EmulatorMutations, AttentionEverySyncOpIsNeeded) {
  auto f = make_attention_fixture();
  int n = check_mutations(f->kernel, run_ring_attention, 4);
  EXPECT_EQ(n, 15); // producer: 2 expect_tx, 1 wait; consumer: 12 (waits, fences, commits, arrive)
}

TEST(EmulatorMutations, ShrunkEmptyRingIsReported) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  for (int variant = 0; variant < 2; ++variant) {
    kir::Kernel k = f->kernel;
    if (variant == 0)
      k.barriers[1].slots = 1; // fewer empty barriers than ring slots
    else
      k.barriers[1].arrivals = 1; // one consumer's release frees the slot for both
    for (uint64_t s = 1; s <= 6; ++s) {
      EmulatorReport r = run_ring_gemm(k, s);
      EXPECT_FALSE(r.ok) << "variant " << variant << " seed " << s;
      if (s == 1 && !r.errors.empty())
        std::printf("- variant %d:\n    %s\n", variant, r.errors[0].c_str());
    }
  }
}

TEST(EmulatorMutations, AttentionShrunkEmptyRingIsReported) {
  auto f = make_attention_fixture();
  kir::Kernel k = f->kernel;
  k.barriers[2].arrivals = 1;
  for (uint64_t s = 1; s <= 6; ++s) EXPECT_FALSE(run_ring_attention(k, s).ok) << "seed " << s;
}

} // namespace
} // namespace grove::test
