#include "test_util.h"

#include "scheduler/costs.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace grove::sched {
namespace {

TEST(Model, MachinesCiteEveryFigure) {
  for (const char* name : {"h100", "h200"}) {
    Machine m = load_machine(name);
    EXPECT_EQ(m.name, name);
    for (const Unit& u : m.units) EXPECT_FALSE(u.source.empty()) << name << " unit " << u.name;
    for (const Rate& r : m.rates) EXPECT_FALSE(r.source.empty()) << name << " rate " << r.work;
    for (const auto& [k, kind] : m.kinds) EXPECT_FALSE(kind.source.empty()) << name << " " << k;
    for (const auto& [k, src] : m.sources) EXPECT_FALSE(src.empty()) << name << " " << k;
    EXPECT_EQ(m.regs_per_thread_max, 255);
    EXPECT_EQ(m.register_file, 65536);
    EXPECT_EQ(m.smem_bytes, 227 * 1024);
    ASSERT_NE(m.rate("tensor_fma"), nullptr);
    EXPECT_EQ(m.rate("tensor_fma")->per_clock, 2048);
  }
}

TEST(Model, CostsFollowTheMachine) {
  Machine m = load_machine("h100");
  Graph g = testing::graph("fa3_forward");
  Problem p = build_problem(g, m);
  const OpCost& qk = p.ops[g.op_index("qk_a")];
  EXPECT_TRUE(qk.async);
  EXPECT_EQ(qk.busy, m.kinds.at("wgmma").issue_cycles);
  EXPECT_EQ(qk.latency, 64 * 128 * 128 / 2048 + m.kinds.at("wgmma").latency);
  const OpCost& sm = p.ops[g.op_index("softmax_a")];
  EXPECT_FALSE(sm.async);
  EXPECT_EQ(sm.busy, 8192 / 16 + 36864 / 128); // MUFU then FP32 phases, serialised
  EXPECT_TRUE(p.ops[g.op_index("load_k")].variable_latency);
}

TEST(Model, NormalisationDividesByTheGcd) {
  Machine m = load_machine("h100");
  Graph g = testing::graph("gemm_mainloop");
  Problem raw = build_problem(g, m);
  Problem norm = build_problem(g, m);
  normalise(norm);
  EXPECT_EQ(norm.time_unit, 32);
  for (size_t i = 0; i < raw.ops.size(); ++i) {
    EXPECT_EQ(norm.ops[i].latency * norm.time_unit, raw.ops[i].latency);
    EXPECT_EQ(norm.ops[i].busy * norm.time_unit, raw.ops[i].busy);
  }
  EXPECT_EQ(lower_bound(norm).ii * norm.time_unit, lower_bound(raw).ii);
}

TEST(Model, ErrorsNameTheProblem) {
  EXPECT_THROW(parse_graph("{\"name\": \"x\", \"ops\": [{\"name\": \"a\"}]}"), std::runtime_error);
  try {
    parse_graph("{\"name\": \"x\", \"ops\": [{\"name\": \"a\", \"kind\": \"alu\"}], "
                "\"edges\": [{\"from\": \"a\", \"to\": \"zz\"}]}",
                "g.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("g.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("zz"), std::string::npos);
  }
  Machine m = load_machine("h100");
  Graph g = parse_graph("{\"name\": \"x\", \"ops\": [{\"name\": \"a\", \"kind\": \"nope\"}]}");
  EXPECT_THROW(build_problem(g, m), std::runtime_error);
}

} // namespace
} // namespace grove::sched
