// The runtime's host side: driver types, the cache, tensor maps, launch plans, the no-driver
// error of `grove run --gpu`.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/session.h"
#include "cli/commands.h"
#include "cuda/print_cuda.h"
#include "lowering/pipeline.h"
#include "runtime/cache.h"
#include "runtime/driver.h"
#include "runtime/flops.h"
#include "runtime/launch.h"
#include "runtime/run.h"
#include "runtime/tensor_map.h"
#include "test_util.h"

#ifdef GROVE_HAVE_CUDA_H
#include <cuda.h>
#endif

using namespace grove;
using namespace grove::runtime;

namespace {

// The example, or its text with `from` replaced by `to`, lowered.
std::vector<kir::Kernel> lower_example(const std::string& file, const std::string& mapping,
                                       const std::map<std::string, int64_t>& sizes,
                                       const std::string& from = "", const std::string& to = "",
                                       const TypeArgs& types = {}) {
  static std::vector<std::unique_ptr<test::Compiled>> keep; // kernels point into the AST
  if (from.empty()) {
    keep.push_back(test::compile_file(test::example(file), types));
  } else {
    std::string text = test::read_text(test::example(file));
    text.replace(text.find(from), from.size(), to);
    keep.push_back(test::compile_text(text, file));
  }
  const test::Compiled& c = *keep.back();
  EXPECT_EQ(c.errors, "");
  lower::LowerOptions lo;
  lo.sizes = sizes;
  return lower::lower_mapping(c.prog, *c.prog.find_mapping(mapping), lo).kernels;
}

} // namespace

#ifdef GROVE_HAVE_CUDA_H
TEST(RuntimeDriver, TypesMatchCudaH) {
  static_assert(sizeof(cu::TensorMap) == sizeof(CUtensorMap));
  static_assert(sizeof(cu::LaunchConfig) == sizeof(CUlaunchConfig));
  static_assert(sizeof(cu::LaunchAttribute) == sizeof(CUlaunchAttribute));
  static_assert(offsetof(cu::LaunchConfig, attrs) == offsetof(CUlaunchConfig, attrs));
  static_assert(offsetof(cu::LaunchAttribute, value) == offsetof(CUlaunchAttribute, value));
  static_assert(cu::kAttrComputeCapabilityMajor == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  static_assert(cu::kAttrComputeCapabilityMinor == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  static_assert(cu::kAttrMaxSharedMemoryPerBlockOptin ==
                CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  static_assert(cu::kAttrMultiprocessorCount == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  static_assert(cu::kFuncAttrMaxDynamicSharedSizeBytes ==
                CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
  static_assert(cu::kLaunchAttrClusterDimension == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);
  static_assert(int{cu::kTmaFloat16} == int{CU_TENSOR_MAP_DATA_TYPE_FLOAT16});
  static_assert(int{cu::kTmaBfloat16} == int{CU_TENSOR_MAP_DATA_TYPE_BFLOAT16});
  static_assert(int{cu::kTmaFloat32} == int{CU_TENSOR_MAP_DATA_TYPE_FLOAT32});
  static_assert(int{cu::kTmaUint8} == int{CU_TENSOR_MAP_DATA_TYPE_UINT8});
  static_assert(int{cu::kSwizzle128B} == int{CU_TENSOR_MAP_SWIZZLE_128B});
  static_assert(int{cu::kSwizzle64B} == int{CU_TENSOR_MAP_SWIZZLE_64B});
  static_assert(int{cu::kSwizzle32B} == int{CU_TENSOR_MAP_SWIZZLE_32B});
  static_assert(cu::kL2Promotion256B == CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
  static_assert(cu::kOobFillNone == CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  static_assert(cu::kInterleaveNone == CU_TENSOR_MAP_INTERLEAVE_NONE);
  static_assert(cu::kPointerAttrMemoryType == CU_POINTER_ATTRIBUTE_MEMORY_TYPE);
  static_assert(cu::kPointerAttrDeviceOrdinal == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL);
  static_assert(cu::kPointerAttrRangeStartAddr == CU_POINTER_ATTRIBUTE_RANGE_START_ADDR);
  static_assert(cu::kPointerAttrRangeSize == CU_POINTER_ATTRIBUTE_RANGE_SIZE);
  static_assert(cu::kMemoryTypeHost == CU_MEMORYTYPE_HOST);
  static_assert(cu::kMemoryTypeDevice == CU_MEMORYTYPE_DEVICE);
  static_assert(cu::kMemoryTypeUnified == CU_MEMORYTYPE_UNIFIED);
}
#endif

// Golden: without libcuda.so.1, --gpu fails at once with this message and exit status 1.
TEST(RuntimeDriver, RunGpuWithoutDriverSaysSo) {
  if (Driver::available()) GTEST_SKIP() << "a CUDA driver is loadable here";
  EXPECT_THROW(Driver::get(), Error);
  CliOptions o;
  o.file = test::example("gemm.grove");
  o.sizes = {{"M", 128}, {"N", 256}, {"K", 64}};
  o.gpu = true;
  o.check = true;
  std::ostringstream out, err;
  EXPECT_EQ(cmd_run(o, out, err), 1);
  EXPECT_EQ(err.str(),
            "grove: error: no CUDA driver (libcuda.so.1 not found): running on the GPU needs an "
            "NVIDIA GPU and its driver\n"
            "  hint: install the NVIDIA driver, or run on the CPU: `grove run FILE --check` (the "
            "interpreter) or `--emulate` (the kernels in the emulator); from the API, target cpu "
            "or emulator\n");
  EXPECT_EQ(out.str(), "");
  std::ostringstream out2, err2;
  EXPECT_EQ(cmd_bench(o, out2, err2), 1);
  EXPECT_NE(err2.str().find("no CUDA driver"), std::string::npos);
}

TEST(RuntimeCache, KeysAreLengthPrefixed) {
  EXPECT_EQ(hash_key({"ab", "c"}), hash_key({"ab", "c"}));
  EXPECT_NE(hash_key({"ab", "c"}), hash_key({"a", "bc"}));
  EXPECT_NE(hash_key({"x"}), hash_key({"y"}));
  EXPECT_EQ(hash_key({}).size(), 32u);
}

TEST(RuntimeCache, StoresTheLogBesideAndRejectsNonElf) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("grove-cache-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  KernelCache c(dir.string());
  EXPECT_FALSE(c.load("k", "0").has_value());
  std::string elf = std::string("\x7f"
                                "ELF") +
                    std::string(60, 'x');
  EXPECT_TRUE(c.store("k", "0", {elf, "ptxas info    : Used 32 registers"}));
  std::optional<CacheEntry> hit = c.load("k", "0");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->image, elf);
  EXPECT_EQ(hit->log, "ptxas info    : Used 32 registers");
  EXPECT_TRUE(c.store("k", "1", {"garbage", ""}));
  EXPECT_FALSE(c.load("k", "1").has_value());
  // An entry whose log is gone is recompiled, so a hit always reports what ptxas said.
  fs::remove(fs::path(c.path("k", "0")).replace_extension(".log"));
  EXPECT_FALSE(c.load("k", "0").has_value());
  fs::remove_all(dir);
}

// NVRTC's log with --ptxas-options=-v, as CUDA 13 writes it (a checked build of gemm.grove's
// kernel that spilled), with a second entry function after it.
const char* kPtxasLog = R"(ptxas info    : 8 bytes gmem
ptxas info    : Compiling entry function 'gemm_tile_0_kernel' for 'sm_90a'
ptxas info    : Function properties for gemm_tile_0_kernel
ptxas         .     256 bytes stack frame, 256 bytes spill stores, 248 bytes spill loads
ptxas info    : Used 168 registers, used 16 barriers, 256 bytes cumulative stack size
ptxas info    : Compile time = 239.256 ms
ptxas info    : Compiling entry function 'other_kernel' for 'sm_90a'
ptxas info    : Function properties for other_kernel
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 40 registers, used 1 barriers
)";

TEST(RuntimePtxasReport, ReadsTheKernelsRegistersAndSpills) {
  PtxasReport r = parse_ptxas_report(kPtxasLog, "gemm_tile_0_kernel");
  EXPECT_EQ(r.registers, 168);
  EXPECT_EQ(r.stack_bytes, 256);
  EXPECT_EQ(r.spill_store_bytes, 256);
  EXPECT_EQ(r.spill_load_bytes, 248);
  EXPECT_TRUE(r.spills());
  EXPECT_EQ(summary(r), "168 registers, 256 bytes spill stores, 248 bytes spill loads");
  std::vector<std::string> w = ptxas_warnings(r, "gemm_tile_0");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("kernel 'gemm_tile_0' spills registers to local memory"), std::string::npos);
  EXPECT_NE(w[0].find("smaller tile"), std::string::npos) << "says what to do";

  PtxasReport other = parse_ptxas_report(kPtxasLog, "other_kernel");
  EXPECT_EQ(other.registers, 40);
  EXPECT_FALSE(other.spills());
  EXPECT_EQ(summary(other), "40 registers, no spills");
  EXPECT_TRUE(ptxas_warnings(other, "other").empty());

  PtxasReport absent = parse_ptxas_report(kPtxasLog, "missing_kernel");
  EXPECT_FALSE(absent.known());
  EXPECT_EQ(summary(absent), "registers not reported");
  EXPECT_FALSE(parse_ptxas_report("", "gemm_tile_0_kernel").known());
}

TEST(RuntimePtxasReport, PassesOnSerializedWgmmas) {
  std::string log = std::string(kPtxasLog) +
                    "ptxas info    : (C7515) Potential Performance Loss: wgmma.mma_async "
                    "instructions are serialized due to the presence of Extern calls in the "
                    "function 'other_kernel'.\n";
  PtxasReport r = parse_ptxas_report(log, "other_kernel");
  ASSERT_EQ(r.performance_notes.size(), 1u);
  EXPECT_EQ(r.performance_notes[0].rfind("(C7515) Potential Performance Loss: wgmma", 0), 0u)
      << r.performance_notes[0];
  std::vector<std::string> w = ptxas_warnings(r, "other");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rfind("kernel 'other': ptxas: (C7515)", 0), 0u) << w[0];
}

TEST(RuntimeStorage, RoundTripsEachType) {
  for (ElemType t :
       {ElemType::F16, ElemType::BF16, ElemType::F32, ElemType::E4M3, ElemType::E5M2}) {
    Buffer b("x", t, {3}, 0);
    b.data = {round_to(t, 0.1), -2.5, std::nan("")};
    Buffer c = b;
    const std::vector<unsigned char> bytes = to_storage(b);
    EXPECT_EQ(bytes.size(), 3u * static_cast<size_t>(elem_bytes(t)));
    from_storage(bytes, c);
    EXPECT_EQ(c.data[0], b.data[0]) << elem_name(t);
    EXPECT_EQ(c.data[1], -2.5);
    EXPECT_TRUE(std::isnan(c.data[2]));
  }
  EXPECT_EQ(to_storage(Buffer("x", ElemType::E4M3, {1}, 1.0))[0], 0x38); // the e4m3 pattern
}

TEST(RuntimeLaunch, GemmPlan) {
  std::map<std::string, int64_t> sizes = {{"M", 300}, {"N", 520}, {"K", 192}};
  std::vector<kir::Kernel> ks = lower_example("gemm.grove", "h100", sizes);
  ASSERT_EQ(ks.size(), 1u);
  LaunchPlan p = plan_launch(ks[0], sizes);
  // cdiv(300, 128) = 3 tile rows in clusters of 2 (the fourth row is outside C) x cdiv(520, 256)
  // = 3 tile columns: 6 groups of 2 tiles, one cluster each when the SM count is not given.
  ASSERT_TRUE(ks[0].persistent);
  EXPECT_EQ(p.blocks, 2 * 6);
  EXPECT_EQ(p.cluster_x, 2u);
  // At most one block per SM, in whole clusters, each looping over its tiles.
  EXPECT_EQ(plan_launch(ks[0], sizes, 5).blocks, 4);
  EXPECT_EQ(plan_launch(ks[0], sizes, 132).blocks, 12);
  EXPECT_EQ(p.threads, ks[0].threads());
  EXPECT_EQ(p.smem_bytes, cuda::launch_smem_bytes(ks[0]));
  // Work as issued: whole 128x256 tiles (12 with the row outside C), K = 192.
  EXPECT_DOUBLE_EQ(mma_flops(ks[0], sizes), 12 * 2.0 * 128 * 256 * 192);
  // Without a persistent grid: every group of tiles its own cluster, whatever the SM count.
  std::vector<kir::Kernel> np =
      lower_example("gemm.grove", "h100", sizes, "persistent = true;", "persistent = false;");
  ASSERT_FALSE(np[0].persistent);
  EXPECT_EQ(plan_launch(np[0], sizes, 5).blocks, 12);
  EXPECT_EQ(plan_launch(np[0], sizes, 5).cluster_x, 2u);
  EXPECT_DOUBLE_EQ(mma_flops(np[0], sizes), 12 * 2.0 * 128 * 256 * 192);
  EXPECT_TRUE(cuda::unhonoured_options(np[0]).empty());
}

// K steps of 32 f16 elements: A's tiles have 64-byte rows, in the 64-byte swizzle, and the box
// row may not be wider than the span.
TEST(RuntimeTensorMap, NarrowSwizzleBoundsTheBoxRow) {
  std::map<std::string, int64_t> sizes = {{"M", 256}, {"N", 512}, {"K", 192}};
  std::vector<kir::Kernel> ks =
      lower_example("gemm.grove", "h100", sizes, "tunable BK = 64,", "tunable BK = 32,");
  int narrow = 0;
  for (cuda::TensorMapSpec m : cuda::tensor_maps(ks[0])) {
    if (m.swizzle != kir::Swizzle::B64) continue;
    ++narrow;
    TensorMapArgs a = plan_tensor_map(ks[0], m, sizes, 0x10000);
    EXPECT_EQ(a.swizzle, cu::kSwizzle64B);
    EXPECT_EQ(a.box[0], 32u);
    m.box.back() = 64; // 128 bytes
    try {
      plan_tensor_map(ks[0], m, sizes, 0x10000);
      ADD_FAILURE() << "a 128-byte box row in the 64-byte swizzle must be refused";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("a 64B-swizzled box row is 128 bytes (at most 64)"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(narrow, 1); // A's (B's rows are 512 bytes, C's too)
}

TEST(RuntimeTensorMap, GemmMapsMirrorTheLauncher) {
  std::map<std::string, int64_t> sizes = {{"M", 256}, {"N", 512}, {"K", 192}};
  std::vector<kir::Kernel> ks = lower_example("gemm.grove", "h100", sizes);
  std::vector<cuda::TensorMapSpec> maps = cuda::tensor_maps(ks[0]);
  ASSERT_FALSE(maps.empty());
  std::string printed = cuda::print_cuda(ks[0]);
  for (const cuda::TensorMapSpec& m : maps) {
    EXPECT_NE(printed.find("grove::TensorMap " + m.name), std::string::npos) << m.name;
    TensorMapArgs a = plan_tensor_map(ks[0], m, sizes, 0x10000);
    const kir::GlobalTensor& t = ks[0].tensors[static_cast<size_t>(m.tensor)];
    ASSERT_EQ(a.rank, 2);
    EXPECT_EQ(a.dims[0], static_cast<uint64_t>(kir::eval(*t.shape[1], sizes)));
    EXPECT_EQ(a.dims[1], static_cast<uint64_t>(kir::eval(*t.shape[0], sizes)));
    EXPECT_EQ(a.strides[0], a.dims[0] * 2);
    EXPECT_EQ(a.box[0], static_cast<uint32_t>(m.box[1]));
    EXPECT_EQ(a.dtype, cu::kTmaFloat16);
  }
  try {
    plan_tensor_map(ks[0], maps[0], sizes, 0x10008);
    FAIL() << "a misaligned base must be refused";
  } catch (const Error& e) {
    std::string t = ks[0].tensors[static_cast<size_t>(maps[0].tensor)].name;
    EXPECT_NE(std::string(e.what()).find("tensor '" + t + "'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("16-byte aligned"), std::string::npos) << e.what();
  }
}

// A tensor the kernel reaches only by TMA may be laid out with the caller's strides (a column slice
// of a wider matrix, a batch stride with a gap); bias, which the epilogue reads element by element,
// may not.
TEST(RuntimeTensorMap, CallerStridesForTensorsReachedOnlyByTma) {
  std::map<std::string, int64_t> sizes = {{"M", 256}, {"N", 256}, {"K", 128}};
  std::vector<kir::Kernel> ks = lower_example("gemm_bias_gelu.grove", "h100", sizes);
  ASSERT_EQ(ks.size(), 1u);
  std::map<std::string, bool> by_tma;
  for (size_t i = 0; i < ks[0].tensors.size(); ++i)
    by_tma[ks[0].tensors[i].name] = kir::tma_only(ks[0], static_cast<int>(i));
  EXPECT_EQ(by_tma,
            (std::map<std::string, bool>{{"A", true}, {"B", true}, {"C", true}, {"bias", false}}));
  for (const cuda::TensorMapSpec& m : cuda::tensor_maps(ks[0])) {
    if (ks[0].tensors[static_cast<size_t>(m.tensor)].name != "A") continue;
    std::vector<int64_t> slice = {1000, 1}; // A = X[:, :128] of an X with 1000 columns
    EXPECT_EQ(plan_tensor_map(ks[0], m, sizes, 0x10000, &slice).strides[0], 2000u);
    std::vector<int64_t> odd = {1001, 1};
    EXPECT_THROW(plan_tensor_map(ks[0], m, sizes, 0x10000, &odd), Error);
  }
}

// N = 300 f16: rows of C and B are 600 bytes, which TMA cannot stride over; on the device they
// are 608 bytes apart (padded to 16 bytes, kir::row_pitch), the extent staying 300 (what lies
// past it reads as zero and is not written).
TEST(RuntimeTensorMap, RowsNotAMultipleOf16BytesArePadded) {
  std::map<std::string, int64_t> sizes = {{"M", 128}, {"N", 300}, {"K", 64}};
  std::vector<kir::Kernel> ks = lower_example("gemm.grove", "h100", sizes);
  int padded = 0;
  for (const cuda::TensorMapSpec& m : cuda::tensor_maps(ks[0])) {
    const kir::GlobalTensor& t = ks[0].tensors[static_cast<size_t>(m.tensor)];
    TensorMapArgs a = plan_tensor_map(ks[0], m, sizes, 0x10000);
    EXPECT_EQ(kir::eval(*kir::row_pitch(t), sizes), t.name == "A" ? 64 : 304) << t.name;
    if (t.name == "A") continue;
    EXPECT_EQ(a.dims[0], 300u) << t.name;
    EXPECT_EQ(a.strides[0], 608u) << t.name;
    ++padded;
  }
  EXPECT_EQ(padded, 2);
}

// What the runtime allocates for decode attention's temporaries: the same padded rows. Lp's rows
// are one f32 (SQ = 1) padded to 16 bytes; Op's rows of 128 f32 need no padding.
TEST(RuntimeTensorMap, TemporariesTakeThePaddedLayout) {
  std::map<std::string, int64_t> sizes = {{"BH", 3}, {"SQ", 1}, {"SK", 1300}, {"D", 128}};
  std::vector<kir::Kernel> ks = lower_example("attention_decode.grove", "decode_d128", sizes);
  ASSERT_EQ(ks.size(), 2u);
  std::map<std::string, size_t> bytes;
  for (const kir::GlobalTensor& t : ks[1].tensors)
    if (t.temporary) bytes[t.name] = device_bytes(t, sizes);
  // cdiv(1300, 512) = 3 chunks.
  EXPECT_EQ(bytes,
            (std::map<std::string, size_t>{{"Op", 3 * 3 * 1 * 128 * 4}, {"Lp", 3 * 3 * 16}}));
  // A shape that is negative at the sizes given is an error naming the tensor.
  kir::GlobalTensor odd{"T", ElemType::F32, {kir::var("N"), kir::cst(8)}};
  try {
    device_bytes(odd, {{"N", -3}});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "tensor 'T' would have a negative dimension at these sizes");
  }
}

// The host side of that layout: rows copied into their padded places and back, padding zero.
TEST(RuntimeTensorMap, PadRowsRoundTrips) {
  std::vector<unsigned char> dense = {1, 2, 3, 4, 5, 6};
  std::vector<unsigned char> padded = pad_rows(dense, 3, 4);
  EXPECT_EQ(padded, (std::vector<unsigned char>{1, 2, 3, 0, 4, 5, 6, 0}));
  EXPECT_EQ(unpad_rows(padded, 3, 4), dense);
  EXPECT_EQ(pad_rows(dense, 3, 3), dense);
}

// Every case bench/gpu/plan.sh lists for the GPU run (checked runs, GEMM shapes in both types,
// the other GEMMs, attention and memory-bound benches) lowers, launches blocks, and TMA can
// describe its tensors, so a GPU session spends its minutes on the GPU and not on sizes the runtime
// refuses.
TEST(RuntimeTensorMap, GpuScriptCasesAreDescribable) {
  std::ifstream in(std::string(GROVE_SOURCE_DIR) + "/bench/gpu/plan.sh");
  std::string line, list;
  int cases = 0;
  auto check = [&](const std::string& name, const std::string& file, const std::string& mapping,
                   const std::map<std::string, int64_t>& sizes, const TypeArgs& types = {}) {
    for (const kir::Kernel& k : lower_example(file, mapping, sizes, "", "", types)) {
      EXPECT_GT(plan_launch(k, sizes).blocks, 0) << name;
      for (const cuda::TensorMapSpec& m : cuda::tensor_maps(k))
        EXPECT_NO_THROW(plan_tensor_map(k, m, sizes, 0x10000)) << name << " " << m.name;
    }
    ++cases;
  };
  while (std::getline(in, line)) {
    if (line.size() > 2 && line.substr(line.size() - 2) == "=(") list = line;
    if (line == ")") list.clear();
    if (list.empty() || line.size() < 4 || line[2] != '"') continue;
    std::vector<std::string> f;
    std::stringstream ss(line.substr(3, line.size() - 4));
    if (list == "GEMM_SHAPES=(") {
      int64_t M = 0, N = 0, K = 0;
      ss >> M >> N >> K;
      for (ElemType t : {ElemType::F16, ElemType::BF16})
        check(line, "gemm.grove", "h100", {{"M", M}, {"N", N}, {"K", K}}, {{"T", t}});
      continue;
    }
    if (list != "GPU_RUNS=(" && list != "ATTENTION_BENCHES=(" && list != "OTHER_GEMMS=(" &&
        list != "MEMORY_BENCHES=(")
      continue;
    for (std::string x; std::getline(ss, x, '|');) f.push_back(x);
    ASSERT_GE(f.size(), 4u) << line;
    std::map<std::string, double> parsed;
    ASSERT_EQ(parse_assignments(f[3], parsed), "") << line;
    std::map<std::string, int64_t> sizes;
    for (auto& [k, v] : parsed) sizes[k] = static_cast<int64_t>(v);
    // The type arguments: GPU_RUNS' sixth field, ATTENTION_BENCHES' seventh.
    size_t types_at = list == "GPU_RUNS=(" ? 5 : list == "ATTENTION_BENCHES=(" ? 6 : f.size();
    TypeArgs types;
    if (types_at < f.size()) {
      ASSERT_EQ(parse_type_args(f[types_at], types), "") << line;
    }
    check(f[0], f[1], f[2], sizes, types);
    // Block scales (gemm_fp8_blockwise.grove, quantize_fp8_blockwise.grove): one per 128 of K and
    // of N.
    if (sizes.count("KB")) {
      EXPECT_EQ(sizes["KB"], (sizes["K"] + 127) / 128) << line;
    }
    if (sizes.count("NB")) {
      EXPECT_EQ(sizes["NB"], (sizes["N"] + 127) / 128) << line;
    }
    if (list == "OTHER_GEMMS=(") {
      // cuBLAS times the same problem in the example's element type.
      ASSERT_EQ(f.size(), 8u) << line;
      int64_t M = 0, N = 0, K = 0;
      std::stringstream(f[4]) >> M >> N >> K;
      EXPECT_EQ(M, sizes["M"]) << line;
      EXPECT_EQ(N, sizes["N"]) << line;
      EXPECT_EQ(K, sizes["K"]) << line;
      // (e4m3: cublas_gemm's FP8 GEMM, e4m3 operands and a bf16 result.)
      EXPECT_TRUE(f[7] == "f16" || f[7] == "bf16" || f[7] == "e4m3") << line;
      auto prog = test::compile_file(test::example(f[1]));
      std::map<std::string, std::string> elem;
      for (const Param& p : prog->prog.tasks.front().params) elem[p.name] = elem_name(p.type.elem);
      EXPECT_EQ(elem["A"], f[7]) << line;
      EXPECT_EQ(elem["C"], f[7] == "e4m3" ? "bf16" : f[7]) << line;
    }
    if (list == "ATTENTION_BENCHES=(") {
      // The baseline's shape (B H S D CAUSAL [bf16] [kv=N] [sk=N]) is the same problem, with the
      // same mask, key/value heads and key count, in the same type.
      ASSERT_TRUE(f.size() == 6u || f.size() == 7u) << line;
      int64_t B = 0, H = 0, S = 0, D = 0, causal = -1, kv = 0, sk = 0;
      std::string dtype = "f16";
      std::stringstream shape(f[5]);
      shape >> B >> H >> S >> D >> causal;
      for (std::string w; shape >> w;) {
        if (w == "bf16")
          dtype = w;
        else if (w.rfind("kv=", 0) == 0)
          kv = std::stoll(w.substr(3));
        else if (w.rfind("sk=", 0) == 0)
          sk = std::stoll(w.substr(3));
        else
          ADD_FAILURE() << "unknown word '" << w << "' in " << line;
      }
      EXPECT_EQ(dtype, types.count("T") ? elem_name(types.at("T")) : "f16") << line;
      if (f[1] == "attention_decode.grove") {
        // Decoding: one row per query of a K/V head, grouped query heads included (BH = B·N,
        // SQ = G·S with G = H / N), over SK keys, no mask.
        const int64_t heads = kv > 0 ? kv : H;
        EXPECT_EQ(B * heads, sizes["BH"]) << line;
        EXPECT_EQ(H / heads * S, sizes["SQ"]) << line;
        EXPECT_EQ(sk, sizes["SK"]) << line;
        EXPECT_EQ(D, sizes["D"]) << line;
        EXPECT_EQ(causal, 0) << line;
        continue;
      }
      EXPECT_EQ(kv > 0, sizes.count("BKV") == 1) << line;
      if (kv > 0) {
        EXPECT_EQ(B * kv, sizes["BKV"]) << line;
        EXPECT_EQ(H, kv * sizes["G"]) << line;
      } else {
        EXPECT_EQ(B * H, sizes["BH"]) << line;
      }
      EXPECT_EQ(sk > 0, sizes.count("SK") == 1) << line;
      if (sk > 0) {
        EXPECT_EQ(S, sizes["SQ"]) << line;
        EXPECT_EQ(sk, sizes["SK"]) << line;
      } else {
        EXPECT_EQ(S, sizes["S"]) << line;
      }
      EXPECT_EQ(D, sizes["D"]) << line;
      bool causal_file =
          f[1].find("causal") != std::string::npos || f[1].find("prefill") != std::string::npos;
      EXPECT_EQ(causal, causal_file ? 1 : 0) << line;
    }
  }
  // GEMM_SHAPES in two types, GPU_RUNS, OTHER_GEMMS, ATTENTION_BENCHES.
  EXPECT_GE(cases, 2 * 7 + 48 + 8 + 19);
}
