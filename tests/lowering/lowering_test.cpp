// The lowering pipeline on the examples: the structure each pass must produce, and the mappings
// it must refuse with a diagnostic naming the instance and the numbers.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <sstream>

#include "lowering/passes.h"
#include "lowering_util.h"

using namespace grove;
using namespace grove::test;

namespace {

TEST(Lowering, GemmBecomesAProducerAndTwoConsumers) {
  lower::Lowered l = lower_text(read_example("gemm.grove"));
  ASSERT_EQ(l.kernels.size(), 1u);
  const kir::Kernel& k = l.kernels[0];
  ASSERT_EQ(k.roles.size(), 2u);
  EXPECT_EQ(k.roles[1].warpgroups, 2);
  EXPECT_EQ(count_ops(k.roles[0].body, kir::Op::TmaLoad), 2);
  EXPECT_EQ(count_ops(k.roles[1].body, kir::Op::TmaLoad), 0);
  EXPECT_EQ(count_ops(k.roles[1].body, kir::Op::Wgmma), 1);
  EXPECT_EQ(count_ops(k.roles[1].body, kir::Op::TmaStore), 1);
  EXPECT_LE(k.smem_bytes, 232448);
  // A 3-slot ring for the K loop: the pipeline depth of the mapping.
  bool ring3 = false;
  for (const kir::SmemBuffer& s : k.smem) ring3 = ring3 || s.slots == 3;
  EXPECT_TRUE(ring3);
  // The C staging tile fits beside the ring: no shared space, no consumer barrier.
  EXPECT_EQ(count_ops(k.roles[1].body, kir::Op::NamedBarrier), 0);
}

TEST(Lowering, GemmStagingReusesRingSpaceWhenTheRingIsDeep) {
  lower::Lowered l = lower_text(replace(
      read_example("gemm.grove"), "pipeline = 3;\n    persistent = true;\n    cluster = (2, 1);",
      "pipeline = 4;\n    persistent = true;"));
  const kir::Kernel& k = l.kernels.at(0);
  // 4 x 48 KiB of ring and 64 KiB of C do not fit 227 KiB: C reuses ring space after a barrier
  // of the consumers, and (persistent) the producer refills the ring for the next tile only once
  // the consumers are done with the tile.
  EXPECT_EQ(count_ops(k.roles[1].body, kir::Op::NamedBarrier), 1);
  bool tile_done = false;
  for (const kir::Barrier& b : k.barriers) tile_done = tile_done || b.name == "tile_done";
  EXPECT_TRUE(tile_done);
}

// The row-sum panel copies r in and out at every K step as instantiated; the pair is promoted:
// r stays in registers over the loop, copied out once after it.
TEST(Lowering, RunningSumStaysInRegistersOverTheLoop) {
  lower::Lowered l = lower_text(read_example("gemm_rowsum.grove"));
  const kir::Kernel& k = l.kernels.at(1);
  ASSERT_EQ(k.name, "rowsum_panel_1");
  const kir::Body& body = k.roles.at(1).body;
  const kir::Op* loop = nullptr;
  int copies_of_r = 0;
  for (const kir::Op& op : body) {
    if (op.kind == kir::Op::Loop) loop = &op;
    if (op.kind == kir::Op::Copy && op.dst.kind == kir::Ref::Global) ++copies_of_r;
  }
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(copies_of_r, 1); // after the loop
  for (const kir::Op& op : loop->body) {
    if (op.kind == kir::Op::Copy) {
      EXPECT_EQ(op.dst.kind, kir::Ref::Smem) << "only the A tile is copied in the loop";
    }
  }
}

// A operands staged by the warpgroups with ordinary stores: each write is followed by a proxy
// fence (the wgmma reads through the async proxy), and the group is retired in its iteration
// (the next one rewrites the buffer it reads).
TEST(Lowering, WgmmaOperandWrittenByTheWarpgroupIsFencedAndRetired) {
  lower::Lowered l = lower_text(replace(read_example("gemm.grove"),
                                        "    memory acc = NONE, A = SHARED, B = SHARED;",
                                        "    memory acc = NONE, B = SHARED;"));
  const kir::Kernel& k = l.kernels.at(0);
  const kir::Op* loop = find_loop(k.roles.at(1).body, "k");
  ASSERT_NE(loop, nullptr);
  const kir::Body& b = loop->body;
  bool fenced = false;
  for (size_t i = 0; i + 1 < b.size(); ++i)
    if (b[i].kind == kir::Op::Copy && b[i].dst.kind == kir::Ref::Smem)
      fenced = b[i + 1].kind == kir::Op::FenceProxyAsync;
  EXPECT_TRUE(fenced);
  for (const kir::Op& op : b) {
    if (op.kind == kir::Op::WgmmaWait) {
      EXPECT_EQ(op.count, 0);
    }
  }
}

TEST(Lowering, AttentionLoadsQOnceAndPipelinesKV) {
  lower::Lowered l = lower_text(read_example("attention.grove"), {{"D", 128}});
  const kir::Kernel& k = l.kernels.at(0);
  // Q is loop-invariant: copy elimination hoists it out of the K/V loop.
  const kir::Op* loop = nullptr;
  int loads_outside = 0;
  // (The mapping is persistent: the producer's body is its loop over tiles.)
  const kir::Body& body = k.roles[0].body.back().body;
  for (const kir::Op& op : body) {
    if (op.kind == kir::Op::Loop) loop = &op;
    if (op.kind == kir::Op::TmaLoad) ++loads_outside;
  }
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loads_outside, 1);
  EXPECT_EQ(count_ops(loop->body, kir::Op::TmaLoad), 2);
  // Q·K^T of iteration 0 before the loop, both GEMMs in it, the last P·V after it (overlap).
  EXPECT_EQ(count_ops(k.roles[1].body, kir::Op::Wgmma), 4);
}

// The overlap pass on attention (head dimension 128): iteration j issues Q·K_j^T, then
// P·V_{j-1}; waits for the first only (wait_group 1) and releases K_j; runs the softmax, leaving
// P's values in S (rounded to f16), while P·V_{j-1} runs; then waits for it, releases V_{j-1},
// packs S into P and rescales acc. K and V have a ring each. (Every example's printed kernel is
// also compiled: ptxas must not serialize the wgmmas, see tests/cuda.)
TEST(Overlap, AttentionIssuesQKBeforeThePreviousPV) {
  lower::LowerOptions o;
  auto c = compile_file(example("attention.grove"));
  o.sizes = {{"D", 128}};
  lower::Lowered l = lower::lower_mapping(c->prog, *c->prog.find_mapping("h100_d128"), o);
  const kir::Kernel& k = l.kernels.at(0);
  EXPECT_EQ(k.rings.size(), 3u); // Q (once per tile), K, V
  const kir::Op* loop = find_loop(k.roles.at(1).body, "grove_j");
  ASSERT_NE(loop, nullptr);
  ASSERT_EQ(loop->lets.size(), 1u);
  EXPECT_EQ(loop->lets[0].first, "j");
  std::vector<std::string> seq;
  std::string softmax;
  for (const kir::Op& op : loop->body) {
    std::string s = kir::op_name(op.kind);
    if (op.kind == kir::Op::Wgmma) s += " " + k.regs.at(static_cast<size_t>(op.dst.index)).name;
    if (op.kind == kir::Op::WgmmaWait) s += " " + std::to_string(op.count);
    if (op.kind == kir::Op::MbarArrive || op.kind == kir::Op::MbarWait)
      s += " " + k.barriers.at(static_cast<size_t>(op.barrier)).name;
    if (op.kind == kir::Op::Copy)
      s += " " + k.regs.at(static_cast<size_t>(op.dst.index)).name + " <- " +
           k.regs.at(static_cast<size_t>(op.src.index)).name;
    if (op.kind == kir::Op::Compute) s += " " + op.stmts.back()->target;
    if (op.kind == kir::Op::Compute && op.stmts.size() > 1)
      for (const Stmt* st : op.stmts) softmax += st->target + " = " + expr_str(*st->value) + "\n";
    seq.push_back(s);
  }
  // (With the ping-pong turn, from the zero fill folded into Q·K^T to the P·V commit.)
  std::vector<std::string> want = {"mbarrier.try_wait.parity ring0_full",
                                   "bar.sync",
                                   "compute Sc",
                                   "wgmma.fence",
                                   "wgmma.mma_async wg_step.Sc",
                                   "wgmma.commit_group",
                                   "mbarrier.try_wait.parity ring1_full",
                                   "wgmma.fence",
                                   "wgmma.mma_async acc",
                                   "wgmma.commit_group",
                                   "bar.arrive",
                                   "wgmma.wait_group 1",
                                   "mbarrier.arrive ring0_empty",
                                   "compute l",
                                   "wgmma.wait_group 0",
                                   "mbarrier.arrive ring1_empty",
                                   "copy wg_step.P <- wg_step.Sc",
                                   "compute acc",
                                   "compute m"};
  EXPECT_EQ(seq, want);
  EXPECT_NE(softmax.find("Sc = round_f16(exp2((Sc[r, c] - mnew[r])))"), std::string::npos)
      << softmax;
  EXPECT_NE(softmax.find("l = ((l[r] * alpha[r]) + sum[c](Sc[r, c]))"), std::string::npos)
      << softmax;
  // P·V reads the previous iteration's V slot.
  EXPECT_NE(kir::to_string(*loop->body[8].src2.slot).find("(j - 1)"), std::string::npos);
}

// FP8 attention's P in shared memory: the overlap still issues Q·K^T before the previous P·V,
// keeps P's values in S rounded as e4m3, and packs them into the shared P with generic stores
// followed by the proxy fence the next P·V wgmma needs. In registers (the example's mapping), the
// same form with a register copy and no fence.
TEST(Overlap, PacksASharedPAndFencesIt) {
  for (bool shared : {true, false}) {
    SCOPED_TRACE(shared ? "P in shared memory" : "P in registers");
    lower::Lowered l = lower_text(
        shared ? fp8_attention_with_shared_p() : read_example("attention_fp8.grove"), {{"D", 128}});
    const kir::Kernel& k = l.kernels.at(0);
    const kir::Op* loop = find_loop(k.roles.at(1).body, "grove_j");
    ASSERT_NE(loop, nullptr);
    std::vector<std::string> seq;
    std::string softmax;
    for (const kir::Op& op : loop->body) {
      std::string s = kir::op_name(op.kind);
      if (op.kind == kir::Op::WgmmaWait) s += " " + std::to_string(op.count);
      if (op.kind == kir::Op::Copy)
        s += op.dst.kind == kir::Ref::Smem
                 ? " " + k.smem.at(static_cast<size_t>(op.dst.index)).name
                 : " reg " + k.regs.at(static_cast<size_t>(op.dst.index)).name;
      if (op.kind == kir::Op::Compute && op.stmts.size() > 1)
        for (const Stmt* st : op.stmts) softmax += st->target + " = " + expr_str(*st->value) + "\n";
      if (op.kind == kir::Op::Wgmma || op.kind == kir::Op::WgmmaWait || op.kind == kir::Op::Copy ||
          op.kind == kir::Op::FenceProxyAsync)
        seq.push_back(s);
    }
    std::vector<std::string> want = {"wgmma.mma_async", "wgmma.mma_async", "wgmma.wait_group 1",
                                     "wgmma.wait_group 0"};
    if (shared)
      want.insert(want.end(), {"copy wg_step.P", "fence.proxy.async"});
    else
      want.push_back("copy reg wg_step.P");
    EXPECT_EQ(seq, want);
    EXPECT_NE(softmax.find("Sc = round_e4m3(exp2((Sc[r, c] - mnew[r])))"), std::string::npos)
        << softmax;
  }
  // At head dimension 256 the mapping turns it off (ptxas would spill).
  lower::Lowered l256 = lower_text(read_example("attention_fp8.grove"), {{"D", 256}}, "fp8_d256");
  EXPECT_EQ(find_loop(l256.kernels.at(0).roles.at(1).body, "grove_j"), nullptr);
}

// Where a statement after the softmax reads S (here m = max(mnew, max of S), the same value), S
// cannot hold P's values meanwhile: the loop stays as it is.
TEST(Overlap, LeftOutWhereLaterStatementsReadS) {
  lower::Lowered l = lower_text(replace(read_example("attention_causal.grove"), "  m[r] = mnew[r];",
                                        "  m[r] = max(mnew[r], max[c](Sc[r, c]));"),
                                {{"D", 256}}, "h100_d256_causal");
  EXPECT_EQ(find_loop(l.kernels.at(0).roles.at(1).body, "grove_j"), nullptr);
}

// `overlap = false` keeps each iteration's GEMMs in order.
TEST(Overlap, TheMappingCanTurnItOff) {
  lower::Lowered l = lower_text(replace(read_example("attention.grove"), "    pingpong = true;\n",
                                        "    pingpong = true;\n    overlap = false;\n"),
                                {{"D", 128}});
  EXPECT_EQ(find_loop(l.kernels.at(0).roles.at(1).body, "grove_j"), nullptr);
  EXPECT_EQ(count_ops(l.kernels.at(0).roles.at(1).body, kir::Op::Wgmma), 2);
}

// Causal head dimension 256 (80-key tiles, acc alone 128 registers a thread): the same form, the
// copy after P·V's wait packing S into P.
TEST(Overlap, KeepsPInSAtHeadDimension256) {
  auto c = compile_file(example("attention_causal.grove"));
  lower::LowerOptions o;
  o.sizes = {{"D", 256}};
  lower::Lowered l = lower::lower_mapping(c->prog, *c->prog.find_mapping("h100_d256_causal"), o);
  const kir::Kernel& k = l.kernels.at(0);
  for (const kir::RegTensor& t : k.regs) EXPECT_EQ(t.name.find("_next"), std::string::npos);
  const kir::Op* loop = find_loop(k.roles.at(1).body, "grove_j");
  ASSERT_NE(loop, nullptr);
  std::string text;
  const kir::Op* copy = nullptr;
  for (const kir::Op& op : loop->body) {
    if (op.kind == kir::Op::Compute)
      for (const Stmt* st : op.stmts) text += st->target + " = " + expr_str(*st->value) + "\n";
    if (op.kind == kir::Op::Copy) copy = &op;
  }
  EXPECT_NE(text.find("Sc = round_f16(exp2((Sc[r, c] - mnew[r])))"), std::string::npos) << text;
  EXPECT_NE(text.find("l = ((l[r] * alpha[r]) + sum[c](Sc[r, c]))"), std::string::npos) << text;
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(k.regs.at(static_cast<size_t>(copy->src.index)).name, "wg_step.Sc");
  EXPECT_EQ(k.regs.at(static_cast<size_t>(copy->dst.index)).name, "wg_step.P");
}

// Prefill attention's key loop may run no iteration (a query tile before the first key, SQ >
// SK): the overlap pass puts the peeled first half, the loop and the last P·V inside a loop of at
// most one iteration (printed as an `if`), and the ping-pong turns go around the groups in it as
// at the top level. Causal attention's loop provably runs: no wrapper there.
TEST(Overlap, PeelsInsideAnIfWhereTheLoopMayRunNoIteration) {
  auto c = compile_file(example("attention_prefill.grove"));
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.sizes = {{"D", 128}};
  lower::Lowered l = lower::lower_mapping(c->prog, *c->prog.find_mapping("prefill_d128"), o);
  const kir::Body& cons = l.kernels.at(0).roles.at(1).body;
  const kir::Op* wrap = find_loop(cons, "grove_j_any");
  ASSERT_NE(wrap, nullptr);
  EXPECT_TRUE(wrap->at_most_once);
  EXPECT_EQ(kir::to_string(*wrap->extent).rfind("min(", 0), 0u) << kir::to_string(*wrap->extent);
  auto direct = [](const kir::Body& b, kir::Op::Kind kind) {
    return std::count_if(b.begin(), b.end(), [&](const kir::Op& op) { return op.kind == kind; });
  };
  const kir::Op* loop = find_loop(wrap->body, "grove_j");
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(direct(wrap->body, kir::Op::Wgmma), 2); // Q·K^T of iteration 0, the last P·V
  EXPECT_EQ(direct(loop->body, kir::Op::Wgmma), 2);
  EXPECT_EQ(direct(wrap->body, kir::Op::NamedBarrier), 2); // a turn for each peeled group
  EXPECT_EQ(direct(wrap->body, kir::Op::NamedBarrierArrive), 2);
  EXPECT_EQ(direct(loop->body, kir::Op::NamedBarrier), 1);
  EXPECT_EQ(count_ops(cons, kir::Op::Wgmma), 4);

  auto causal = compile_file(example("attention_causal.grove"));
  lower::Lowered lc =
      lower::lower_mapping(causal->prog, *causal->prog.find_mapping("h100_d128_causal"), o);
  EXPECT_EQ(find_loop(lc.kernels.at(0).roles.at(1).body, "grove_j_any"), nullptr);
  EXPECT_NE(find_loop(lc.kernels.at(0).roles.at(1).body, "grove_j"), nullptr);
}

TEST(Lowering, EveryExampleLowers) {
  for (const char* f :
       {"gemm.grove", "linear.grove", "gemm_fp8.grove", "batched_gemm.grove", "dual_gemm.grove",
        "gemm_bias_gelu.grove", "gemm_rowsum.grove", "attention.grove", "attention_causal.grove"}) {
    SCOPED_TRACE(f);
    try {
      lower::Lowered l = lower_text(read_example(f), {{"D", 128}});
      EXPECT_GE(l.kernels.size(), 1u);
    } catch (const GroveError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

// A leaf local its instance gives SHARED memory (FP8 attention's P, an 8-bit A operand) becomes
// a 128-byte-swizzled buffer with a region per warpgroup: the softmax writes it, a proxy fence
// follows, and the P·V wgmma reads it from there, not from registers. Another memory is refused.
TEST(Lowering, SharedLeafLocalIsABufferTheWgmmaReads) {
  lower::Lowered l = lower_text(fp8_attention_with_shared_p(), {{"D", 128}});
  const kir::Kernel& k = l.kernels.at(0);
  int p = -1;
  for (size_t i = 0; i < k.smem.size(); ++i)
    if (k.smem[i].name == "wg_step.P") p = static_cast<int>(i);
  ASSERT_GE(p, 0);
  EXPECT_EQ(k.smem[static_cast<size_t>(p)].shape, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(k.smem[static_cast<size_t>(p)].swizzle, kir::Swizzle::B128);
  for (const kir::RegTensor& r : k.regs) EXPECT_NE(r.name, "wg_step.P");
  int reads = 0;
  std::function<void(const kir::Body&)> walk = [&](const kir::Body& b) {
    for (const kir::Op& o : b) {
      if (o.kind == kir::Op::Wgmma && o.src.kind == kir::Ref::Smem && o.src.index == p) ++reads;
      walk(o.body);
    }
  };
  walk(k.roles.at(1).body);
  EXPECT_EQ(reads, 2); // P·V in the overlapped loop, and the last iteration's after it
  EXPECT_GE(count_ops(k.roles.at(1).body, kir::Op::FenceProxyAsync), 2); // P, and O's store

  std::string text = replace(read_example("attention_fp8.grove"), "P = REGISTER;", "P = GLOBAL;");
  EXPECT_NE(lowering_error(text, {{"D", 128}})
                .find("leaf local 'P' of instance 'wg_step' is given "
                      "GLOBAL"),
            std::string::npos);
}

// C in shared memory at the block level, written by both consumer warpgroups: each would store
// the whole tile without waiting for the other's half, so the lowering refuses it and says where
// the memory line belongs.
TEST(Lowering, BlockLevelSharedOutputOfSeveralWarpgroupsIsRefused) {
  std::string text =
      replace(read_example("gemm.grove"), "memory acc = NONE;\n    warp_specialize = true;",
              "memory acc = NONE, C = SHARED;\n    warp_specialize = true;");
  try {
    lower_text(text);
    FAIL() << "expected an error";
  } catch (const GroveError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("each of the 2 consumer warpgroups would store all of a block-level "
                       "shared buffer"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("copy for 'C' of instance block (gemm_tile)"), std::string::npos) << msg;
    EXPECT_NE(e.hint.find("warpgroup-level instance"), std::string::npos) << e.hint;
  }
}

TEST(Lowering, SharedMemoryOverTheBoundNamesTheTensors) {
  std::string text = replace(read_example("gemm.grove"), "pipeline = 3;", "pipeline = 6;");
  try {
    lower_text(text);
    FAIL() << "expected an error";
  } catch (const GroveError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("instance 'block' needs"), std::string::npos) << msg;
    EXPECT_NE(msg.find("x 6 slots: 98304"), std::string::npos) << msg;
    EXPECT_NE(msg.find("over its bound of 232448"), std::string::npos) << msg;
  }
}

TEST(Lowering, AccumulatorOverTheRegisterFileIsAnError) {
  std::string text = replace(read_example("dual_gemm.grove"), "tunable BM = 128, BN = 128;",
                             "tunable BM = 128, BN = 256;");
  text = replace(text, "pipeline = 4;", "pipeline = 2;");
  try {
    lower_text(text);
    FAIL() << "expected an error";
  } catch (const GroveError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("need 256 registers per thread"), std::string::npos) << msg;
    EXPECT_NE(msg.find("acc1 f32[64x256]: 128"), std::string::npos) << msg;
  }
}

TEST(Lowering, NoneThatCannotBeHonouredIsAnError) {
  // The accumulator is NONE at block level, in registers of the warpgroups; a warpgroup cannot
  // store the rows another warpgroup holds (the interpreter runs this fine: it is a mapping issue).
  std::string text = replace(read_example("gemm.grove"), "launch store_wg(Cw[w], accw[w]);",
                             "launch store_wg(Cw[w], accw[1 - w]);");
  try {
    lower_text(text);
    FAIL() << "expected an error";
  } catch (const GroveError& e) {
    EXPECT_NE(std::string(e.what()).find("NONE cannot be honoured"), std::string::npos) << e.what();
  }
}

TEST(Lowering, ExplainAfterEveryPassPrints) {
  auto c = compile_file(example("gemm.grove"));
  for (const std::string& pass : lower::pass_names()) {
    std::ostringstream os;
    lower::LowerOptions o;
    o.dump_after = pass;
    o.dump = &os;
    lower::lower_mapping(c->prog, c->prog.mappings.front(), o);
    bool kernel_ir =
        pass == "kernel-ir" || pass == "overlap" || pass == "pingpong" || pass == "persistent";
    EXPECT_NE(os.str().find(kernel_ir ? "kernel gemm_tile_0" : "block program gemm_tile_0"),
              std::string::npos)
        << pass;
  }
}

} // namespace

namespace {

TEST(PipelineAuto, TheSchedulerPicksTheRingDepth) {
  if (!lower::have_scheduler()) GTEST_SKIP() << "built without the scheduler";
  std::string text = replace(read_example("gemm.grove"), "pipeline = 3;", "pipeline = auto;");
  std::vector<lower::LoopSchedule> scheds;
  auto c = compile_text(text);
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.schedules = &scheds;
  lower::Lowered l = lower::lower_mapping(c->prog, c->prog.mappings.front(), o);
  ASSERT_EQ(scheds.size(), 1u);
  // The TMA latency (1024 + transfer cycles) over an initiation interval of 1024 tensor cycles
  // needs three copies of each tile in flight.
  EXPECT_EQ(scheds[0].depth, 3);
  EXPECT_NE(scheds[0].text.find("initiation interval: 1024 cycles (optimal"), std::string::npos)
      << scheds[0].text;
  EXPECT_NE(scheds[0].svg.find("<svg"), std::string::npos);
  bool ring3 = false;
  for (const kir::SmemBuffer& s : l.kernels[0].smem) ring3 = ring3 || s.slots == 3;
  EXPECT_TRUE(ring3);
  // The consumers only issue wgmmas: nothing to overlap them with, no ping-pong.
  EXPECT_FALSE(scheds[0].pingpong);
  EXPECT_EQ(count_ops(l.kernels[0].roles[1].body, kir::Op::NamedBarrierArrive), 0);
}

TEST(PipelineAuto, PingPongOverTilesCountsAStagingTilePerWarpgroup) {
  if (!lower::have_scheduler()) GTEST_SKIP() << "built without the scheduler";
  std::string text = replace_in_mapping(read_example("gemm.grove"), "h100_pingpong",
                                        "pipeline = 4;", "pipeline = auto;");
  std::vector<lower::LoopSchedule> scheds;
  auto c = compile_text(text);
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.schedules = &scheds;
  lower::Lowered l = lower::lower_mapping(c->prog, *c->prog.find_mapping("h100_pingpong"), o);
  ASSERT_EQ(scheds.size(), 1u);
  // Two 64x256 f16 staging tiles besides the ring.
  EXPECT_NE(scheds[0].graph_json.find("\"fixed_smem_bytes\": 65536"), std::string::npos)
      << scheds[0].graph_json.substr(0, 400);
  EXPECT_LE(l.kernels.at(0).smem_bytes, 232448 - 1024);
}

// The block-scaled FP8 GEMM: one warpgroup's promotion (CUDA cores) runs under the other's
// wgmmas, so the schedule proposes ping-pong; with one GEMM an iteration no turns can be placed,
// and the lowering leaves the warpgroups to interleave rather than refusing what the mapping did
// not ask for.
TEST(PipelineAuto, PingPongTheLoopCannotTakeIsLeftOut) {
  if (!lower::have_scheduler()) GTEST_SKIP() << "built without the scheduler";
  std::string text =
      replace(read_example("gemm_fp8_blockwise.grove"), "pipeline = 5;", "pipeline = auto;");
  std::vector<lower::LoopSchedule> scheds;
  auto c = compile_text(text, example("gemm_fp8_blockwise.grove"));
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.schedules = &scheds;
  const MappingDecl& m = *c->prog.find_mapping("blockwise_h100");
  lower::Lowered l = lower::lower_mapping(c->prog, m, o);
  ASSERT_EQ(scheds.size(), 1u);
  EXPECT_TRUE(scheds[0].pingpong);
  EXPECT_EQ(count_ops(l.kernels.at(0).roles[1].body, kir::Op::NamedBarrierArrive), 0);
  // Asked for in the mapping, the same is an error that says why.
  text = replace(text, "pipeline = auto;", "pipeline = 5;\n    pingpong = true;");
  auto c2 = compile_text(text, example("gemm_fp8_blockwise.grove"));
  ASSERT_EQ(c2->errors, "");
  try {
    lower::lower_mapping(c2->prog, *c2->prog.find_mapping("blockwise_h100"), {});
    ADD_FAILURE() << "expected an error";
  } catch (const GroveError& e) {
    EXPECT_NE(std::string(e.what()).find("issues 1 wgmma group(s)"), std::string::npos) << e.what();
  }
}

TEST(PipelineAuto, AttentionGetsTheFa3Structure) {
  if (!lower::have_scheduler()) GTEST_SKIP() << "built without the scheduler";
  std::string text = replace(read_example("attention.grove"), "pipeline = 2;", "pipeline = auto;");
  text = replace(text, "    pingpong = true;\n", ""); // the scheduler decides
  std::vector<lower::LoopSchedule> scheds;
  auto c = compile_text(text);
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.sizes = {{"D", 128}};
  o.schedules = &scheds;
  lower::Lowered l = lower::lower_mapping(c->prog, c->prog.mappings.front(), o);
  ASSERT_EQ(scheds.size(), 1u);
  // Each warpgroup's softmax runs under the other's GEMMs: the lowering emits the turns.
  EXPECT_TRUE(scheds[0].pingpong);
  EXPECT_GT(count_ops(l.kernels.at(0).roles[1].body, kir::Op::NamedBarrierArrive), 0);
  const std::string& t = scheds[0].text;
  // II equals the tensor-core work of two QK and two PV products: the exponentials are hidden.
  EXPECT_NE(t.find("initiation interval: 2048 cycles (optimal"), std::string::npos) << t;
  EXPECT_NE(t.find("3 warpgroups"), std::string::npos) << t;
}

} // namespace

namespace {

TEST(LoweringErrors, WarpSpecializationOffIsNotLoweredYet) {
  std::string text =
      replace(read_example("gemm.grove"), "warp_specialize = true;", "warp_specialize = false;");
  EXPECT_NE(
      lowering_error(text).find("sets warp_specialize = false; the lowering needs a producer warp"),
      std::string::npos);
}

TEST(LoweringErrors, PiecesInsideABlockMustDivide) {
  // 128-row tiles split into 96-row warpgroup pieces: the second piece would reach the next tile.
  std::string text =
      replace(read_example("gemm.grove"), "tunable BK = 64, WM = 64;", "tunable BK = 64, WM = 96;");
  EXPECT_NE(lowering_error(text).find(
                "partition of a 128-long dimension into pieces of 96 does not divide"),
            std::string::npos);
  // So must pieces of a block's view that cuts a global tensor: split-K's chunk of KS = 128
  // columns in K steps of 48 (the third step would read 16 columns of the next chunk, which the
  // interpreter clips and a TMA box cannot), decoding's chunk of 512 keys in tiles of 48. A view
  // that spans the tensor's dimension (gemm's K) may end ragged: TMA clips at the tensor's edge.
  EXPECT_NE(
      lowering_error(replace(replace(read_example("gemm_splitk.grove"), "KS = 4096;", "KS = 128;"),
                             "BK = 64,", "BK = 48,"),
                     {}, "", example("gemm_splitk.grove"))
          .find("partition of a 128-long dimension into pieces of 48 does not divide"),
      std::string::npos);
  EXPECT_NE(lowering_error(replace(read_example("attention_decode.grove"), "tunable BK = 128",
                                   "tunable BK = 48"),
                           {{"D", 128}}, "decode_d128", example("attention_decode.grove"))
                .find("partition of a 512-long dimension into pieces of 48 does not divide"),
            std::string::npos);
  EXPECT_EQ(lowering_error(replace(read_example("gemm.grove"), "BK = 64,", "BK = 48,")), "");
}

// Four consumer warpgroups of 64x256 (256x256 tiles): each thread's 128 accumulators do not fit
// the 120 registers setmaxnreg gives a consumer thread when four warpgroups share the block's 64K.
// Three (192x256 tiles) get 160 from setmaxnreg, but ptxas compiles each wgmma within the 128 a
// thread of 512 has at the kernel's entry: m64n256 needs about 154 ("Insufficient registers").
// Three of 64x192 compile.
TEST(LoweringErrors, RegisterTensorsMustFitWhatSetmaxnregGives) {
  std::string text = replace(read_example("gemm.grove"), "    cluster = (2, 1);\n", "");
  auto tiles = [&](const std::string& to) {
    return lowering_error(replace(text, "tunable BM = 128, BN = 256;", to));
  };
  std::string msg = tiles("tunable BM = 256, BN = 256;");
  EXPECT_NE(msg.find("the consumer warpgroups of instance 'block' need 128 registers per thread "
                     "for their register tensors (acc f32[64x256]: 128); with 4 consumer "
                     "warpgroup(s) and a producer warp a thread gets 120 (setmaxnreg)"),
            std::string::npos)
      << msg;
  msg = tiles("tunable BM = 192, BN = 256;");
  EXPECT_NE(msg.find("instance 'block' issues wgmma m64n256 (128 accumulator registers a thread, "
                     "about 154 with its operands), but each of its 512 threads has 128 "
                     "registers at the kernel's entry, where ptxas compiles it"),
            std::string::npos)
      << msg;
  EXPECT_EQ(tiles("tunable BM = 192, BN = 192;"), "");
  EXPECT_EQ(tiles("tunable BM = 128, BN = 256;"), "");
}

// A wgmma's tiles must be whole instructions (K a multiple of 16 for f16, 32 for e4m3) and its
// shared operands' rows a swizzle span (32, 64, or a multiple of 128 bytes): said at the mma,
// before the emulator or the back end meets them.
// The 1-based line of the first line of `text` that is `line`.
int line_of(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  int n = 0;
  for (std::string l; std::getline(in, l);) {
    ++n;
    if (l == line) return n;
  }
  return -1;
}

TEST(LoweringErrors, WgmmaTilesMustFitTheInstructionsAndASwizzle) {
  const std::string gemm = read_example("gemm.grove");
  try {
    lower_text(replace(gemm, "BM = 128, BN = 256;", "BM = 128, BN = 24;"));
    ADD_FAILURE() << "lowered a wgmma over 48-byte rows";
  } catch (const GroveError& e) {
    EXPECT_EQ(std::string(e.what()), "wgmma operand B 'B_s5' (f16, rows of 48 bytes) is not in a "
                                     "swizzled layout WGMMA reads");
    EXPECT_EQ(e.loc.line, line_of(gemm, "  mma(acc, A, B);")); // the mma statement
    EXPECT_NE(e.hint.find("make the tile's last dimension a multiple of 32 bytes"),
              std::string::npos)
        << e.hint;
  }
  std::string msg =
      lowering_error(replace(read_example("gemm_fp8.grove"), "BK = 128,", "BK = 48,"));
  EXPECT_EQ(msg, "instance 'wg_mma' issues mma 64x256x48 as WGMMA, but K = 48 is not a multiple of "
                 "32");
  // 48 f16 elements (96-byte rows) are three 32-byte panels; 16 is one.
  EXPECT_EQ(lowering_error(replace(gemm, "tunable BK = 64,", "tunable BK = 48,")), "");
  EXPECT_EQ(lowering_error(replace(gemm, "BM = 128, BN = 256;", "BM = 128, BN = 16;")), "");
}

// D = A·B + C: C's tile, read only by the epilogue, is loaded after the main loop's operands (the
// copy moves down to its first reader), so a persistent producer fills the next tile's rings
// without waiting for this tile's epilogue. Loaded by the producer, it never takes another
// buffer's space: with a third stage and no cluster, D's staging tile reuses the rings instead.
TEST(Lowering, EpilogueOperandIsLoadedAfterTheMainLoop) {
  const std::string text = read_example("gemm_residual.grove");
  lower::Lowered l = lower_text(text);
  const kir::Kernel& k = l.kernels.at(0);
  int c = -1;
  for (size_t i = 0; i < k.smem.size(); ++i)
    if (k.smem[i].name.rfind("C_s", 0) == 0) c = static_cast<int>(i);
  ASSERT_GE(c, 0);
  // The producer's tile body: the k loop, then C's loads.
  const kir::Op* kloop = find_loop(k.roles.at(0).body, "k");
  ASSERT_NE(kloop, nullptr);
  bool after = false, seen_loop = false;
  std::function<void(const kir::Body&)> walk = [&](const kir::Body& body) {
    for (const kir::Op& o : body) {
      if (&o == kloop) {
        seen_loop = true;
        continue;
      }
      walk(o.body);
      if (o.kind == kir::Op::TmaLoad && o.dst.index == c) after = seen_loop;
    }
  };
  walk(k.roles.at(0).body);
  EXPECT_TRUE(after) << kir::to_text(k);

  lower::Lowered deeper =
      lower_text(replace(text, "pipeline = 2;\n    persistent = true;\n    cluster = (2, 1);",
                         "pipeline = 3;\n    persistent = true;"),
                 {}, "h100");
  bool staging_reuses = false;
  for (const lower::Tensor& t : deeper.blocks.at(0).tensors) {
    if (t.name.rfind("C_s", 0) == 0) {
      EXPECT_LT(t.alias_of, 0) << t.name << " reuses a buffer";
    }
    if (t.name.rfind("D_s", 0) == 0) staging_reuses = t.alias_of >= 0;
  }
  EXPECT_TRUE(staging_reuses);
}

// gemm.grove with the epilogue's piece loop written at block level instead (variant
// gemm_tile.kloop_pieces, mapping block_pieces).
std::string with_block_pieces(const std::string& gemm) {
  return gemm + R"(
variant gemm_tile.kloop_pieces inner {
  tunable BK, WM, SN;
  local acc: f32[TM, TN];
  let accw = rows(acc, WM);
  let Ak = cols(A, BK);
  let Bk = rows(B, BK);
  for w in prange(cdiv(TM, WM)) {
    launch zero_wg(accw[w]);
  }
  for k in srange(cdiv(K, BK)) {
    launch mma_block(acc, Ak[k], Bk[k]);
  }
  for c in srange(cdiv(TN, SN)) {
    for w in prange(cdiv(TM, WM)) {
      launch store_piece(tile(C, WM, SN)[w, c], tile(acc, WM, SN)[w, c]);
    }
  }
}
mapping block_pieces extends h100_epilogue_pieces {
  instance block = gemm_tile.kloop_pieces @ BLOCK {
    tunable BK = 64, WM = 64, SN = 64;
    memory acc = NONE;
    warp_specialize = true;
    pipeline = 4;
    persistent = true;
    cluster = (2, 1);
  }
}
)";
}

// The epilogue in column pieces of the register accumulator: the piece loop is unrolled (each
// piece's registers named by constants: boxes at columns 0, 64, 128, 192), each piece stored by
// TMA from one of two 16 KiB staging slots; a piece loop without a constant trip count is refused.
TEST(Lowering, EpiloguePiecesOfTheAccumulatorAreUnrolled) {
  const std::string text = read_example("gemm.grove");
  lower::Lowered l = lower_text(text, {}, "h100_epilogue_pieces");
  const kir::Kernel& k = l.kernels.at(0);
  EXPECT_EQ(find_loop(k.roles.at(1).body, "c"), nullptr) << kir::to_text(k);
  std::vector<int64_t> columns;
  int stores = 0;
  std::function<void(const kir::Body&)> walk = [&](const kir::Body& body) {
    for (const kir::Op& o : body) {
      walk(o.body);
      if (o.kind == kir::Op::TmaStore) ++stores;
      if (o.kind != kir::Op::Compute) continue;
      for (const auto& [name, r] : o.tensors) {
        int64_t c = -1;
        if (r.kind == kir::Ref::Reg && r.shape == std::vector<int64_t>{64, 64} &&
            r.origin.size() == 2 && kir::is_const(r.origin[1], &c))
          columns.push_back(c);
      }
    }
  };
  walk(k.roles.at(1).body);
  EXPECT_EQ(columns, (std::vector<int64_t>{0, 64, 128, 192}));
  EXPECT_EQ(stores, 4);
  bool staging = false;
  for (const kir::SmemBuffer& b : k.smem)
    if (b.name.rfind("C_s", 0) == 0) {
      staging = true;
      EXPECT_EQ(b.shape, (std::vector<int64_t>{128, 64}));
      EXPECT_EQ(b.slots, 2);
    }
  EXPECT_TRUE(staging);
  // A piece loop whose trip count is not a constant (written at block level, where K is seen).
  std::string msg = lowering_error(replace(with_block_pieces(text),
                                           "for c in srange(cdiv(TN, SN)) {\n    for w in",
                                           "for c in srange(cdiv(min(K, TN), SN)) {\n    for w in"),
                                   {}, "block_pieces");
  EXPECT_NE(msg.find("the loop over 'c' takes a different piece of a register tensor each "
                     "iteration"),
            std::string::npos)
      << msg;
}

// A warpgroup task that launches leaves (store_wg.pieces) is inlined on each warpgroup, its
// srange becoming a block loop around the warpgroups' leaves: the same kernel as the loop written
// at block level around a prange (the warpgroups' iterations are independent).
TEST(Lowering, WarpgroupTasksThatLaunchAreInlined) {
  const std::string text = with_block_pieces(read_example("gemm.grove"));
  std::string in_warpgroup =
      kir::to_text(lower_text(text, {}, "h100_epilogue_pieces").kernels.at(0));
  std::string at_block = kir::to_text(lower_text(text, {}, "block_pieces").kernels.at(0));
  EXPECT_EQ(in_warpgroup, at_block);
}

// What a warpgroup task that launches others cannot do when lowered: hold a local (blocks and
// leaves do), or launch a task mapped at another level.
TEST(LoweringErrors, WarpgroupTaskLocalsAndLevels) {
  const std::string text = read_example("gemm.grove");
  std::string msg = lowering_error(
      replace(text, "variant store_wg.pieces inner {\n  tunable SN;\n",
              "variant store_wg.pieces inner {\n  tunable SN;\n  local tmp: f32[WM, SN];\n"),
      {}, "h100_epilogue_pieces");
  EXPECT_NE(msg.find("warpgroup task 'wg_store' declares local 'tmp': the lowering places locals "
                     "of blocks (SHARED, NONE) and of leaves (REGISTER, SHARED)"),
            std::string::npos)
      << msg;
  msg = lowering_error(replace(text, "instance wg_piece = store_piece.cast @ WARPGROUP",
                               "instance wg_piece = store_piece.cast @ THREAD"),
                       {}, "h100_epilogue_pieces");
  EXPECT_NE(msg.find("instance 'wg_store' launches 'wg_piece' at THREAD on a warpgroup; the "
                     "lowering runs warpgroup leaves here"),
            std::string::npos)
      << msg;
  // A prange over the pieces, its leaf at WARP (which the checker accepts): refused at the loop.
  msg = lowering_error(
      replace(replace(text, "  for c in srange(cdiv(TN, SN)) {\n    launch store_piece",
                      "  for c in prange(cdiv(TN, SN)) {\n    launch store_piece"),
              "instance wg_piece = store_piece.cast @ WARPGROUP",
              "instance wg_piece = store_piece.cast @ WARP"),
      {}, "h100_epilogue_pieces");
  EXPECT_NE(msg.find("a prange in warpgroup task 'wg_store': the lowering gives a warpgroup's "
                     "work to its 128 threads only in a leaf"),
            std::string::npos)
      << msg;
}

TEST(LoweringErrors, NestedPipelinedLoopsAreRefused) {
  // The K loop split into two nested sequential loops, each step copying tiles into shared memory.
  std::string text = replace(read_example("gemm.grove"), R"(  for k in srange(cdiv(K, BK)) {
    launch mma_block(acc, Ak[k], Bk[k]);
  })",
                             R"(  for k2 in srange(cdiv(K, 2 * BK)) {
    for k1 in srange(2) {
      launch mma_block(acc, Ak[2 * k2 + k1], Bk[2 * k2 + k1]);
    }
  })");
  EXPECT_NE(lowering_error(text).find(
                "copies refilled in nested sequential loops cannot be pipelined yet"),
            std::string::npos);
}

// Global tensors a kernel's ops write (or only read), by name: copies, and leaves that reach
// global memory directly (a leaf writes the names its assignments target).
std::set<std::string> global_names(const kir::Kernel& k, const kir::Body& b, bool written) {
  std::set<std::string> out;
  auto add = [&](const kir::Ref& r) {
    if (r.kind == kir::Ref::Global) out.insert(k.tensors.at(static_cast<size_t>(r.index)).name);
  };
  for (const kir::Op& op : b) {
    if (op.kind == kir::Op::TmaLoad || op.kind == kir::Op::TmaStore || op.kind == kir::Op::Copy)
      add(written ? op.dst : op.src);
    for (const auto& [name, r] : op.tensors) {
      bool target = false;
      for (const Stmt* st : op.stmts)
        target = target || (st->kind == Stmt::Assign && st->target == name);
      if (target == written) add(r);
    }
    for (const std::string& n : global_names(k, op.body, written)) out.insert(n);
  }
  return out;
}

// HOST locals (flash-decoding's partial results) become global tensors of the runtime's: the
// first kernel writes them, the second reads them. A HOST task run twice gets two of each.
TEST(Lowering, HostLocalsBecomeTemporariesBetweenKernels) {
  auto c = compile_file(example("attention_decode.grove"));
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.sizes = {{"D", 128}};
  lower::Lowered l = lower::lower_mapping(c->prog, *c->prog.find_mapping("decode_d128"), o);
  ASSERT_EQ(l.kernels.size(), 2u);
  std::map<std::string, std::string> temporaries;
  for (const kir::GlobalTensor& t : l.globals)
    if (t.temporary) temporaries[t.name] = kir::to_string(t.shape);
  EXPECT_EQ(temporaries, (std::map<std::string, std::string>{{"Op", "BH, cdiv(SK, 512), SQ, 128"},
                                                             {"Lp", "BH, cdiv(SK, 512), SQ"}}));
  // `grove explain --after PASS` lists them first.
  EXPECT_NE(lower::to_text(l).find("temporary GLOBAL Op: f32[BH, cdiv(SK, 512), SQ, 128]"),
            std::string::npos);
  auto all = [&](const kir::Kernel& k, bool written) {
    std::set<std::string> s;
    for (const kir::Role& r : k.roles)
      for (const std::string& n : global_names(k, r.body, written)) s.insert(n);
    return s;
  };
  EXPECT_EQ(all(l.kernels[0], true), (std::set<std::string>{"Op", "Lp"}));
  EXPECT_EQ(all(l.kernels[0], false), (std::set<std::string>{"Q", "K", "V"}));
  EXPECT_EQ(all(l.kernels[1], false), (std::set<std::string>{"Op", "Lp"}));
  EXPECT_EQ(all(l.kernels[1], true), (std::set<std::string>{"O"}));

  auto twice = compile_text(R"(
import "attention_decode.grove";
type T = f16;
task two(O1: write T[BH, SQ, D], O2: write T[BH, SQ, D], Q: read T[BH, SQ, D],
         K: read T[BH, SK, D], V: read T[BH, SK, D]);
variant two.both inner {
  launch attention_decode(O1, Q, K, V, 0.088);
  launch attention_decode(O2, Q, K, V, 0.088);
}
mapping both extends decode_d128 {
  entry top;
  instance top = two.both @ HOST {}
}
)",
                            example("two_decodes.grove"));
  ASSERT_EQ(twice->errors, "");
  lower::Lowered l2 = lower::lower_mapping(twice->prog, *twice->prog.find_mapping("both"), o);
  ASSERT_EQ(l2.kernels.size(), 4u);
  EXPECT_EQ(all(l2.kernels[0], true), (std::set<std::string>{"Op", "Lp"}));
  EXPECT_EQ(all(l2.kernels[2], true), (std::set<std::string>{"Op_2", "Lp_2"}));
  EXPECT_EQ(all(l2.kernels[3], false), (std::set<std::string>{"Op_2", "Lp_2"}));
  EXPECT_EQ(all(l2.kernels[3], true), (std::set<std::string>{"O2"}));
}

// A staging tile every iteration writes and stores by TMA (the quantization kernel's Q and its
// scales, a group of 128 columns a step) gets a slot per parity of the iteration, counted across
// the tiles of the persistent block: an iteration's writes wait only until the stores of the
// iteration before the last have read their slot (this thread's store groups since: the last
// iteration's two). Where the second slot does not fit, one slot and a wait for every store.
// A tile stored once per tile (the GEMM's epilogue) keeps one slot.
TEST(Lowering, StagingTilesStoredEveryIterationGetASlotPerParity) {
  auto slots_of = [](const kir::Kernel& k) {
    std::map<std::string, int> s;
    for (const kir::SmemBuffer& b : k.smem) s[b.name.substr(0, b.name.find('_'))] = b.slots;
    return s;
  };
  auto store_waits = [](const kir::Kernel& k) {
    std::vector<const kir::Op*> out;
    std::function<void(const kir::Body&)> walk = [&](const kir::Body& b) {
      for (const kir::Op& o : b) {
        if (o.kind == kir::Op::TmaStoreWait && !o.once) out.push_back(&o);
        walk(o.body);
      }
    };
    walk(k.roles.at(1).body);
    return out;
  };
  const std::string text = read_example("quantize_fp8_blockwise.grove");
  lower::Lowered l = lower_text(text);
  const kir::Kernel& k = l.kernels.at(0);
  EXPECT_EQ(slots_of(k), (std::map<std::string, int>{{"Q", 2}, {"X", 4}, {"sa", 2}}));
  ASSERT_EQ(store_waits(k).size(), 1u);
  EXPECT_EQ(store_waits(k)[0]->count, 2);
  const kir::Op* b = find_loop(k.roles.at(1).body, "b");
  ASSERT_NE(b, nullptr);
  int stores = 0;
  for (const kir::Op& o : b->body) {
    if (o.kind != kir::Op::TmaStore) continue;
    ++stores;
    for (int64_t tile = 0; tile < 3; ++tile)
      for (int64_t step = 0; step < 4; ++step)
        EXPECT_EQ(kir::eval(*o.src.slot,
                            std::map<std::string, int64_t>{{lower::kTileIter, tile}, {"b", step}}),
                  (4 * tile + step) % 2);
  }
  EXPECT_EQ(stores, 2);

  const kir::Kernel one = lower_text(replace(text, "persistent = true;",
                                             "persistent = true;\n    smem_bytes = 160000;"))
                              .kernels.at(0);
  EXPECT_EQ(slots_of(one), (std::map<std::string, int>{{"Q", 1}, {"X", 4}, {"sa", 1}}));
  ASSERT_EQ(store_waits(one).size(), 1u);
  EXPECT_EQ(store_waits(one)[0]->count, 0);

  const kir::Kernel gemm = lower_text(read_example("gemm.grove")).kernels.at(0);
  EXPECT_EQ(slots_of(gemm), (std::map<std::string, int>{{"A", 3}, {"B", 3}, {"C", 1}}));
}

} // namespace
