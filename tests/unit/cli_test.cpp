// The `grove` subcommands end to end, in process: what they print and what they write.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/session.h"
#include "cli/commands.h"
#include "test_util.h"

using namespace grove;
namespace fs = std::filesystem;

namespace {

struct Result {
  int rc;
  std::string out, err;
};

Result run(int (*cmd)(const CliOptions&, std::ostream&, std::ostream&), const CliOptions& o) {
  std::ostringstream out, err;
  int rc = cmd(o, out, err);
  return {rc, out.str(), err.str()};
}

TEST(Cli, RunEmulateChecksTheLoweredKernel) {
  CliOptions o;
  o.file = test::example("gemm.grove");
  o.sizes = {{"M", 130}, {"N", 256}, {"K", 96}};
  o.emulate = true;
  o.schedules = 5;
  o.check = true;
  Result r = run(cmd_run, o);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("emulated 1 kernel(s) under 5 schedule(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no errors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("check C:"), std::string::npos) << r.out;
}

// FP8 attention rounds P to e4m3 before P·V: --check holds its bf16 output to e4m3's bound and
// says why.
TEST(Cli, CheckBoundFollowsNarrowerIntermediates) {
  CliOptions o;
  o.file = test::example("attention_fp8.grove");
  o.mapping = "fp8_d128";
  o.sizes = {{"BH", 1}, {"S", 130}, {"D", 128}};
  o.check = true;
  Result r = run(cmd_run, o);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("(bound 1.0e-01 for bf16 through narrower intermediates) ok"),
            std::string::npos)
      << r.out;
}

// --type: attention's `type T = f16;` set to bf16, run and checked on the CPU and in the emulator;
// the text of --type parsed as NAME=TYPE pairs.
TEST(Cli, TypeArgumentsSetTheProgramsTypeParameters) {
  CliOptions o;
  o.file = test::example("attention_causal.grove");
  o.mapping = "h100_d64_causal";
  o.sizes = {{"BH", 1}, {"S", 150}, {"D", 64}};
  o.types = {{"T", ElemType::BF16}};
  o.emulate = true;
  o.check = true;
  Result r = run(cmd_run, o);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("(BH=1 D=64 S=150; T=bf16)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(bound 8.0e-03 for bf16) ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no errors"), std::string::npos) << r.out;

  TypeArgs t;
  EXPECT_EQ(parse_type_args("T=bf16,U=f32", t), "");
  EXPECT_EQ(t, (TypeArgs{{"T", ElemType::BF16}, {"U", ElemType::F32}}));
  EXPECT_EQ(parse_type_args("T", t), "expected NAME=TYPE, got 'T'");
  EXPECT_EQ(parse_type_args("T=f64", t),
            "'f64' is not an element type a parameter can take (f16, bf16, f32, e4m3 or e5m2)");
  EXPECT_EQ(parse_type_args("T=e4m3", t), "");
  EXPECT_EQ(t.at("T"), ElemType::E4M3);
}

// `check --size` elaborates the mappings that enter the default mapping's task; the imported
// ones entering another task are named in a note, and elaborated when --mapping picks one.
TEST(Cli, CheckElaboratesTheMappingsOfTheTaskTheSizesAreFor) {
  CliOptions o;
  o.file = test::example("attention_gqa.grove");
  o.sizes = {{"BKV", 2}, {"G", 2}, {"S", 256}, {"D", 128}};
  Result r = run(cmd_check, o);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("note: not elaborated with these sizes, as they enter another task: "
                       "h100_d128 (attention), h100_d64 (attention), h100_d256 (attention)"),
            std::string::npos)
      << r.out;
  // Elaborated, so a size that breaks the grouped mappings fails the check.
  o.sizes.erase("G");
  r = run(cmd_check, o);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("size 'G' of task 'attention_gqa' is not given"), std::string::npos)
      << r.err;
  o.mapping = "h100_d64";
  o.sizes = {{"BH", 2}, {"S", 256}, {"D", 64}};
  r = run(cmd_check, o);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("note:"), std::string::npos) << r.out;
}

// `explain` shows the settings a mapping inherits: gqa_d64 extends h100_d64, which changes
// h100_d128's pipeline depth.
TEST(Cli, ExplainShowsInheritedBlockOptions) {
  CliOptions o;
  o.file = test::example("attention_gqa.grove");
  o.mapping = "gqa_d64";
  Result r = run(cmd_explain, o);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("host = attention_gqa.tiles @ HOST"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("block options: warp_specialize=true pipeline=3 pingpong=true "
                       "persistent=true"),
            std::string::npos)
      << r.out;
}

TEST(Cli, ExplainAfterKernelIrShowsRoles) {
  CliOptions o;
  o.file = test::example("gemm.grove");
  o.after = "kernel-ir";
  Result r = run(cmd_explain, o);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("role producer (1 warp, 24 registers)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("role consumers (2 warpgroup(s), 240 registers)"), std::string::npos)
      << r.out;
  o.after = "nonsense";
  r = run(cmd_explain, o);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown pass 'nonsense'"), std::string::npos) << r.err;
}

TEST(Cli, BuildWritesCudaAndAHeader) {
  CliOptions o;
  o.file = test::example("attention.grove");
  o.mapping = "h100_d64";
  o.sizes = {{"D", 64}};
  o.out_dir = (fs::temp_directory_path() / "grove_cli_build_test").string();
  fs::remove_all(o.out_dir);
  Result r = run(cmd_build, o);
  ASSERT_EQ(r.rc, 0) << r.err;
  fs::path header = fs::path(o.out_dir) / "attention_h100_d64.h";
  ASSERT_TRUE(fs::exists(header)) << r.out;
  std::ifstream in(header);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("cudaError_t attn_block_0_launch(void* O, const void* Q, const void* K, "
                          "const void* V, int BH, "
                          "int S, float sm_scale, cudaStream_t stream);"),
            std::string::npos)
      << ss.str();
  // The layout callers must give (rows padded to 16 bytes, as the kernels read them).
  EXPECT_NE(ss.str().find("each row starting a multiple of 16 bytes"), std::string::npos)
      << ss.str();
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "attention_h100_d64_attn_block_0.cu"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "grove_sm90.cuh"));
}

TEST(Cli, BuildGeneratesClustersWithAndWithoutPersistence) {
  CliOptions o;
  o.file = test::example("gemm.grove");
  o.out_dir = (fs::temp_directory_path() / "grove_cli_build_warn").string();
  Result r = run(cmd_build, o);
  ASSERT_EQ(r.rc, 0) << r.err;
  // Persistent grids and clusters are printed: nothing to warn about.
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // Nor clusters without a persistent grid (one group of tiles per cluster).
  std::string text = test::read_text(o.file);
  text.replace(text.find("persistent = true;"), 18, "persistent = false;");
  o.file = (fs::temp_directory_path() / "grove_cli_cluster_not_persistent.grove").string();
  std::ofstream(o.file) << text;
  r = run(cmd_build, o);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // A block launched once has no tiles to split: built without clusters, and the caller is told.
  // (The ping-pong mapping, which extends h100 and sets its tile height, goes.)
  text.erase(text.find("mapping h100_pingpong"));
  text.replace(text.find("variant gemm.tiles inner {"), 0,
               "variant gemm.one inner {\n  launch gemm_tile(C, A, B);\n}\n\n");
  const std::string host = "instance host = gemm.tiles @ HOST {";
  text.replace(text.find(host), host.size(), "instance host = gemm.one @ HOST {");
  text.replace(text.find("tunable BM = 128, BN = 256;"), 27, "");
  o.file = (fs::temp_directory_path() / "grove_cli_cluster_one_block.grove").string();
  std::ofstream(o.file) << text;
  o.sizes = {{"M", 128}, {"N", 256}, {"K", 128}};
  r = run(cmd_build, o);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "grove: warning: kernel 'gemm_tile_0' asks for clusters of 2x1 blocks, but has "
                   "no grid of tiles for them to split: no clusters, no multicast\n");
}

TEST(Cli, ScheduleNeedsAFixedHeadDimension) {
  CliOptions o;
  o.file = test::example("attention.grove");
  o.schedule = true;
  Result r = run(cmd_explain, o);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("fix that size when compiling, e.g. --size D=128"), std::string::npos)
      << r.err;
}

} // namespace
