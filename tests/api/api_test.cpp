// The C++ API (src/api/grove.h) on caller-owned arrays: results against a float64 product
// computed here on fresh random inputs, sizes bound from shapes, and the errors a caller meets.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "api_test_util.h"
#include "runtime/nvrtc.h"

namespace grove::api {
namespace {

// A ragged GEMM (sizes not tile multiples) through each CPU target: f16 inputs, the f16 output
// taken into an f64 array (so every value must be an f16 value), checked against float64.
TEST(Api, GemmOnEveryCpuTargetMatchesFloat64) {
  Program p = Program::load(example("gemm.grove"));
  EXPECT_EQ(p.mappings(),
            (std::vector<std::string>{"h100", "h100_pingpong", "h100_epilogue_pieces"}));
  const int64_t M = 136, N = 72, K = 40;
  std::mt19937_64 rng(std::random_device{}());
  Half a = random_f16(M * K, rng), b = random_f16(K * N, rng);
  std::vector<double> want = matmul(a.values, b.values, M, N, K);
  for (Target t : {Target::Cpu, Target::Reference, Target::Emulator}) {
    std::vector<double> c(static_cast<size_t>(M * N), std::nan(""));
    std::map<std::string, Array> arrays = {{"C", {c.data(), DType::F64, {M, N}}},
                                           {"A", {a.bits.data(), DType::F16, {M, K}}},
                                           {"B", {b.bits.data(), DType::F16, {K, N}}}};
    RunConfig cfg;
    cfg.target = t;
    cfg.schedules = 3;
    RunReport rep = p.run(arrays, cfg);
    EXPECT_EQ(rep.sizes, (std::map<std::string, int64_t>{{"M", M}, {"N", N}, {"K", K}}));
    EXPECT_EQ(rep.mapping, t == Target::Reference ? "" : "h100");
    EXPECT_LT(test::rel_error(c, want), 2e-3) << target_name(t) << ": " << rep.summary;
    if (t != Target::Reference) {
      for (double v : c) ASSERT_EQ(v, round_to(ElemType::F16, v)) << "not stored as f16";
    }
  }
}

// FP8: 8-bit arrays (the byte patterns) for 8-bit tensors: e4m3 A and W, then an e5m2 A (the
// program loaded with TA=e5m2); the scale as a scalar, the bf16 result taken into an f32 array.
TEST(Api, Fp8GemmTakesE4m3AndE5m2Arrays) {
  const int64_t M = 72, N = 136, K = 100;
  const double scale = 0.75;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-4, 4);
  for (bool e5m2 : {false, true}) {
    Program p = Program::load(example("gemm_fp8.grove"), {{"TA", e5m2 ? "e5m2" : "e4m3"}});
    std::vector<uint8_t> a(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K));
    std::vector<double> av(a.size()), wt(w.size()); // A, and W transposed to [K, N]
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = e5m2 ? f32_to_e5m2_bits(dist(rng)) : f32_to_e4m3_bits(dist(rng));
      av[i] = e5m2 ? e5m2_bits_to_f32(a[i]) : e4m3_bits_to_f32(a[i]);
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        uint8_t& x = w[static_cast<size_t>(n * K + k)];
        x = f32_to_e4m3_bits(dist(rng));
        wt[static_cast<size_t>(k * N + n)] = e4m3_bits_to_f32(x);
      }
    std::vector<double> want = matmul(av, wt, M, N, K);
    for (double& v : want) v *= scale;
    std::vector<float> c(static_cast<size_t>(M * N), std::nanf(""));
    RunConfig cfg;
    cfg.scalars["scale"] = scale;
    p.run({{"C", {c.data(), DType::F32, {M, N}}},
           {"A", {a.data(), e5m2 ? DType::E5M2 : DType::E4M3, {M, K}}},
           {"W", {w.data(), DType::E4M3, {N, K}}}},
          cfg);
    EXPECT_LT(test::rel_error(std::vector<double>(c.begin(), c.end()), want), 8e-3) << e5m2;
  }
  EXPECT_STREQ(dtype_name(DType::E4M3), "e4m3");
  EXPECT_STREQ(dtype_name(DType::E5M2), "e5m2");
}

// Scalars by name (attention's sm_scale), an f32 array for f16 tensors, another mapping.
TEST(Api, AttentionTakesScalarsAndOtherDtypes) {
  Program p = Program::load(example("attention.grove"));
  const int64_t BH = 1, S = 80, D = 64;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> q(BH * S * D), k(q.size()), v(q.size()), o(q.size());
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = dist(rng);
  auto arrays = [&](std::vector<float>& out) {
    return std::map<std::string, Array>{{"O", {out.data(), DType::F32, {BH, S, D}}},
                                        {"Q", {q.data(), DType::F32, {BH, S, D}}},
                                        {"K", {k.data(), DType::F32, {BH, S, D}}},
                                        {"V", {v.data(), DType::F32, {BH, S, D}}}};
  };
  RunConfig cfg;
  cfg.mapping = "h100_d64";
  cfg.scalars = {{"sm_scale", 0.125}};
  p.run(arrays(o), cfg);
  std::vector<float> ref(q.size());
  cfg.target = Target::Reference;
  p.run(arrays(ref), cfg);
  std::vector<double> got(o.begin(), o.end()), want(ref.begin(), ref.end());
  EXPECT_LT(test::rel_error(got, want), 2e-3);
  // A different scale gives a different result (the scalar is used, not its default).
  cfg.scalars = {{"sm_scale", 0.5}};
  std::vector<float> other(q.size());
  p.run(arrays(other), cfg);
  std::vector<double> changed(other.begin(), other.end());
  EXPECT_GT(test::rel_error(changed, want), 1e-2);
}

TEST(Api, ShapesThatDisagreeAreReportedAtTheParameter) {
  Program p = Program::load(example("gemm.grove"));
  std::vector<double> c(64 * 32), a(64 * 16), b(17 * 32);
  std::map<std::string, Array> arrays = {{"C", {c.data(), DType::F64, {64, 32}}},
                                         {"A", {a.data(), DType::F64, {64, 16}}},
                                         {"B", {b.data(), DType::F64, {17, 32}}}};
  std::string e = error_of([&] { p.run(arrays); });
  EXPECT_NE(e.find("gemm.grove:10:"), std::string::npos) << e;
  EXPECT_NE(e.find("error: size K is 17 in tensor 'B' [17, 32], but 16 in A [64, 16]"),
            std::string::npos)
      << e;

  arrays.erase("B");
  e = error_of([&] { p.run(arrays); });
  EXPECT_NE(e.find("no array given for tensor 'B' (f16[K, N])"), std::string::npos) << e;
  EXPECT_NE(e.find("hint: pass one array per tensor parameter: C, A, B"), std::string::npos) << e;

  arrays["B"] = {b.data(), DType::F64, {17, 32, 1}};
  e = error_of([&] { p.run(arrays); });
  EXPECT_NE(e.find("tensor 'B' is f16[K, N], but its array has shape [17, 32, 1]"),
            std::string::npos)
      << e;

  arrays["B"] = {b.data(), DType::F64, {16, 32}};
  arrays["X"] = {b.data(), DType::F64, {16, 32}};
  e = error_of([&] { p.run(arrays); });
  EXPECT_NE(e.find("task 'gemm' has no tensor named 'X'"), std::string::npos) << e;

  arrays.erase("X");
  RunConfig cfg;
  cfg.scalars = {{"alpha", 2}};
  e = error_of([&] { p.run(arrays, cfg); });
  EXPECT_NE(e.find("task 'gemm' has no scalar parameter 'alpha'"), std::string::npos) << e;

  cfg = {};
  cfg.mapping = "h200";
  e = error_of([&] { p.run(arrays, cfg); });
  EXPECT_NE(e.find("no mapping named 'h200'"), std::string::npos) << e;
  EXPECT_NE(e.find("this file has: h100, h100_pingpong, h100_epilogue_pieces"), std::string::npos)
      << e;
}

TEST(Api, SourceErrorsComeWithTheirLocation) {
  std::string e =
      error_of([] { Program::from_source("task t(C: write f16[M]);\nvariant", "x.grove"); });
  EXPECT_NE(e.find("x.grove:2:"), std::string::npos) << e;
  e = error_of([] { Program::load("/nonexistent/file.grove"); });
  EXPECT_NE(e.find("/nonexistent/file.grove"), std::string::npos) << e;
}

// A tensor with a literal dimension, a task without a reference variant, an array without data.
TEST(Api, ArraysMeetTheDeclaration) {
  Program p = Program::from_source(R"(task scale(X: readwrite f32[N, 4], s: float);
variant scale.mapped leaf {
  X[i, j] = X[i, j] * s;
}
mapping host_only {
  entry host;
  instance host = scale.mapped @ HOST { }
}
)",
                                   "scale.grove");
  std::vector<double> x(5 * 4, 1.5);
  RunConfig cfg;
  cfg.scalars = {{"s", 2}};
  p.run({{"X", {x.data(), DType::F64, {5, 4}}}}, cfg);
  for (double v : x) ASSERT_EQ(v, 3.0);
  std::string e = error_of([&] { p.run({{"X", {x.data(), DType::F64, {5, 3}}}}, cfg); });
  EXPECT_NE(e.find("scale.grove:1:32: error: dimension 1 of tensor 'X' is 4, but its array has "
                   "[5, 3]"),
            std::string::npos)
      << e;
  e = error_of([&] { p.run({{"X", {nullptr, DType::F64, {5, 4}}}}, cfg); });
  EXPECT_NE(e.find("grove: error: the array for tensor 'X' has no data"), std::string::npos) << e;
  cfg.target = Target::Reference;
  e = error_of([&] { p.run({{"X", {x.data(), DType::F64, {5, 4}}}}, cfg); });
  EXPECT_NE(e.find("error: task 'scale' has no reference variant"), std::string::npos) << e;
  EXPECT_NE(e.find("hint: add a leaf that computes it directly"), std::string::npos) << e;
}

TEST(Api, SignatureAndCuda) {
  Program p = Program::load(example("attention.grove"));
  Signature s = p.signature("h100_d128");
  EXPECT_EQ(s.task, "attention");
  ASSERT_EQ(s.tensors.size(), 4u);
  EXPECT_EQ(s.tensors[0].name, "O");
  EXPECT_EQ(s.tensors[0].elem, "f16");
  EXPECT_EQ(s.tensors[0].dims, (std::vector<std::string>{"BH", "S", "D"}));
  EXPECT_TRUE(s.tensors[0].write);
  EXPECT_FALSE(s.tensors[0].read);
  EXPECT_TRUE(s.tensors[1].read);
  ASSERT_EQ(s.scalars.size(), 1u);
  EXPECT_EQ(s.scalars[0].name, "sm_scale");
  EXPECT_FALSE(s.scalars[0].is_int);

  std::string cu = p.cuda("h100_d128", {{"D", 128}});
  EXPECT_NE(cu.find("__global__"), std::string::npos);
  EXPECT_NE(cu.find("#include \"grove_sm90.cuh\""), std::string::npos);
}

// What ptxas reports of each kernel, without a GPU (NVRTC): the GEMM's fits its registers; head
// dimension 256 causal attention on persistent blocks does not (its tile loop's running count
// costs the registers d256 lacks), which a mapping search can see before timing anything.
TEST(Api, ResourcesReportRegistersAndSpills) {
  if (!runtime::Nvrtc::find()) GTEST_SKIP() << "no NVRTC";
  namespace fs = std::filesystem;
  const fs::path cache =
      fs::temp_directory_path() / ("grove-api-resources-" + std::to_string(getpid()));
  setenv("GROVE_CACHE_DIR", cache.c_str(), 1); // cold compiles, not the user's cache
  Program gemm = Program::load(example("gemm.grove"));
  std::vector<KernelResources> r = gemm.resources("h100", {{"M", 512}, {"N", 512}, {"K", 256}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kernel, "gemm_tile_0");
  EXPECT_EQ(r[0].registers, 168);
  EXPECT_EQ(r[0].spill_store_bytes, 0);
  EXPECT_EQ(r[0].spill_load_bytes, 0);
  EXPECT_TRUE(r[0].notes.empty());
  Program attn = Program::from_source("import \"" + example("attention_causal.grove") + R"(";
mapping d256_persistent extends h100_d256_causal {
  instance block {
    persistent = true;
  }
}
)");
  r = attn.resources("d256_persistent", {{"D", 256}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_GT(r[0].spill_store_bytes, 0) << r[0].registers;
  unsetenv("GROVE_CACHE_DIR");
  fs::remove_all(cache);
}

// Type arguments: attention in bf16 from the same file (its `type T = f16;`), computed in bf16
// (P rounded to bf16, not f16), and an argument for no parameter or to no element type refused.
TEST(Api, TypeArgumentsSetTypeParameters) {
  Program f16 = Program::load(example("attention.grove"));
  EXPECT_EQ(f16.types(), (std::map<std::string, std::string>{{"T", "f16"}}));
  Program bf16 = Program::load(example("attention.grove"), {{"T", "bf16"}});
  EXPECT_EQ(bf16.types(), (std::map<std::string, std::string>{{"T", "bf16"}}));
  EXPECT_EQ(bf16.signature("h100_d64").tensors[0].elem, "bf16");
  EXPECT_NE(bf16.cuda("h100_d64", {{"D", 64}}).find("wgmma_m64n64k16_bf16"), std::string::npos);
  const int64_t BH = 1, S = 70, D = 64;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> q(BH * S * D), k(q.size()), v(q.size());
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = dist(rng);
  auto run = [&](const Program& p, Target t) {
    std::vector<float> o(q.size(), std::nanf(""));
    RunConfig cfg;
    cfg.mapping = "h100_d64";
    cfg.target = t;
    p.run({{"O", {o.data(), DType::F32, {BH, S, D}}},
           {"Q", {q.data(), DType::F32, {BH, S, D}}},
           {"K", {k.data(), DType::F32, {BH, S, D}}},
           {"V", {v.data(), DType::F32, {BH, S, D}}}},
          cfg);
    return std::vector<double>(o.begin(), o.end());
  };
  std::vector<double> want = run(f16, Target::Reference); // float64 on the f16-rounded inputs
  std::vector<double> got16 = run(f16, Target::Cpu), got = run(bf16, Target::Cpu);
  EXPECT_LT(test::rel_error(got, want), 8e-3);
  EXPECT_GT(test::rel_error(got, want), test::rel_error(got16, want)) << "bf16 rounds coarser";
  for (double x : got) ASSERT_EQ(x, round_to(ElemType::BF16, x)) << "O not stored as bf16";
  auto refused = [](const std::map<std::string, std::string>& types) {
    try {
      Program::load(example("attention.grove"), types);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_NE(refused({{"E", "bf16"}}).find("no type parameter 'E'"), std::string::npos);
  EXPECT_NE(refused({{"T", "f64"}}).find("'f64' is not an element type"), std::string::npos);
}

// On a machine without a GPU the GPU target says so; with one, it computes the GEMM.
TEST(Api, GpuTargetRunsOrSaysThereIsNoGpu) {
  Program p = Program::load(example("gemm.grove"));
  const int64_t M = 128, N = 256, K = 64;
  std::mt19937_64 rng(std::random_device{}());
  Half a = random_f16(M * K, rng), b = random_f16(K * N, rng);
  std::vector<double> c(static_cast<size_t>(M * N), std::nan(""));
  std::map<std::string, Array> arrays = {{"C", {c.data(), DType::F64, {M, N}}},
                                         {"A", {a.bits.data(), DType::F16, {M, K}}},
                                         {"B", {b.bits.data(), DType::F16, {K, N}}}};
  RunConfig cfg;
  cfg.target = Target::Gpu;
  try {
    p.run(arrays, cfg);
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_TRUE(what.find("no CUDA driver") != std::string::npos ||
                what.find("no CUDA-capable device") != std::string::npos ||
                what.find("sees no GPU") != std::string::npos)
        << what;
    return;
  }
  EXPECT_LT(test::rel_error(c, matmul(a.values, b.values, M, N, K)), 2e-3);
}

} // namespace
} // namespace grove::api
