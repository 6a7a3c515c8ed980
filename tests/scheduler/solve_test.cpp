// Optimal answers on hand-written graphs. Expected values are derived in the comments from the
// graph and machine figures and recomputed here from them, so changing a figure changes the
// expectation instead of breaking the test silently.
#include "checker.h"
#include "test_util.h"

#include "scheduler/costs.h"
#include "scheduler/solve.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace grove::sched {
namespace {

using testing::check_schedule;
using testing::graph;
using testing::overlaps_mod;

int64_t unit_work(const Problem& p, const std::string& unit) {
  int u = p.machine->unit_index(unit);
  int64_t total = 0;
  for (const OpCost& c : p.ops)
    for (const UnitUse& use : c.units)
      if (use.unit == u) total += use.cycles;
  return total;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

void expect_valid(const Graph& g, const Machine& m, const Schedule& s) {
  ASSERT_TRUE(s.feasible) << s.reason;
  for (const std::string& v : check_schedule(g, m, s)) ADD_FAILURE() << v;
}

TEST(Solve, GemmMainLoopFindsProducerConsumerSplitAndDepth) {
  Machine m = load_machine("h100");
  Graph g = graph("gemm_mainloop");
  Schedule s = solve(g, m);
  expect_valid(g, m, s);
  Problem p = build_problem(g, m);

  // Tensor-bound: the II equals one iteration of tensor work (two 64x256x64 chains) and no
  // smaller II was possible.
  EXPECT_EQ(s.ii, unit_work(p, "tensor"));
  EXPECT_EQ(s.ii, s.ii_lower_bound);
  EXPECT_TRUE(s.proven_optimal);

  // Producer/consumer split: the loads alone on one warpgroup; the two accumulators (128
  // registers each) cannot share a warpgroup under 255 registers, so two consumers.
  EXPECT_EQ(s.producer_roles(), 1);
  EXPECT_EQ(s.consumer_roles(), 2);
  EXPECT_EQ(s.role_of("load_a"), s.role_of("load_b"));
  EXPECT_NE(s.role_of("mma_top"), s.role_of("mma_bot"));
  EXPECT_NE(s.role_of("load_a"), s.role_of("mma_top"));

  // Depth hides the TMA latency: a slot stays busy from the load's issue through its latency,
  // the barrier hand-off and the wgmma that reads it.
  for (const char* load : {"load_a", "load_b"}) {
    int i = g.op_index(load);
    int64_t lifetime =
        p.ops[i].latency + m.cross_role_latency + p.ops[g.op_index("mma_top")].latency;
    const Buffer* b = s.buffer(load);
    ASSERT_NE(b, nullptr);
    EXPECT_GE(b->copies, ceil_div(lifetime, s.ii)) << load;
    EXPECT_GE(b->copies, 2) << load;
    EXPECT_EQ(b->memory, "smem");
  }
  EXPECT_LE(s.smem_bytes, m.smem_bytes);
  EXPECT_GE(s.stages, 2);
}

TEST(Solve, GemmMainLoopOnH200) {
  Machine m = load_machine("h200");
  Graph g = graph("gemm_mainloop");
  Schedule s = solve(g, m);
  expect_valid(g, m, s);
  EXPECT_EQ(s.ii, s.ii_lower_bound);
  EXPECT_EQ(s.consumer_roles(), 2);
}

// FA3 d128: per 64-row half, S = QK^T (512 tensor cycles), softmax (512 MUFU cycles, 800 warp
// cycles with the FP32 work; its result is ready 960 cycles after it starts) and O += PV (512).
// Tensor bound: II = 4 * 512 = 2048, all four GEMMs back to back. In one half's chain QK must
// end (640) before the softmax, and P must be ready (960) before PV, so PV starts at least 1600
// after QK. With the tensor core full, the GEMMs sit 512 apart, so PV(j) can only follow QK(j)
// by 512, 1024, 1536 or 2560 cycles: 2560, i.e. after QK(j+1). That is the FA3 structure: QK is
// issued one iteration ahead (hoisted into the prologue). Both halves on one warpgroup would need
// 32 + 2 * (64 + 32 + 64) registers per thread, so each half gets its own consumer warpgroup, and
// each softmax (800 cycles, it cannot overlap its own warpgroup's previous PV, which it waits
// for) must run while the other warpgroup's GEMMs use the tensor cores: ping-pong.
TEST(Solve, FlashAttentionFindsFa3Structure) {
  Machine m = load_machine("h100");
  Graph g = graph("fa3_forward");
  Schedule s = solve(g, m);
  expect_valid(g, m, s);
  Problem p = build_problem(g, m);

  EXPECT_EQ(s.ii, unit_work(p, "tensor"));
  EXPECT_TRUE(s.proven_optimal);

  // One producer, two consumers, one per half.
  EXPECT_EQ(s.producer_roles(), 1);
  EXPECT_EQ(s.consumer_roles(), 2);
  for (const char* h : {"a", "b"}) {
    std::string half(h);
    EXPECT_EQ(s.role_of("qk_" + half), s.role_of("softmax_" + half));
    EXPECT_EQ(s.role_of("pv_" + half), s.role_of("softmax_" + half));
  }
  int wa = s.role_of("softmax_a"), wb = s.role_of("softmax_b");
  EXPECT_NE(wa, wb);

  // QK hoisted: PV of iteration j is issued after QK of iteration j+1, so the two are in
  // different stages whatever the loop's rotation.
  for (const char* h : {"a", "b"}) {
    std::string half(h);
    const OpSlot* qk = s.op("qk_" + half);
    const OpSlot* pv = s.op("pv_" + half);
    EXPECT_GT(pv->start - qk->start, s.ii) << half;
    EXPECT_GT(pv->stage, qk->stage) << half;
  }

  // Ping-pong: each softmax overlaps tensor work issued by the other consumer warpgroup.
  auto overlaps_other_tensor = [&](const std::string& softmax, int other) {
    const OpSlot* sm = s.op(softmax);
    for (const OpSlot& o : s.ops) {
      if (o.role != other) continue;
      for (const UnitSlot& u : o.units)
        if (u.unit == "tensor" && overlaps_mod(sm->offset, sm->busy, o.offset, u.cycles, s.ii))
          return true;
    }
    return false;
  };
  EXPECT_TRUE(overlaps_other_tensor("softmax_a", wb));
  EXPECT_TRUE(overlaps_other_tensor("softmax_b", wa));

  // K and V are at least double-buffered.
  EXPECT_GE(s.buffer("load_k")->copies, 2);
  EXPECT_GE(s.buffer("load_v")->copies, 2);
}

Graph one_half_attention() {
  Graph full = graph("fa3_forward");
  Graph g;
  g.name = "fa_one_half";
  g.fixed_smem_bytes = full.fixed_smem_bytes;
  for (const Op& op : full.ops)
    if (op.name.back() != 'b') g.ops.push_back(op);
  for (const Edge& e : full.edges) {
    const std::string& a = full.ops[e.src].name;
    const std::string& b = full.ops[e.dst].name;
    if (a.back() == 'b' || b.back() == 'b') continue;
    Edge copy = e;
    copy.src = g.op_index(a);
    copy.dst = g.op_index(b);
    g.edges.push_back(copy);
  }
  return g;
}

// One half alone: the chain PV(j-1) -> softmax(j) -> PV(j) takes 640 + 960 = 1600 cycles, more
// than the 1024 of tensor work, so with registers to spare the II is that recurrence.
TEST(Solve, SingleHalfAttentionIsRecurrenceBound) {
  Machine m = load_machine("h100");
  m.regs_per_thread_max = 320; // hypothetical: registers never bind
  Graph g = one_half_attention();
  Schedule s = solve(g, m);
  expect_valid(g, m, s);
  Problem p = build_problem(g, m);
  int64_t cycle = p.ops[g.op_index("pv_a")].latency + p.ops[g.op_index("softmax_a")].latency;
  EXPECT_EQ(s.ii, cycle);
  EXPECT_GT(s.ii, unit_work(p, "tensor"));
  EXPECT_NE(s.bound_reason.find("loop-carried"), std::string::npos) << s.bound_reason;
  EXPECT_EQ(s.consumer_roles(), 1);
}

// Under the real 255-register limit the same graph cannot keep two copies of S (32 + 2*64 +
// 32 + 64 > 255), so S must die within one II: softmax_end - qk <= II, i.e. qk >= sm + 800 - II,
// while qk <= sm - 640 and sm + 960 <= pv <= sm + II - 640 (the recurrence). PV(j) then follows
// QK(j) by at least 1600 > II - 512, so on the tensor circle it must come after QK(j+1):
// pv - qk >= II + 512, and pv - qk <= 2*II - 1440. Hence II >= 640 + 800 + 512 = 1952.
TEST(Solve, SingleHalfAttentionUnderTheRegisterLimit) {
  Machine m = load_machine("h100");
  Graph g = one_half_attention();
  Schedule s = solve(g, m);
  expect_valid(g, m, s);
  Problem p = build_problem(g, m);
  const OpCost& qk = p.ops[g.op_index("qk_a")];
  int64_t expected = qk.latency + p.ops[g.op_index("softmax_a")].busy + qk.units[0].cycles;
  EXPECT_EQ(s.ii, expected);
  EXPECT_TRUE(s.proven_optimal);
  EXPECT_EQ(s.buffer("qk_a")->copies, 1);
}

// Normalisation is exact: solving in raw cycles gives the same II.
TEST(Solve, NormalisationDoesNotChangeTheAnswer) {
  Machine m = load_machine("h100");
  Graph g = graph("gemm_mainloop");
  SolveOptions raw;
  raw.normalise = false;
  raw.improve_budget_s = 0.2;
  Schedule a = solve(g, m);
  Schedule b = solve(g, m, raw);
  expect_valid(g, m, b);
  EXPECT_GT(a.time_unit, 1);
  EXPECT_EQ(b.time_unit, 1);
  EXPECT_EQ(a.ii, b.ii);
  EXPECT_EQ(a.consumer_roles(), b.consumer_roles());
}

struct InfeasibleCase {
  const char* graph;
  const char* limit;
};

class Infeasible : public ::testing::TestWithParam<InfeasibleCase> {};

TEST_P(Infeasible, NamesTheBindingLimit) {
  Machine m = load_machine("h100");
  Schedule s = solve(graph(GetParam().graph), m);
  EXPECT_FALSE(s.feasible);
  ASSERT_EQ(s.binding_limits.size(), 1u) << s.reason;
  EXPECT_EQ(s.binding_limits[0], GetParam().limit);
  EXPECT_NE(s.reason.find(GetParam().limit), std::string::npos) << s.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Graphs, Infeasible,
    ::testing::Values(InfeasibleCase{"infeasible_registers", "registers per thread"},
                      InfeasibleCase{"infeasible_smem", "shared memory"},
                      InfeasibleCase{"infeasible_register_file", "register file"}),
    [](const ::testing::TestParamInfo<InfeasibleCase>& param_info) {
      return std::string(param_info.param.graph);
    });

// The same FA graph on a machine that allows 160 registers per thread: one half alone needs
// 32 + 64 + 32 + 64 = 192 on its warpgroup, and splitting a half moves a register value across
// warpgroups, which costs registers on both sides.
TEST(Solve, AttentionUnderARegisterCapReportsRegisters) {
  Machine m = load_machine("h100");
  m.regs_per_thread_max = 160;
  Schedule s = solve(graph("fa3_forward"), m);
  EXPECT_FALSE(s.feasible);
  ASSERT_FALSE(s.binding_limits.empty()) << s.reason;
  EXPECT_NE(std::find(s.binding_limits.begin(), s.binding_limits.end(), "registers per thread"),
            s.binding_limits.end())
      << s.reason;
}

// With fewer warpgroups than a producer plus two consumers, attention has no schedule.
TEST(Solve, AttentionWithTwoWarpgroupsReportsWarpgroups) {
  Machine m = load_machine("h100");
  m.max_roles = 2;
  Schedule s = solve(graph("fa3_forward"), m);
  EXPECT_FALSE(s.feasible);
  EXPECT_NE(std::find(s.binding_limits.begin(), s.binding_limits.end(), "warpgroups per block"),
            s.binding_limits.end())
      << s.reason;
}

TEST(Solve, EveryExampleSolvesWithinFiveSeconds) {
  Machine m = load_machine("h100");
  for (const char* name : {"gemm_mainloop", "fa3_forward", "infeasible_registers",
                           "infeasible_smem", "infeasible_register_file"}) {
    Schedule s = solve(graph(name), m);
    EXPECT_LT(s.solve_seconds, 5.0) << name;
  }
}

} // namespace
} // namespace grove::sched
