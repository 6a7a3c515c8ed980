// Lowered examples in the emulator: each runs under many random schedules on fresh random inputs
// and must match the reference interpreter; and every synchronization op the lowering emitted is
// needed: deleting any one of them (or shrinking a ring) is caught by the emulator.
#include <gtest/gtest.h>

#include <fstream>

#include "emulator/emulator.h"
#include "example_cases.h"
#include "lowering/passes.h"
#include "lowering_util.h"

using namespace grove;
using namespace grove::test;

namespace {

int schedules() {
  const char* s = std::getenv("GROVE_EMULATOR_SCHEDULES"); // a longer soak: e.g. 10000
  return s ? std::max(1, std::atoi(s)) : 100;
}

struct Setup {
  std::unique_ptr<Compiled> prog;
  const MappingDecl* mapping = nullptr;
  const TaskDecl* task = nullptr;
  lower::Lowered lowered;
  EntryArgs inputs;   // fresh random inputs, outputs poisoned
  EntryArgs expected; // the reference interpreter's results under the same mapping
  std::map<std::string, int64_t> sizes;
};

std::unique_ptr<Setup> setup(const Case& c, uint64_t seed) {
  auto s = std::make_unique<Setup>();
  s->prog = c.from.empty()
                ? compile_file(example(c.file), c.types)
                : compile_text(replace(read_example(c.file), c.from, c.to), example(c.file),
                               c.types); // named by its path: what it imports lies beside it
  s->sizes = c.sizes;
  EXPECT_EQ(s->prog->errors, "");
  s->mapping = s->prog->prog.find_mapping(c.mapping);
  s->task = entry_task(s->prog->prog, *s->mapping);
  // Lower as for the GPU: only the head dimension (it shapes on-chip tiles) is fixed; every other
  // size stays a kernel parameter the emulator binds at run time.
  lower::LowerOptions o;
  if (c.sizes.count("D")) o.sizes = {{"D", c.sizes.at("D")}};
  s->lowered = lower::lower_mapping(s->prog->prog, *s->mapping, o);
  s->inputs = allocate_entry(*s->task, c.sizes, s->mapping->loc);
  for (auto& [k, v] : c.scalars) s->inputs.scalars[k] = v;
  randomize(*s->task, s->inputs, seed);
  s->expected = deep_copy(s->inputs);
  run_mapping(s->prog->prog, *s->mapping, s->expected, RunOptions{});
  return s;
}

// Runs every kernel once under `seed`; returns the emulator's errors and the worst relative
// error of a written tensor against the interpreter.
std::pair<std::vector<std::string>, double>
emulate_once(const Setup& s, const std::vector<kir::Kernel>& kernels, uint64_t seed) {
  EntryArgs run = deep_copy(s.inputs);
  std::vector<std::string> errors;
  EmulatorOptions eo;
  eo.seed = seed;
  eo.sources = &s.prog->sm;
  for (const kir::Kernel& k : kernels) {
    EmulatorReport r = emulate(k, run.tensors, s.sizes, run.scalars, eo);
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
  }
  double worst = 0;
  for (const Param& p : s.task->params)
    if (p.type.is_tensor && can_write(p.priv))
      worst = std::max(
          worst, rel_error(run.tensors.at(p.name)->data, s.expected.tensors.at(p.name)->data));
  return {errors, worst};
}

// Under schedules seed, seed + 1, ... (n of them): no emulator errors, and every written tensor
// as the interpreter computed it.
void expect_emulation_matches(const Setup& s, uint64_t seed, int n) {
  for (int i = 0; i < n; ++i) {
    auto [errors, err] = emulate_once(s, s.lowered.kernels, seed + static_cast<uint64_t>(i));
    ASSERT_TRUE(errors.empty()) << "schedule seed " << seed + i << ": " << errors.front();
    ASSERT_LE(err, 1e-3) << "schedule seed " << seed + i;
  }
}

class Emulation : public ::testing::TestWithParam<Case> {};

TEST_P(Emulation, MatchesTheInterpreterUnderRandomSchedules) {
  const Case& c = GetParam();
  uint64_t seed = std::random_device{}();
  auto s = setup(c, seed);
  expect_emulation_matches(*s, seed, schedules());
}

INSTANTIATE_TEST_SUITE_P(Examples, Emulation, ::testing::ValuesIn(example_cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return case_name(param_info.param);
                         });

// A ring of one slot: the k loop's wgmma group cannot stay in flight into the next iteration (it
// would hold the slot the next iteration waits to see refilled: a deadlock), so each iteration
// retires its group and releases the slot itself. Both GEMM mappings, ragged.
TEST(Emulation, OneSlotRingsRetireTheGroupBeforeTheRelease) {
  const std::map<std::string, int64_t> sizes = {{"M", 200}, {"N", 300}, {"K", 136}};
  for (const Case& c :
       {Case{"gemm.grove", "h100", sizes, {}, "pipeline = 3;", "pipeline = 1;"},
        Case{"gemm.grove", "h100_pingpong", sizes, {}, "pipeline = 4;", "pipeline = 1;"}}) {
    SCOPED_TRACE(c.mapping);
    const uint64_t seed = std::random_device{}();
    auto s = setup(c, seed);
    const kir::Op* k = find_loop(s->lowered.kernels.at(0).roles.at(1).body, "k");
    ASSERT_NE(k, nullptr);
    int waits = 0;
    for (const kir::Op& o : k->body)
      if (o.kind == kir::Op::WgmmaWait) {
        ++waits;
        EXPECT_EQ(o.count, 0);
      }
    EXPECT_EQ(waits, 1);
    expect_emulation_matches(*s, seed, 5);
  }
}

// 192x192 tiles over three consumer warpgroups, two stages, under a 150000-byte bound: the 72 KiB
// C staging tile is placed first and the rings over it, but C is the one written last, so its
// first write waits (a barrier of all consumers, each past its last wgmma wait) for every
// warpgroup's wgmmas to finish reading the rings; the rings' reads in the k loop wait for
// nothing (the producer refills them only once the tile is done). Ragged, persistent, several
// tiles a block.
TEST(Emulation, AStagingTileOverTheRingsWaitsForEveryWarpgroupsWgmmas) {
  const Case c{"gemm.grove",
               "h100",
               {{"M", 400}, {"N", 520}, {"K", 136}},
               {},
               "tunable BM = 128, BN = 256;\n  }\n  instance block = gemm_tile.kloop @ BLOCK {\n"
               "    tunable BK = 64, WM = 64;\n    memory acc = NONE;\n    warp_specialize = "
               "true;\n    pipeline = 3;\n    persistent = true;\n    cluster = (2, 1);",
               "tunable BM = 192, BN = 192;\n  }\n  instance block = gemm_tile.kloop @ BLOCK {\n"
               "    tunable BK = 64, WM = 64;\n    memory acc = NONE;\n    warp_specialize = "
               "true;\n    pipeline = 2;\n    smem_bytes = 150000;\n    persistent = true;"};
  const uint64_t seed = std::random_device{}();
  auto s = setup(c, seed);
  const kir::Kernel& k = s->lowered.kernels.at(0);
  ASSERT_EQ(k.roles.at(1).warpgroups, 3);
  for (const kir::SmemBuffer& b : k.smem)
    if (b.name.rfind("C", 0) == 0) {
      EXPECT_EQ(b.offset, 0) << "C is placed first";
    }
  const kir::Op* kloop = find_loop(k.roles.at(1).body, "k");
  ASSERT_NE(kloop, nullptr);
  EXPECT_EQ(count_ops(kloop->body, kir::Op::NamedBarrier), 0);
  const kir::Op* tiles = find_loop(k.roles.at(1).body, lower::kTileIter);
  ASSERT_NE(tiles, nullptr);
  EXPECT_EQ(count_ops(tiles->body, kir::Op::NamedBarrier), 1);
  expect_emulation_matches(*s, seed, 5);
}

// ---- mutations ----

bool is_sync(kir::Op::Kind k) {
  using K = kir::Op::Kind;
  return k == K::MbarArrive || k == K::MbarArriveExpectTx || k == K::MbarWait ||
         k == K::WgmmaFence || k == K::WgmmaWait || k == K::FenceProxyAsync ||
         k == K::NamedBarrier || k == K::TmaStoreWait || k == K::NamedBarrierArrive;
}

// Paths to every synchronization op: (role, index path through loop bodies).
void collect(const kir::Body& b, std::vector<size_t>& path, std::vector<std::vector<size_t>>& out) {
  for (size_t i = 0; i < b.size(); ++i) {
    path.push_back(i);
    if (is_sync(b[i].kind)) out.push_back(path);
    collect(b[i].body, path, out);
    path.pop_back();
  }
}

kir::Body& body_at(kir::Body& b, const std::vector<size_t>& path, size_t depth) {
  if (depth + 1 == path.size()) return b;
  return body_at(b[path[depth]].body, path, depth + 1);
}

// True when some schedule reports an error or gives results the interpreter disagrees with.
bool caught(const Setup& s, const std::vector<kir::Kernel>& kernels) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    auto [errors, err] = emulate_once(s, kernels, seed);
    if (!errors.empty() || !(err <= 1e-3)) return true;
  }
  return false;
}

void mutate_all(const Case& c) {
  auto s = setup(c, 42);
  ASSERT_FALSE(caught(*s, s->lowered.kernels)) << "the unmutated kernel must pass";
  int mutations = 0;
  for (size_t ki = 0; ki < s->lowered.kernels.size(); ++ki)
    for (size_t r = 0; r < s->lowered.kernels[ki].roles.size(); ++r) {
      std::vector<std::vector<size_t>> paths;
      std::vector<size_t> path;
      collect(s->lowered.kernels[ki].roles[r].body, path, paths);
      for (const auto& p : paths) {
        std::vector<kir::Kernel> ks = s->lowered.kernels;
        kir::Body& body = body_at(ks[ki].roles[r].body, p, 0);
        std::string what = std::string(kir::op_name(body[p.back()].kind)) + " (" +
                           body[p.back()].note + ") in role " + ks[ki].roles[r].name;
        body.erase(body.begin() + static_cast<long>(p.back()));
        ++mutations;
        EXPECT_TRUE(caught(*s, ks)) << "deleting " << what << " was not caught";
        // A cluster-wide release made local: the other block's producer refills a slot still in
        // use. Where it reaches two groups (2 x 2 clusters), also each group left out in turn.
        ks = s->lowered.kernels;
        const kir::Op& o = body_at(ks[ki].roles[r].body, p, 0)[p.back()];
        const std::vector<unsigned> groups = o.cluster_groups;
        if (groups.empty()) continue;
        for (size_t g = 0; g <= groups.size(); ++g) {
          if (groups.size() == 1 && g == 1) break;
          ks = s->lowered.kernels;
          kir::Op& m = body_at(ks[ki].roles[r].body, p, 0)[p.back()];
          m.cluster_groups.clear();
          for (size_t h = 0; h < groups.size() && g < groups.size(); ++h)
            if (h != g) m.cluster_groups.push_back(groups[h]);
          ++mutations;
          EXPECT_TRUE(caught(*s, ks))
              << "releasing to " << m.cluster_groups.size() << " of " << groups.size()
              << " groups (" << m.note << ") was not caught";
        }
      }
    }
  // Shrinking a ring's empty barriers: one slot, or one arrival where every consumer must arrive.
  for (size_t ki = 0; ki < s->lowered.kernels.size(); ++ki)
    for (size_t bi = 0; bi < s->lowered.kernels[ki].barriers.size(); ++bi) {
      const kir::Barrier& b = s->lowered.kernels[ki].barriers[bi];
      if (b.name.find("empty") == std::string::npos) continue;
      std::vector<kir::Kernel> ks = s->lowered.kernels;
      ks[ki].barriers[bi].arrivals = 1;
      ++mutations;
      EXPECT_TRUE(caught(*s, ks)) << "one arrival on " << b.name << " was not caught";
    }
  EXPECT_GE(mutations, 8);
  std::cout << "  " << mutations << " mutations of " << c.file << " tried\n";
}

TEST(EmulatorMutations, GemmEverySyncOpIsNeeded) {
  // 3 tiles, so some seeds run two or three tiles in one persistent block.
  mutate_all({"gemm.grove", "h100", {{"M", 384}, {"N", 256}, {"K", 320}}, {}});
}

TEST(EmulatorMutations, GemmStagingInRingSpaceEverySyncOpIsNeeded) {
  mutate_all({"gemm.grove",
              "h100",
              {{"M", 384}, {"N", 256}, {"K", 320}},
              {},
              "pipeline = 3;\n    persistent = true;\n    cluster = (2, 1);",
              "pipeline = 4;\n    persistent = true;",
              "pipeline4"});
}

TEST(EmulatorMutations, GemmClusters2x2EverySyncOpIsNeeded) {
  // 4 x 2 tiles: two groups, which some seeds give one cluster.
  mutate_all({"gemm.grove",
              "h100",
              {{"M", 512}, {"N", 512}, {"K", 320}},
              {},
              "cluster = (2, 1);",
              "cluster = (2, 2);",
              "clusters_2x2"});
}

TEST(EmulatorMutations, GemmPingPongOverTilesEverySyncOpIsNeeded) {
  // 6 x 2 tiles in 6 groups: every block takes several, so both warpgroups have tiles.
  mutate_all({"gemm.grove", "h100_pingpong", {{"M", 384}, {"N", 512}, {"K", 320}}, {}});
}

TEST(EmulatorMutations, AttentionEverySyncOpIsNeeded) {
  mutate_all(
      {"attention.grove", "h100_d64", {{"BH", 1}, {"S", 640}, {"D", 64}}, {{"sm_scale", 0.125}}});
}

// A temporary whose shape is negative at the sizes given is an error naming it, not an attempt to
// allocate 2^64 elements.
TEST(EmulatorTemporaries, NegativeShapeIsAnError) {
  auto c = compile_text(replace(read_example("attention_decode.grove"),
                                "local Lp: f32[BH, cdiv(SK, KC), SQ];",
                                "local Lp: f32[BH, cdiv(SK, KC), SQ - 5];"),
                        example("attention_decode.grove"));
  ASSERT_EQ(c->errors, "");
  lower::LowerOptions o;
  o.sizes = {{"D", 64}};
  lower::Lowered l = lower::lower_mapping(c->prog, *c->prog.find_mapping("decode_d64"), o);
  const std::map<std::string, int64_t> sizes = {{"BH", 1}, {"SQ", 2}, {"SK", 600}, {"D", 64}};
  EntryArgs args =
      allocate_entry(*entry_task(c->prog, *c->prog.find_mapping("decode_d64")), sizes, SourceLoc{});
  args.scalars["sm_scale"] = 0.125;
  EmulatorReport r = emulate(l.kernels.at(0), args.tensors, sizes, args.scalars);
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("the temporary 'Lp' would be [1, 2, -3] at these sizes"),
            std::string::npos)
      << r.errors[0];
  EXPECT_EQ(args.tensors.count("Lp"), 0u);
}

} // namespace
