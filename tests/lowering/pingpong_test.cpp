// Ping-pong consumers: the two consumer warpgroups take turns on the tensor cores. The turns are
// a token passed through named barriers; these tests follow the token through the kernel IR, and
// check the mappings ping-pong cannot serve are refused with the reason.
#include <gtest/gtest.h>

#include <set>

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
      // Guards of wg alone are followed (the first hand-over); others (a release skipped in a
      // loop's first iteration, which need the sizes) touch no token.
      bool skip = false;
      try {
        skip = o.guard && kir::eval(*o.guard, env) == 0;
      } catch (const std::exception&) {
        EXPECT_NE(o.kind, kir::Op::NamedBarrierArrive) << "a hand-over guarded by more than wg";
      }
      if (skip) continue;
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

// Ping-pong over tiles: the GEMM's tile is one warpgroup's, and two warpgroups take alternate
// tiles of a persistent block, their main loops in turns.
TEST(PingPong, GemmWarpgroupsTakeAlternateTiles) {
  lower::Lowered l = lower_text(read_example("gemm.grove"), {}, "h100_pingpong");
  const kir::Kernel& k = l.kernels.at(0);
  ASSERT_TRUE(k.alternate_tiles);
  const kir::Role& consumers = k.roles.at(1);
  EXPECT_EQ(consumers.warpgroups, 2);
  EXPECT_EQ(consumers.max_regs, 240);
  // The staging tile is per warpgroup; the ring is the producer's, taken in turns.
  for (const kir::SmemBuffer& s : k.smem)
    EXPECT_EQ(s.slots, s.name.rfind("C_", 0) == 0 ? 2 : 4) << s.name;
  const kir::Op* tiles = nullptr;
  for (const kir::Op& o : consumers.body)
    if (o.kind == kir::Op::Loop) tiles = &o;
  ASSERT_NE(tiles, nullptr);
  EXPECT_EQ(tiles->var, "grove_turn");
  ASSERT_FALSE(tiles->lets.empty());
  EXPECT_EQ(tiles->lets[0].first, lower::kTileIter);
  EXPECT_EQ(kir::to_string(*tiles->lets[0].second), "((grove_turn * 2) + wg)");
  // Between them the two warpgroups run every tile iteration of the block, each once.
  const kir::Op& producer_tiles = *find_loop(k.roles.at(0).body, lower::kTileIter);
  std::map<std::string, int64_t> env = {
      {"M", 1000}, {"N", 1000}, {"K", 128}, {"grove_ctas", 6}, {"grove_cta", 2}};
  const int64_t all = kir::eval(*producer_tiles.extent, env);
  EXPECT_EQ(all, 11); // 16 x 4 tiles in 32 groups of 2: the second of 3 clusters takes 11
  std::set<int64_t> seen;
  for (int64_t wg = 0; wg < 2; ++wg) {
    env["wg"] = wg;
    for (int64_t t = 0; t < kir::eval(*tiles->extent, env); ++t) {
      env["grove_turn"] = t;
      EXPECT_TRUE(seen.insert(kir::eval(*tiles->lets[0].second, env)).second);
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(all));
  EXPECT_EQ(*seen.rbegin(), all - 1);
  // Each warpgroup's main loop is its turn; every wgmma is issued in it.
  for (int wg = 0; wg < 2; ++wg) {
    Token t{wg};
    t.run(consumers.body, 3);
    EXPECT_EQ(t.outside, 0) << "wg " << wg;
    EXPECT_GT(t.inside, 0) << "wg " << wg;
    EXPECT_EQ(t.takes, t.passes) << "wg " << wg;
  }
}

TEST(PingPong, AlternateTilesNeedAPersistentBlock) {
  // h100_pingpong extends h100, whose block is persistent: turned off in the ping-pong mapping.
  std::string text = replace(read_example("gemm.grove"), "    pingpong = true;\n",
                             "    pingpong = true;\n    persistent = false;\n");
  std::string msg = lowering_error(text, {}, "h100_pingpong");
  EXPECT_NE(msg.find("asks for ping-pong consumers on alternate tiles (its tile is one "
                     "warpgroup's), but is not persistent"),
            std::string::npos)
      << msg;
}

TEST(PingPong, AlternateTilesNeedEveryLoadInTheLoop) {
  // Attention with 64-row query tiles: one warpgroup's each, and Q loaded once per tile.
  std::string text = replace_in_mapping(read_example("attention.grove"), "h100_d128",
                                        "tunable BQ = 128;", "tunable BQ = 64;");
  std::string msg = lowering_error(text, {{"D", 64}}, "h100_d64");
  EXPECT_NE(msg.find("asks for ping-pong consumers on alternate tiles, but loads data once per "
                     "tile"),
            std::string::npos)
      << msg;
}

TEST(PingPong, AlternateTilesRefuseReusedRingSpace) {
  // Five 40 KiB stages leave no room for two staging tiles beside them.
  std::string text = replace_in_mapping(read_example("gemm.grove"), "h100_pingpong",
                                        "pipeline = 4;", "pipeline = 5;");
  std::string msg = lowering_error(text, {}, "h100_pingpong");
  EXPECT_NE(msg.find("asks for ping-pong consumers on alternate tiles, but its shared buffer "
                     "'C_s6' reuses another's space"),
            std::string::npos)
      << msg;
}

} // namespace
