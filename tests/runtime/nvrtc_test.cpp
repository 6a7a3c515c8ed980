// NVRTC compiles every example's kernels (as the printed unit reads under __CUDACC_RTC__, with
// the device headers passed by contents) into a fresh cache; the second compile is a cache hit
// and fast; the CUBIN is an ELF image holding the kernel's symbol. Skipped without NVRTC.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

#include "cli/commands.h"
#include "cuda/print_cuda.h"
#include "lowering/pipeline.h"
#include "runtime/compile.h"
#include "runtime/nvrtc.h"
#include "test_util.h"

using namespace grove;
using namespace grove::runtime;

namespace {

struct Case {
  std::string file, mapping;
  std::map<std::string, int64_t> sizes;
  TypeArgs types = {}; // type parameters set (`--type T=bf16`)
};

std::string case_name(const Case& c) {
  std::string n = c.file.substr(0, c.file.find('.')) + "_" + c.mapping;
  for (auto& [k, v] : c.types) n += std::string("_") + elem_name(v);
  return n;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(c);
}

class NvrtcExamples : public ::testing::TestWithParam<Case> {};

TEST_P(NvrtcExamples, CompilesThroughTheCache) {
  std::string why;
  if (!Nvrtc::find(&why)) GTEST_SKIP() << why;
  const Case& c = GetParam();
#ifdef GROVE_SANITIZED_BUILD
  if (c.file != "gemm.grove" || c.mapping != "h100" || !c.types.empty())
    GTEST_SKIP() << "sanitizer build: NVRTC compiles gemm.grove's h100 kernel only";
#endif
  auto prog = test::compile_file(test::example(c.file), c.types);
  ASSERT_EQ(prog->errors, "");
  lower::LowerOptions lo;
  lo.sizes = c.sizes;
  lower::Lowered lowered =
      lower::lower_mapping(prog->prog, *prog->prog.find_mapping(c.mapping), lo);
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("grove-nvrtc-test-" + std::to_string(getpid()) + "-" + case_name(c));
  fs::remove_all(dir);
  CompileOptions opts;
  opts.cache_dir = dir.string();
  for (const kir::Kernel& k : lowered.kernels) {
    Cubin cold = compile(k, opts);
    EXPECT_FALSE(cold.cache_hit);
    ASSERT_GT(cold.image.size(), 4u);
    EXPECT_EQ(cold.image.compare(0, 4,
                                 "\x7f"
                                 "ELF"),
              0);
    EXPECT_NE(cold.image.find(cuda::kernel_symbol(k)), std::string::npos);
    EXPECT_TRUE(fs::exists(cold.cache_path)) << cold.cache_path;
    Cubin warm = compile(k, opts);
    EXPECT_TRUE(warm.cache_hit);
    EXPECT_EQ(warm.image, cold.image);
    EXPECT_EQ(warm.cache_path, cold.cache_path);
    EXPECT_LT(warm.seconds, 0.05);
    // ptxas's report comes with the CUBIN, from the cache too; the timed build (these options)
    // keeps every example in registers with its wgmmas in flight.
    EXPECT_TRUE(cold.ptxas.known()) << cold.log;
    EXPECT_EQ(warm.ptxas.registers, cold.ptxas.registers);
    EXPECT_FALSE(cold.ptxas.spills()) << summary(cold.ptxas);
    EXPECT_TRUE(cold.ptxas.performance_notes.empty()) << cold.log;
    std::printf("[ nvrtc ] %s %s: cold %.3f s, warm %.2f ms, cubin %zu bytes, %s\n",
                case_name(c).c_str(), k.name.c_str(), cold.seconds, warm.seconds * 1e3,
                cold.image.size(), summary(cold.ptxas).c_str());
    // Another option set is another key.
    CompileOptions li = opts;
    li.line_info = true;
    li.use_cache = false;
    EXPECT_FALSE(compile(k, li).cache_hit);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Examples, NvrtcExamples,
    ::testing::Values(
        Case{"gemm.grove", "h100", {{"M", 4096}, {"N", 4096}, {"K", 4096}}},
        Case{"gemm.grove", "h100_pingpong", {{"M", 4096}, {"N", 4096}, {"K", 1024}}},
        Case{"gemm.grove", "h100", {{"M", 1024}, {"N", 1024}, {"K", 512}}, {{"T", ElemType::BF16}}},
        Case{"linear.grove", "h100", {{"M", 1024}, {"N", 1024}, {"K", 512}}},
        Case{"gemm_fp8.grove", "h100", {{"M", 1024}, {"N", 1024}, {"K", 512}}},
        Case{"gemm_fp8_blockwise.grove",
             "blockwise_h100",
             {{"M", 1024}, {"N", 1024}, {"K", 512}, {"KB", 4}, {"NB", 8}}},
        Case{"quantize_fp8_blockwise.grove", "h100", {{"M", 1024}, {"K", 2048}, {"KB", 16}}},
        Case{"batched_gemm.grove", "h100", {{"L", 4}, {"M", 512}, {"N", 512}, {"K", 256}}},
        Case{"dual_gemm.grove", "h100", {{"M", 1024}, {"N", 1024}, {"K", 512}}},
        Case{"gemm_bias_gelu.grove", "h100", {{"M", 1024}, {"N", 1024}, {"K", 512}}},
        Case{"gemm_rowsum.grove", "h100", {{"M", 1024}, {"N", 1024}, {"K", 512}}},
        Case{"gemm_splitk.grove", "h100_splitk", {{"M", 1024}, {"N", 1024}, {"K", 16384}}},
        Case{"attention.grove", "h100_d64", {{"BH", 8}, {"S", 1024}, {"D", 64}}},
        Case{"attention.grove", "h100_d128", {{"BH", 8}, {"S", 1024}, {"D", 128}}},
        Case{"attention_fp8.grove", "fp8_d128", {{"BH", 8}, {"S", 1024}, {"D", 128}}},
        Case{"attention_causal.grove", "h100_d64_causal", {{"BH", 8}, {"S", 1024}, {"D", 64}}},
        Case{"attention_causal.grove", "h100_d128_causal", {{"BH", 8}, {"S", 1024}, {"D", 128}}},
        Case{"attention.grove", "h100_d256", {{"BH", 8}, {"S", 1024}, {"D", 256}}},
        Case{"attention_causal.grove", "h100_d256_causal", {{"BH", 8}, {"S", 1024}, {"D", 256}}},
        Case{"attention_gqa.grove", "gqa_d128", {{"BKV", 2}, {"G", 4}, {"S", 1024}, {"D", 128}}},
        Case{"attention_prefill.grove",
             "prefill_d256",
             {{"BH", 8}, {"SQ", 512}, {"SK", 2048}, {"D", 256}}},
        Case{"attention_decode.grove", "decode_d128", {{"BH", 32}, {"SQ", 1}, {"D", 128}}}),
    [](const ::testing::TestParamInfo<Case>& i) { return case_name(i.param); });

// `grove compile` fills the cache without a GPU, with both builds of each kernel (timed, and
// checked: hangs trap), each with what ptxas said of it: compiled the
// first time, hits the second, and the cubins it names are where a later --gpu run or bench
// looks (GROVE_CACHE_DIR).
TEST(NvrtcCli, CompileFillsTheCacheWithoutAGpu) {
  std::string why;
  if (!Nvrtc::find(&why)) GTEST_SKIP() << why;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("grove-compile-cli-" + std::to_string(getpid()));
  fs::remove_all(dir);
  setenv("GROVE_CACHE_DIR", dir.c_str(), 1);
  CliOptions o;
  o.file = test::example("gemm.grove");
  o.sizes = {{"M", 512}, {"N", 512}, {"K", 256}};
  std::ostringstream out, err;
  EXPECT_EQ(cmd_compile(o, out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  std::istringstream lines(out.str());
  std::string timed, checked;
  std::getline(lines, timed);
  std::getline(lines, checked);
  EXPECT_EQ(timed.rfind("gemm_tile_0 (timed): compiled in ", 0), 0u) << out.str();
  EXPECT_EQ(checked.rfind("gemm_tile_0 (checked): compiled in ", 0), 0u) << out.str();
  std::vector<std::string> paths;
  for (const std::string& line : {timed, checked}) {
    paths.push_back(line.substr(line.rfind(": ") + 2));
    EXPECT_TRUE(fs::exists(paths.back())) << paths.back();
    EXPECT_EQ(fs::path(paths.back()).parent_path(), dir);
  }
  EXPECT_NE(paths[0], paths[1]);
  std::ostringstream out2, err2;
  EXPECT_EQ(cmd_compile(o, out2, err2), 0) << err2.str();
  // The report comes from the cache too. The checked build may spill (its trap costs registers),
  // which `grove compile` says without a warning: only the timed build is what `grove bench` times.
  std::istringstream lines2(out2.str());
  std::getline(lines2, timed);
  std::getline(lines2, checked);
  EXPECT_EQ(timed,
            "gemm_tile_0 (timed): already in the cache, 168 registers, no spills: " + paths[0]);
  EXPECT_EQ(checked.rfind("gemm_tile_0 (checked): already in the cache, 168 registers, ", 0), 0u)
      << checked;
  EXPECT_EQ(checked.substr(checked.rfind(": ") + 2), paths[1]);
  EXPECT_EQ(err2.str(), "");
  unsetenv("GROVE_CACHE_DIR");
  fs::remove_all(dir);
}

} // namespace
