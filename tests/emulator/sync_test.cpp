// Small hand-built kernels for the emulator's synchronization checks: named barriers (counts,
// participants, ordering of shared-memory accesses) and mbarrier waits on the wrong parity.
#include <gtest/gtest.h>

#include "emulator_util.h"
#include "gemm_fixture.h"

namespace grove::test {
namespace {

using namespace kir;

Op sync_op(Op::Kind kind) {
  Op o;
  o.kind = kind;
  o.note = "sync test";
  return o;
}

Op bar_sync(int id, int count) {
  Op o = sync_op(Op::NamedBarrier);
  o.id = id;
  o.count = count;
  return o;
}

Ref box2(Ref::Kind kind, int index) {
  Ref r;
  r.kind = kind;
  r.index = index;
  r.slot = cst(0);
  r.origin = {cst(0), cst(0)};
  r.shape = {64, 64};
  return r;
}

// Warpgroup "writer" copies X into smem T; warpgroup "reader" copies T out to Y; bar.sync 1
// between them (with the given counts).
Kernel handoff(int writer_count, int reader_count, bool barriers = true) {
  Kernel k;
  k.name = "handoff";
  k.tensors = {{"X", ElemType::F32, {cst(64), cst(64)}, true, false},
               {"Y", ElemType::F32, {cst(64), cst(64)}, false, true}};
  k.smem = {{"T", ElemType::F32, {64, 64}, 1, Swizzle::None, 0}};
  Op in = sync_op(Op::Copy);
  in.src = box2(Ref::Global, 0);
  in.dst = box2(Ref::Smem, 0);
  Op out = sync_op(Op::Copy);
  out.src = box2(Ref::Smem, 0);
  out.dst = box2(Ref::Global, 1);
  Role w, r;
  w.name = "writer";
  r.name = "reader";
  w.body = {in};
  r.body = {out};
  if (barriers) {
    w.body.push_back(bar_sync(1, writer_count));
    r.body.insert(r.body.begin(), bar_sync(1, reader_count));
  }
  k.roles = {w, r};
  return k;
}

EmulatorReport run_handoff(const Kernel& k, uint64_t seed, double* err = nullptr) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["X"] = random_buffer("X", ElemType::F32, {64, 64}, rng);
  t["Y"] = poisoned_buffer("Y", ElemType::F32, {64, 64});
  EmulatorOptions o;
  o.seed = seed;
  EmulatorReport r = emulate(k, t, {}, {}, o);
  if (err) *err = rel_error(t["Y"]->data, t["X"]->data);
  return r;
}

TEST(EmulatorSync, NamedBarrierOrdersSharedMemory) {
  for (uint64_t s = 1; s <= 20; ++s) {
    double err = 1;
    EmulatorReport r = run_handoff(handoff(256, 256), s, &err);
    ASSERT_TRUE(r.ok) << report_text(r);
    EXPECT_EQ(err, 0.0);
  }
}

TEST(EmulatorSync, MissingNamedBarrierIsARace) {
  for (uint64_t s = 1; s <= 20; ++s) {
    EmulatorReport r = run_handoff(handoff(0, 0, false), s);
    ASSERT_FALSE(r.ok) << "seed " << s;
    EXPECT_NE(report_text(r).find("not ordered before it"), std::string::npos) << report_text(r);
  }
}

TEST(EmulatorSync, NamedBarrierCountsAreChecked) {
  // 128: each warpgroup alone would complete a generation, so nothing is ordered.
  EmulatorReport r = run_handoff(handoff(128, 128), 1);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("warps whose code uses this barrier have 256"), std::string::npos)
      << report_text(r);
  // Participants disagree.
  r = run_handoff(handoff(256, 384), 1);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("named barrier 1"), std::string::npos) << report_text(r);
  // Not a whole number of warps.
  r = run_handoff(handoff(100, 100), 1);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("whole number of warps"), std::string::npos) << report_text(r);
  // Too many: nobody is released.
  r = run_handoff(handoff(384, 384), 1);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("deadlock"), std::string::npos) << report_text(r);
}

TEST(EmulatorSync, BarArriveHandsOverWithoutWaiting) {
  // The writer arrives (and goes on); the reader syncs: the write is ordered before the read.
  Kernel k = handoff(256, 256);
  k.roles[0].body.back().kind = Op::NamedBarrierArrive;
  for (uint64_t s = 1; s <= 20; ++s) {
    double err = 1;
    EmulatorReport r = run_handoff(k, s, &err);
    ASSERT_TRUE(r.ok) << report_text(r);
    EXPECT_EQ(err, 0.0);
  }
  // Arriving twice before the reader came completes the barrier without it: reported.
  k.roles[0].body.push_back(k.roles[0].body.back());
  EmulatorReport r = run_handoff(k, 1);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("arrives a second time before the barrier completed"),
            std::string::npos)
      << report_text(r);
}

// A cluster of two blocks: block 1 works a while, then arrives on an mbarrier in both blocks;
// block 0 has nothing to do. Without a barrier.cluster at the end, block 0 exits first.
Kernel late_signal(bool cluster_sync) {
  Kernel k;
  k.name = "late_signal";
  k.grid_vars = {"cta"};
  k.grid = {cst(2)};
  k.cluster = 2;
  k.cluster_dims = {{"cta", 2}};
  k.barriers = {{"done", 1, 2}};
  Op work = sync_op(Op::Loop);
  work.var = "t";
  work.extent = mul(var("cta"), cst(50));
  work.body = {sync_op(Op::WgmmaFence)};
  Op arrive = sync_op(Op::MbarArrive);
  arrive.barrier = 0;
  arrive.slot = cst(0);
  arrive.cluster_groups = {1u}; // both blocks
  Role r;
  r.name = "worker";
  r.body = {work, arrive};
  if (cluster_sync) r.body.push_back(sync_op(Op::ClusterSync));
  k.roles = {r};
  return k;
}

TEST(EmulatorSync, SignallingAnExitedBlockOfTheClusterIsReported) {
  std::map<std::string, std::shared_ptr<Buffer>> none;
  EmulatorOptions o;
  EmulatorReport r = emulate(late_signal(false), none, {}, {}, o);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("signals block 0 of the cluster, which has already exited"),
            std::string::npos)
      << report_text(r);
  for (uint64_t s = 1; s <= 10; ++s) {
    o.seed = s;
    r = emulate(late_signal(true), none, {}, {}, o);
    EXPECT_TRUE(r.ok) << report_text(r);
  }
}

EmulatorReport run_sync_gemm(const Kernel& k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["A"] = random_buffer("A", ElemType::F16, {128, 160}, rng);
  t["B"] = random_buffer("B", ElemType::F16, {160, 64}, rng);
  t["C"] = poisoned_buffer("C", ElemType::F16, {128, 64});
  EmulatorOptions o;
  o.seed = seed;
  return emulate(k, t, {{"M", 128}, {"N", 64}, {"K", 160}}, {}, o);
}

// Flips the parity each mbarrier wait of one role expects.
TEST(EmulatorSync, WaitOnTheWrongParityIsReported) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  for (size_t role = 0; role < 2; ++role) {
    Kernel k = f->kernel;
    for (OpPath p : find_ops(k, [](const Op& o) { return o.kind == Op::MbarWait; })) {
      if (p[0] != role) continue;
      Op& w = const_cast<Op&>(op_at(k, p));
      w.phase = bin(IExpr::Mod, add(w.phase, cst(1)), cst(2));
    }
    for (uint64_t s = 1; s <= 5; ++s) {
      EmulatorReport r = run_sync_gemm(k, s);
      EXPECT_FALSE(r.ok) << "role " << role << " seed " << s;
    }
  }
}

// The producer announces half the bytes its TMA loads deliver: once the phase has its arrival,
// the rest is bytes nobody announced.
TEST(EmulatorSync, BytesNobodyAnnouncedAreReported) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  Kernel k = f->kernel;
  for (OpPath p : find_ops(k, [](const Op& o) { return o.kind == Op::MbarArriveExpectTx; }))
    const_cast<Op&>(op_at(k, p)).bytes /= 2;
  for (uint64_t s = 1; s <= 5; ++s) {
    EmulatorReport r = run_sync_gemm(k, s);
    ASSERT_FALSE(r.ok) << "seed " << s;
    std::string text = report_text(r);
    EXPECT_TRUE(text.find("went negative") != std::string::npos ||
                text.find("more bytes landed than were announced") != std::string::npos)
        << text;
  }
}

// The producer completes three phases of b before the consumer looks; the consumer's wait on
// parity 0 then passes on phase 2, having missed phases 0 and 1.
TEST(EmulatorSync, WaitThatMissedAPhaseIsReported) {
  Kernel k;
  k.name = "phases";
  k.barriers = {{"b", 1, 1}, {"done", 1, 1}};
  auto mbar = [](Op::Kind kind, int bar, int parity) {
    Op o = sync_op(kind);
    o.barrier = bar;
    o.slot = cst(0);
    o.phase = cst(parity);
    return o;
  };
  Role p, c;
  p.kind = Role::Producer;
  p.name = "producer";
  p.warps = 1;
  p.body = {mbar(Op::MbarArrive, 0, 0), mbar(Op::MbarArrive, 0, 0), mbar(Op::MbarArrive, 0, 0),
            mbar(Op::MbarArrive, 1, 0)};
  c.name = "consumer";
  c.body = {mbar(Op::MbarWait, 1, 0), mbar(Op::MbarWait, 0, 0)};
  k.roles = {p, c};
  std::map<std::string, std::shared_ptr<Buffer>> t;
  EmulatorReport r = emulate(k, t, {}, {});
  ASSERT_FALSE(r.ok);
  EXPECT_NE(report_text(r).find("wait on the wrong phase"), std::string::npos) << report_text(r);
}

TEST(EmulatorSync, MaxBlocksLimitsTheGrid) {
  auto f = make_gemm_fixture(128, 64, 32, 2);
  std::mt19937_64 rng(1);
  std::map<std::string, std::shared_ptr<Buffer>> t;
  t["A"] = random_buffer("A", ElemType::F16, {256, 64}, rng);
  t["B"] = random_buffer("B", ElemType::F16, {64, 256}, rng);
  t["C"] = poisoned_buffer("C", ElemType::F16, {256, 256});
  EmulatorOptions o;
  o.max_blocks = 3;
  EmulatorReport r = emulate(f->kernel, t, {{"M", 256}, {"N", 256}, {"K", 64}}, {}, o);
  EXPECT_TRUE(r.ok) << report_text(r);
  EXPECT_EQ(r.blocks, 3);
  // Missing inputs and sizes are reported, not crashed on.
  t.erase("B");
  EXPECT_FALSE(emulate(f->kernel, t, {{"M", 256}, {"N", 256}, {"K", 64}}, {}, o).ok);
  EXPECT_FALSE(emulate(f->kernel, t, {{"M", 256}}, {}, o).ok);
}

} // namespace
} // namespace grove::test
