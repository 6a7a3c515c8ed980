// Ping-pong consumers: the two consumer warpgroups take turns on the tensor cores. The turns are
// a token passed through named barriers; these tests follow the token through the kernel IR, and
// check the mappings ping-pong cannot serve are refused with the reason.
#include <gtest/gtest.h>

#include "lowering/passes.h"
#include "lowering_util.h"

using namespace grove;
using namespace grove::test;

namespace {

// Runs warpgroup `wg`'s consumer code for `iterations` of every loop, following its token: a
// bar.sync on its own barrier takes it, a bar.arrive on the other's passes it. Returns how many
// wgmmas were issued without the token (0 when every wgmma is inside a turn).
struct Token {
  int wg = 0;
  bool held = false;
  int outside = 0, inside = 0, passes = 0, takes = 0;
  void run(const kir::Body& b, int iterations) {
    for (const kir::Op& o : b) {
      std::map<std::string, int64_t> env = {{"wg", wg}};
      if (o.guard && kir::eval(*o.guard, env) == 0) continue;
      if (o.kind == kir::Op::Loop) {
        for (int i = 0; i < iterations; ++i) run(o.body, iterations);
      } else if (o.kind == kir::Op::NamedBarrier && o.id_expr) {
        EXPECT_EQ(kir::eval(*o.id_expr, env), 8 + wg) << "a warpgroup waits on its own barrier";
        EXPECT_FALSE(held) << "taking a token already held";
        held = true;
        ++takes;
      } else if (o.kind == kir::Op::NamedBarrierArrive) {
        EXPECT_EQ(kir::eval(*o.id_expr, env), 9 - wg) << "a warpgroup hands over to the other";
        if (!o.once) {
          EXPECT_TRUE(held) << "passing a token not held";
          held = false;
          ++passes;
        }
      } else if (o.kind == kir::Op::Wgmma) {
        (held ? inside : outside)++;
      }
    }
  }
};

TEST(PingPong, EveryWgmmaIsIssuedInTheWarpgroupsTurn) {
  for (const char* file : {"attention.grove", "attention_causal.grove"}) {
    lower::Lowered l = lower_text(read_example(file), {{"D", 128}});
    const kir::Role& consumers = l.kernels.at(0).roles.at(1);
    for (int wg = 0; wg < 2; ++wg) {
      Token t{wg};
      t.run(consumers.body, 3);
      EXPECT_EQ(t.outside, 0) << file << " wg " << wg;
      EXPECT_GT(t.inside, 0) << file << " wg " << wg;
      EXPECT_FALSE(t.held) << file << ": wg " << wg << " keeps the token at the end";
      EXPECT_EQ(t.takes, t.passes) << file;
    }
  }
}

TEST(PingPong, NeedsTwoConsumerWarpgroups) {
  // The attention kernel without turns, cut to one consumer warpgroup, then given its turns.
  lower::Lowered l = lower_text(read_example("attention.grove"), {{"D", 128}});
  lower::Lowered plain = lower_text(
      replace(read_example("attention.grove"), "    pingpong = true;\n", ""), {{"D", 128}});
  kir::Kernel k = plain.kernels.at(0);
  k.roles[1].warpgroups = 1;
  const lower::BlockProgram& b = l.blocks.at(0); // pingpong = true
  try {
    lower::take_turns(k, b);
    FAIL() << "expected an error";
  } catch (const GroveError& e) {
    EXPECT_NE(std::string(e.what()).find("asks for ping-pong consumers, but has 1 consumer "
                                         "warpgroup(s)"),
              std::string::npos)
        << e.what();
  }
}

TEST(PingPong, NeedsTwoGemmsPerIteration) {
  std::string text = replace(read_example("gemm.grove"), "    pipeline = 3;\n",
                             "    pipeline = 3;\n    pingpong = true;\n");
  std::string msg = lowering_error(text);
  EXPECT_NE(msg.find("asks for ping-pong consumers, but an iteration of loop "
                     "'k' issues 1 wgmma group(s)"),
            std::string::npos)
      << msg;
}

} // namespace
