// Program::launch on device memory: every check of the arrays that needs no GPU, on any machine;
// where there is a GPU, a ragged GEMM on memory allocated here against a float64 product, and the
// errors only the driver can tell (host memory, an allocation too small).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "api_test_util.h"
#include "runtime/device.h"

namespace grove::api {
namespace {

// M = 200, N = 100, K = 100: rows of A, B and C are 100 f16 (200 bytes), which the kernels address
// 104 elements apart (a multiple of 16 bytes).
const int64_t M = 200, N = 100, K = 100, P = 104;

std::map<std::string, DeviceArray> gemm_arrays(uint64_t c, uint64_t a, uint64_t b) {
  return {{"C", {c, DType::F16, {M, N}, {P, 1}}},
          {"A", {a, DType::F16, {M, K}, {P, 1}}},
          {"B", {b, DType::F16, {K, N}, {P, 1}}}};
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Launch, ArraysAreCheckedBeforeTheGpu) {
  Program p = Program::load(example("gemm.grove"));
  const uint64_t c = 0x7f0000000000, a = 0x7f0000100000, b = 0x7f0000200000;
  auto arrays = gemm_arrays(c, a, b);

  auto bad = arrays;
  bad["C"].dtype = DType::F32;
  std::string e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "grove: error: tensor 'C' is f16, but its array holds f32 elements")) << e;
  EXPECT_TRUE(has(e, "hint: launch() runs on the arrays where they are, without converting")) << e;

  bad = arrays;
  bad["A"].strides = {K, 1};
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the array for tensor 'A' has strides (100, 1) (elements), but the kernels "
                     "address it with (104, 1), and its stride 100 in dimension 0 is 200 bytes, "
                     "not a multiple of 16 as TMA needs"))
      << e;
  EXPECT_TRUE(has(e, "its rows must start a multiple of 16 bytes apart (104 elements here)")) << e;

  bad = arrays;
  bad["A"].strides = {1};
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the array for tensor 'A' has 1 strides for 2 dimensions")) << e;

  bad = arrays;
  bad["A"].strides = {};
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the array for tensor 'A' has rows of 100 f16, not a multiple of 16 bytes; "
                     "the kernels address them 104 elements apart"))
      << e;
  EXPECT_TRUE(has(e, "and give its strides (104, 1)")) << e;

  bad = arrays;
  bad["B"].data = b + 8;
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "tensor 'B' starts at 0x7f0000200008, which is not a multiple of 16 bytes"))
      << e;

  bad = arrays;
  bad["A"].data = c + 2 * P * (M - 1); // A's first row is C's last
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the arrays for tensors 'C' and 'A' overlap, and the kernels write 'C'")) << e;
  bad = arrays;
  bad["A"].data = c + 2 * P * M; // just after C: no overlap, so on to the GPU
  e = error_of([&] { p.launch(bad); });
  EXPECT_FALSE(has(e, "overlap")) << e;

  bad = arrays;
  bad["B"].data = 0;
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the array for tensor 'B' has no data")) << e;

  bad = arrays;
  bad["B"].shape = {K + 1, N};
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "gemm.grove:10:")) << e;
  EXPECT_TRUE(has(e, "error: size K is 101 in tensor 'B' [101, 100], but 100 in A [200, 100]"))
      << e;

  LaunchConfig cfg;
  cfg.scalars = {{"alpha", 2}};
  e = error_of([&] { p.launch(arrays, cfg); });
  EXPECT_TRUE(has(e, "task 'gemm' has no scalar parameter 'alpha'")) << e;

  // The arrays pass every check above; these addresses are no one's GPU memory, which only the
  // driver can tell.
  e = error_of([&] { p.launch(arrays); });
  if (runtime::Driver::available())
    EXPECT_TRUE(has(e, "is not GPU memory: the CUDA driver does not know its address")) << e;
  else
    EXPECT_TRUE(has(e, "no CUDA driver")) << e;
}

// Tensors the kernels reach only by TMA take other strides (within TMA's rules); one read element
// by element (the bias of gemm_bias_gelu) takes only the kernels' layout.
TEST(Launch, OtherStridesWhereOnlyTmaReaches) {
  Program p = Program::load(example("gemm.grove"));
  const uint64_t c = 0x7f0000000000, a = 0x7f0000100000, b = 0x7f0000200000;
  auto arrays = gemm_arrays(c, a, b);
  arrays["A"].strides = {256, 1}; // a column slice of a wider matrix
  arrays["C"].strides = {128, 1};
  std::string e = error_of([&] { p.launch(arrays); });
  EXPECT_TRUE(has(e, "not GPU memory") || has(e, "no CUDA driver")) << e;

  auto bad = arrays;
  bad["A"].strides = {512, 2};
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "and TMA needs the innermost dimension contiguous")) << e;
  bad = arrays;
  bad["B"].strides = {64, 1};
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "which are not nested (dimension 0 steps less than the dimensions inside "
                     "it span)"))
      << e;
  bad = arrays;
  bad["A"].data = c + 2 * 128 * (M - 1); // A's first row is C's last row, as C's strides lay it
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the arrays for tensors 'C' and 'A' overlap")) << e;

  Program biased = Program::load(example("gemm_bias_gelu.grove"));
  auto with_bias = gemm_arrays(c, a, b);
  with_bias["bias"] = {0x7f0000300000, DType::F16, {N}, {2}};
  e = error_of([&] { biased.launch(with_bias); });
  EXPECT_TRUE(has(e, "the array for tensor 'bias' has strides (2,) (elements), but the kernels "
                     "address it with (1,), reading or writing it element by element"))
      << e;
}

// Rows of 16-byte multiples are dense: no strides needed, and dense strides are accepted.
TEST(Launch, DenseRowsNeedNoStrides) {
  Program p = Program::load(example("gemm.grove"));
  const int64_t n = 128;
  std::map<std::string, DeviceArray> arrays = {{"C", {0x7f0000000000, DType::F16, {n, n}, {n, 1}}},
                                               {"A", {0x7f0000100000, DType::F16, {n, n}, {}}},
                                               {"B", {0x7f0000200000, DType::F16, {n, n}, {}}}};
  std::string e = error_of([&] { p.launch(arrays); });
  EXPECT_FALSE(has(e, "strides")) << e;
  EXPECT_TRUE(has(e, "not GPU memory") || has(e, "no CUDA driver")) << e;
}

// Sizes left dynamic stay kernel parameters: the mapping lowers without them (so far the checks
// go without a GPU); a size that shapes on-chip tiles cannot be dynamic.
TEST(Launch, DynamicSizes) {
  Program gemm = Program::load(example("gemm.grove"));
  LaunchConfig cfg;
  cfg.dynamic = {"M", "K"};
  std::string e = error_of(
      [&] { gemm.launch(gemm_arrays(0x7f0000000000, 0x7f0000100000, 0x7f0000200000), cfg); });
  EXPECT_TRUE(has(e, "not GPU memory") || has(e, "no CUDA driver")) << e;
  cfg.dynamic = {"Q"};
  e = error_of(
      [&] { gemm.launch(gemm_arrays(0x7f0000000000, 0x7f0000100000, 0x7f0000200000), cfg); });
  EXPECT_TRUE(has(e, "'Q' is not a size of task 'gemm', so it cannot be dynamic")) << e;

  Program attention = Program::load(example("attention.grove"));
  const int64_t BH = 2, S = 256, D = 64;
  std::map<std::string, DeviceArray> arrays;
  uint64_t at = 0x7f0000000000;
  for (const char* name : {"O", "Q", "K", "V"}) {
    arrays[name] = {at, DType::F16, {BH, S, D}, {}};
    at += 0x100000;
  }
  cfg.mapping = "h100_d64";
  cfg.scalars = {{"sm_scale", 0.125}};
  cfg.dynamic = {"BH", "S"};
  e = error_of([&] { attention.launch(arrays, cfg); });
  EXPECT_TRUE(has(e, "not GPU memory") || has(e, "no CUDA driver")) << e;
  cfg.dynamic = {"D"};
  e = error_of([&] { attention.launch(arrays, cfg); });
  EXPECT_TRUE(has(e, "needs a fixed shape, but D depends on the problem size")) << e;
}

// Device memory for a row-major f16 matrix with rows `pitch` elements apart, filled from `bits`.
std::unique_ptr<runtime::DeviceBuffer> upload(const runtime::Device& dev,
                                              const std::vector<uint16_t>& bits, int64_t rows,
                                              int64_t cols, int64_t pitch) {
  std::vector<uint16_t> padded(static_cast<size_t>(rows * pitch), 0x7e00); // NaN padding
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) padded[r * pitch + c] = bits[r * cols + c];
  auto buf = std::make_unique<runtime::DeviceBuffer>(dev, padded.size() * 2);
  buf->upload(padded.data(), padded.size() * 2);
  return buf;
}

TEST(Launch, GemmOnDeviceMemoryMatchesFloat64) {
  if (!runtime::Driver::available()) GTEST_SKIP() << "no CUDA driver here";
  runtime::Device dev = runtime::Device::open(0);
  Program p = Program::load(example("gemm.grove"));
  std::mt19937_64 rng(std::random_device{}());
  Half a = random_f16(M * K, rng), b = random_f16(K * N, rng);
  std::vector<uint16_t> poison(static_cast<size_t>(M * N), 0x7e00);
  auto da = upload(dev, a.bits, M, K, P), db = upload(dev, b.bits, K, N, P);
  auto dc = upload(dev, poison, M, N, P);
  auto arrays = gemm_arrays(dc->ptr(), da->ptr(), db->ptr());
  const std::vector<double> want = matmul(a.values, b.values, M, N, K);
  const std::vector<uint16_t> poisoned(static_cast<size_t>(M * P), 0x7e00);
  // Poisons C, launches, waits, and returns C's padded rows as stored.
  auto run = [&](const std::map<std::string, DeviceArray>& given, const LaunchConfig& cfg) {
    dc->upload(poisoned.data(), poisoned.size() * 2);
    RunReport rep = p.launch(given, cfg);
    dev.synchronize();
    std::vector<uint16_t> out(static_cast<size_t>(M * P));
    dc->download(out.data(), out.size() * 2);
    return std::make_pair(rep, out);
  };
  // The error of C's first `rows` rows against the float64 product.
  auto error_of_rows = [&](const std::vector<uint16_t>& out, int64_t rows) {
    std::vector<double> got, ref(want.begin(), want.begin() + rows * N);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < N; ++c) got.push_back(f16_bits_to_f32(out[r * P + c]));
    return test::rel_error(got, ref);
  };
  for (const char* mapping : {"h100", "h100_pingpong"}) {
    LaunchConfig cfg;
    cfg.mapping = mapping;
    auto [first, out] = run(arrays, cfg);
    EXPECT_TRUE(has(first.summary, "compiled and loaded")) << first.summary;
    EXPECT_LT(error_of_rows(out, M), 2e-3) << mapping;
    auto [again, out2] = run(arrays, cfg); // the same sizes: the kernels are reused
    EXPECT_TRUE(has(again.summary, "already loaded")) << again.summary;
    EXPECT_LT(error_of_rows(out2, M), 2e-3) << mapping << ", again";
  }

  // A as a column slice of a wider matrix (rows 256 apart): the tensor map takes its strides.
  const int64_t W = 256;
  auto wide = upload(dev, a.bits, M, K, W);
  auto sliced = arrays;
  sliced["A"] = {wide->ptr(), DType::F16, {M, K}, {W, 1}};
  EXPECT_LT(error_of_rows(run(sliced, {}).second, M), 2e-3) << "A sliced";

  // M dynamic: one compile serves two values of it (the second launch reuses the kernels).
  LaunchConfig dyn;
  dyn.dynamic = {"M"};
  for (int64_t rows : {M, M / 2 + 3}) {
    auto part = arrays;
    part["C"].shape[0] = part["A"].shape[0] = rows;
    auto [rep, out] = run(part, dyn);
    EXPECT_TRUE(has(rep.summary, rows == M ? "compiled and loaded" : "already loaded"))
        << rep.summary;
    EXPECT_LT(error_of_rows(out, rows), 2e-3) << "M = " << rows;
    if (rows < M) {
      EXPECT_EQ(out[rows * P], 0x7e00) << "a row past M was written";
    }
  }

  // What only the driver knows: host memory, and an allocation smaller than the shape.
  std::vector<uint16_t> host(static_cast<size_t>(M * P));
  auto bad = arrays;
  bad["C"].data = reinterpret_cast<uint64_t>(host.data()) & ~uint64_t{15};
  std::string e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the array for tensor 'C' is ")) << e;
  EXPECT_TRUE(has(e, "not GPU memory") || has(e, "is host memory")) << e;
  auto small = std::make_unique<runtime::DeviceBuffer>(dev, static_cast<size_t>(K * P));
  bad = arrays;
  bad["B"].data = small->ptr();
  e = error_of([&] { p.launch(bad); });
  EXPECT_TRUE(has(e, "the array for tensor 'B' needs 20792 bytes from 0x")) << e;
}

} // namespace
} // namespace grove::api
