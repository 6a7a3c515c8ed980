// Every example runs under each of its mappings on fresh random inputs, at sizes that are and are
// not multiples of the tiles, and matches (1) its reference variant run in float64 and (2) a
// float64 reference written here in C++, independently of the Grove language.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "test_util.h"

using namespace grove;
using namespace grove::test;

namespace {

using Tensors = std::map<std::string, std::shared_ptr<Buffer>>;
using RefFn =
    std::function<std::map<std::string, std::vector<double>>(const Tensors&, const EntryArgs&)>;

std::vector<double> matmul(const std::vector<double>& a, const std::vector<double>& b, int64_t M,
                           int64_t N, int64_t K) {
  std::vector<double> c(static_cast<size_t>(M * N), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j)
        c[static_cast<size_t>(i * N + j)] +=
            a[static_cast<size_t>(i * K + k)] * b[static_cast<size_t>(k * N + j)];
  return c;
}

RefFn gemm_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &B = *t.at("B");
  return std::map<std::string, std::vector<double>>{
      {"C", matmul(A.data, B.data, A.shape[0], B.shape[1], A.shape[1])}};
};

// D = alpha · A · B + beta · C (examples/gemm_residual.grove).
RefFn residual_ref = [](const Tensors& t, const EntryArgs& args) {
  const Buffer &A = *t.at("A"), &B = *t.at("B"), &C = *t.at("C");
  std::vector<double> d = matmul(A.data, B.data, A.shape[0], B.shape[1], A.shape[1]);
  const double alpha = args.scalars.at("alpha"), beta = args.scalars.at("beta");
  for (size_t i = 0; i < d.size(); ++i) d[i] = alpha * d[i] + beta * C.data[i];
  return std::map<std::string, std::vector<double>>{{"D", d}};
};

// C = A · W^T, W stored [N, K] (examples/linear.grove).
RefFn linear_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &W = *t.at("W");
  int64_t M = A.shape[0], K = A.shape[1], N = W.shape[0];
  std::vector<double> wt(static_cast<size_t>(K * N));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      wt[static_cast<size_t>(k * N + n)] = W.data[static_cast<size_t>(n * K + k)];
  return std::map<std::string, std::vector<double>>{{"C", matmul(A.data, wt, M, N, K)}};
};

// C = scale · A · W^T on 8-bit inputs (examples/gemm_fp8.grove), which hold values of their type
// only.
RefFn fp8_ref = [](const Tensors& t, const EntryArgs& args) {
  for (const char* name : {"A", "W"})
    for (double v : t.at(name)->data)
      if (round_to(t.at(name)->elem, v) != v) {
        ADD_FAILURE() << name << " holds " << v << ", which e4m3 cannot";
        return std::map<std::string, std::vector<double>>{};
      }
  auto c = linear_ref(t, args);
  for (double& v : c.at("C")) v *= args.scalars.at("scale");
  return c;
};

// C[i, j] = sa[i] · sw[j] · (A · W^T)[i, j] (examples/gemm_fp8_rowwise.grove).
RefFn fp8_rowwise_ref = [](const Tensors& t, const EntryArgs& args) {
  auto c = linear_ref(t, args);
  const Buffer &sa = *t.at("sa"), &sw = *t.at("sw");
  const size_t N = sw.data.size();
  for (size_t e = 0; e < c.at("C").size(); ++e) c.at("C")[e] *= sa.data[e / N] * sw.data[e % N];
  return c;
};

// C[i, j] = sum_k sa[k / 128, i] · sw[j / 128, k / 128] · A[i, k] · W[j, k]: block scales of
// 1x128 on A and 128x128 on W (examples/gemm_fp8_blockwise.grove).
RefFn fp8_blockwise_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &W = *t.at("W"), &sa = *t.at("sa"), &sw = *t.at("sw");
  const int64_t M = A.shape[0], K = A.shape[1], N = W.shape[0], KB = sw.shape[1];
  std::vector<double> a(A.data), wt(static_cast<size_t>(K * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k)
      a[static_cast<size_t>(i * K + k)] *= sa.data[static_cast<size_t>(k / 128 * M + i)];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      wt[static_cast<size_t>(k * N + n)] = W.data[static_cast<size_t>(n * K + k)] *
                                           sw.data[static_cast<size_t>(n / 128 * KB + k / 128)];
  return std::map<std::string, std::vector<double>>{{"C", matmul(a, wt, M, N, K)}};
};

// Q = X / sa with sa[b, i] the largest |X[i, k]| of group b (128 columns) over 448
// (examples/quantize_fp8_blockwise.grove).
RefFn quantize_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer& X = *t.at("X");
  const int64_t M = X.shape[0], K = X.shape[1], KB = t.at("sa")->shape[0];
  std::vector<double> sa(static_cast<size_t>(KB * M)), q(X.data.size());
  auto x = [&](int64_t i, int64_t k) { return X.data[static_cast<size_t>(i * K + k)]; };
  for (int64_t i = 0; i < M; ++i)
    for (int64_t b = 0; b < KB; ++b) {
      double amax = 1e-10;
      for (int64_t k = 128 * b; k < std::min(K, 128 * b + 128); ++k)
        amax = std::max(amax, std::abs(x(i, k)));
      sa[static_cast<size_t>(b * M + i)] = amax / 448;
      for (int64_t k = 128 * b; k < std::min(K, 128 * b + 128); ++k)
        q[static_cast<size_t>(i * K + k)] = x(i, k) / (amax / 448);
    }
  return std::map<std::string, std::vector<double>>{{"Q", q}, {"sa", sa}};
};

RefFn bgemm_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &B = *t.at("B");
  int64_t L = A.shape[0], M = A.shape[1], K = A.shape[2], N = B.shape[2];
  std::vector<double> c;
  for (int64_t b = 0; b < L; ++b) {
    std::vector<double> a(A.data.begin() + b * M * K, A.data.begin() + (b + 1) * M * K);
    std::vector<double> bb(B.data.begin() + b * K * N, B.data.begin() + (b + 1) * K * N);
    std::vector<double> part = matmul(a, bb, M, N, K);
    c.insert(c.end(), part.begin(), part.end());
  }
  return std::map<std::string, std::vector<double>>{{"C", c}};
};

RefFn dual_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &B1 = *t.at("B1"), &B2 = *t.at("B2");
  int64_t M = A.shape[0], K = A.shape[1], N = B1.shape[1];
  std::vector<double> c1 = matmul(A.data, B1.data, M, N, K), c2 = matmul(A.data, B2.data, M, N, K);
  for (size_t i = 0; i < c1.size(); ++i) c1[i] += c2[i];
  return std::map<std::string, std::vector<double>>{{"C", c1}};
};

RefFn bias_gelu_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &B = *t.at("B"), &bias = *t.at("bias");
  int64_t M = A.shape[0], K = A.shape[1], N = B.shape[1];
  std::vector<double> c = matmul(A.data, B.data, M, N, K);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double x = c[static_cast<size_t>(i * N + j)] + bias.data[static_cast<size_t>(j)];
      c[static_cast<size_t>(i * N + j)] =
          0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    }
  return std::map<std::string, std::vector<double>>{{"C", c}};
};

RefFn rowsum_ref = [](const Tensors& t, const EntryArgs&) {
  const Buffer &A = *t.at("A"), &B = *t.at("B");
  int64_t M = A.shape[0], K = A.shape[1], N = B.shape[1];
  std::vector<double> r(static_cast<size_t>(M), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k)
      r[static_cast<size_t>(i)] += A.data[static_cast<size_t>(i * K + k)];
  return std::map<std::string, std::vector<double>>{{"C", matmul(A.data, B.data, M, N, K)},
                                                    {"r", r}};
};

// Q and O are [BH, S, D], or [BKV, G, S, D] for grouped-query attention (query head b reads
// key/value head b / G); K and V are [BH or BKV, S, D].
// Attention: Q and O are [BH, SQ, D] (or [BKV, G, SQ, D], grouped), K and V [BH or BKV, SK, D].
// Causal masks align to the bottom right (query q is at position q + SK - SQ); a query row that
// sees no key gets zeros.
RefFn attention_ref(bool causal) {
  return [causal](const Tensors& t, const EntryArgs& args) {
    const Buffer &Q = *t.at("Q"), &K = *t.at("K"), &V = *t.at("V");
    bool grouped = Q.shape.size() == 4;
    int64_t G = grouped ? Q.shape[1] : 1;
    int64_t BH = Q.shape[0] * G, SQ = Q.shape[Q.shape.size() - 2], SK = K.shape[1], D = K.shape[2];
    double scale = args.scalars.at("sm_scale");
    std::vector<double> o(Q.data.size());
    std::vector<double> p(static_cast<size_t>(SK));
    for (int64_t b = 0; b < BH; ++b)
      for (int64_t q = 0; q < SQ; ++q) {
        auto at = [&](const Buffer& x, int64_t r, int64_t d) {
          int64_t row = &x == &Q ? b * SQ + r : b / G * SK + r;
          return x.data[static_cast<size_t>(row * D + d)];
        };
        int64_t last = causal ? std::min(SK, q + SK - SQ + 1) : SK;
        double mx = -INFINITY;
        for (int64_t k = 0; k < last; ++k) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += at(Q, q, d) * at(K, k, d);
          p[static_cast<size_t>(k)] = s * scale;
          mx = std::max(mx, p[static_cast<size_t>(k)]);
        }
        double sum = 0;
        for (int64_t k = 0; k < last; ++k)
          sum += (p[static_cast<size_t>(k)] = std::exp(p[static_cast<size_t>(k)] - mx));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t k = 0; k < last; ++k) acc += p[static_cast<size_t>(k)] * at(V, k, d);
          o[static_cast<size_t>((b * SQ + q) * D + d)] = last > 0 ? acc / sum : 0.0;
        }
      }
    return std::map<std::string, std::vector<double>>{{"O", o}};
  };
}

struct Case {
  std::string file, mapping;
  std::map<std::string, int64_t> sizes;
  std::map<std::string, double> scalars;
  RefFn ref;
  TypeArgs types = {}; // type parameters set (`--type T=bf16`)
};

std::string case_name(const Case& c) {
  std::string n = c.file.substr(0, c.file.find('.')) + "_" + c.mapping;
  for (auto& [k, v] : c.types) n += std::string("_") + elem_name(v);
  for (auto& [k, v] : c.sizes) n += "_" + k + std::to_string(v);
  return n;
}

// Test names print the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(c);
}

class Examples : public ::testing::TestWithParam<Case> {};

TEST_P(Examples, MatchFloat64References) {
  const Case& c = GetParam();
  auto prog = compile_file(example(c.file), c.types);
  ASSERT_EQ(prog->errors, "");
  const MappingDecl* m = prog->prog.find_mapping(c.mapping);
  ASSERT_NE(m, nullptr);
  const TaskDecl* task = entry_task(prog->prog, *m);
  ASSERT_NE(task, nullptr);
  EntryArgs args = allocate_entry(*task, c.sizes, m->loc);
  for (auto& [k, v] : c.scalars) args.scalars[k] = v;
  randomize(*task, args, std::random_device{}());
  EntryArgs spec = deep_copy(args);
  EntryArgs inputs = deep_copy(args);

  try {
    run_mapping(prog->prog, *m, args, RunOptions{});
    const VariantDecl* ref = nullptr;
    for (const VariantDecl& v : prog->prog.variants)
      if (v.task == task->name && v.reference) ref = &v;
    ASSERT_NE(ref, nullptr) << "every example has a reference variant";
    RunOptions exact;
    exact.exact = true;
    run_reference(prog->prog, *task, *ref, spec, exact);
  } catch (const GroveError& e) {
    FAIL() << e.what();
  }

  auto independent = c.ref(inputs.tensors, inputs);
  ASSERT_FALSE(independent.empty());
  for (auto& [name, want] : independent) {
    const Buffer& out = *args.tensors.at(name);
    double bound = check_tolerance(prog->prog, *m, out.elem);
    double err = rel_error(out.data, want);
    EXPECT_LE(err, bound) << name << " of " << c.file << " against the C++ reference";
    // An error far below the type's rounding would mean the output was not rounded on store.
    if (out.elem != ElemType::F32) {
      EXPECT_GT(err, bound / 100) << name << " looks unrounded";
    }
    // The program's own reference variant agrees with the independent one to float64 precision.
    EXPECT_LE(rel_error(spec.tensors.at(name)->data, want), 1e-12)
        << "reference variant of " << c.file;
  }
}

// FP8 attention (examples/attention_fp8.grove, attention_fp8_causal.grove): V comes transposed,
// Vt [BH, D, S], and the output is scaled by v_scale.
RefFn attention_fp8_ref(bool causal) {
  return [causal](const Tensors& t, const EntryArgs& args) {
    const Buffer& Vt = *t.at("Vt");
    const int64_t BH = Vt.shape[0], D = Vt.shape[1], S = Vt.shape[2];
    auto V = std::make_shared<Buffer>(Vt);
    V->shape = {BH, S, D};
    for (int64_t b = 0; b < BH; ++b)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t k = 0; k < S; ++k)
          V->data[static_cast<size_t>((b * S + k) * D + d)] =
              Vt.data[static_cast<size_t>((b * D + d) * S + k)];
    Tensors with_v = t;
    with_v["V"] = V;
    auto o = attention_ref(causal)(with_v, args);
    for (double& x : o.at("O")) x *= args.scalars.at("v_scale");
    return o;
  };
}

std::vector<Case> cases() {
  double s256 = 0.0625, s128 = 1 / std::sqrt(128.0), s64 = 0.125;
  return {
      {"gemm.grove", "h100", {{"M", 256}, {"N", 512}, {"K", 192}}, {}, gemm_ref},
      {"gemm.grove", "h100", {{"M", 200}, {"N", 300}, {"K", 72}}, {}, gemm_ref},
      {"gemm.grove", "h100_epilogue_pieces", {{"M", 200}, {"N", 300}, {"K", 72}}, {}, gemm_ref},
      // bf16: the type parameter T set, as `--type T=bf16`.
      {"gemm.grove",
       "h100",
       {{"M", 256}, {"N", 256}, {"K", 128}},
       {},
       gemm_ref,
       {{"T", ElemType::BF16}}},
      {"gemm.grove",
       "h100",
       {{"M", 130}, {"N", 260}, {"K", 100}},
       {},
       gemm_ref,
       {{"T", ElemType::BF16}}},
      {"gemm.grove",
       "h100_pingpong",
       {{"M", 130}, {"N", 300}, {"K", 72}},
       {},
       gemm_ref,
       {{"T", ElemType::BF16}}},
      {"linear.grove", "h100", {{"M", 256}, {"N", 512}, {"K", 128}}, {}, linear_ref},
      {"linear.grove", "h100", {{"M", 130}, {"N", 260}, {"K", 100}}, {}, linear_ref},
      {"linear.grove", "h100_pingpong", {{"M", 130}, {"N", 300}, {"K", 72}}, {}, linear_ref},
      {"linear.grove",
       "h100",
       {{"M", 200}, {"N", 264}, {"K", 136}},
       {},
       linear_ref,
       {{"T", ElemType::F16}}},
      // FP8: e4m3 inputs, a dequantization scale in the epilogue; bf16 and f16 results.
      {"gemm_fp8.grove", "h100", {{"M", 256}, {"N", 512}, {"K", 256}}, {{"scale", 0.37}}, fp8_ref},
      {"gemm_fp8.grove",
       "h100_pingpong",
       {{"M", 130}, {"N", 300}, {"K", 200}},
       {{"scale", 2.5}},
       fp8_ref,
       {{"T", ElemType::F16}}},
      {"gemm_fp8_rowwise.grove",
       "rowwise_h100",
       {{"M", 200}, {"N", 300}, {"K", 136}},
       {},
       fp8_rowwise_ref},
      // Block scales (DeepSeek-V3): K blocks of 128, the last ragged, three W scale rows.
      {"gemm_fp8_blockwise.grove",
       "blockwise_h100",
       {{"M", 200}, {"N", 300}, {"K", 300}, {"KB", 3}, {"NB", 3}},
       {},
       fp8_blockwise_ref},
      {"gemm_fp8_blockwise.grove",
       "blockwise_h100",
       {{"M", 256}, {"N", 256}, {"K", 512}, {"KB", 4}, {"NB", 2}},
       {},
       fp8_blockwise_ref,
       {{"TA", ElemType::E5M2}}},
      // Activation quantization for it: a ragged last tile and group, and f16 input.
      {"quantize_fp8_blockwise.grove",
       "h100",
       {{"M", 200}, {"K", 700}, {"KB", 6}},
       {},
       quantize_ref},
      {"quantize_fp8_blockwise.grove",
       "h100",
       {{"M", 256}, {"K", 1024}, {"KB", 8}},
       {},
       quantize_ref,
       {{"T", ElemType::F16}}},
      // e5m2 A (a gradient) times e4m3 W: the 8-bit types mix.
      {"gemm_fp8.grove",
       "h100",
       {{"M", 130}, {"N", 264}, {"K", 200}},
       {{"scale", 0.5}},
       fp8_ref,
       {{"TA", ElemType::E5M2}}},
      // An e4m3 result (quantized for the next layer): rounded, saturating at 448.
      {"gemm_fp8.grove",
       "h100",
       {{"M", 200}, {"N", 264}, {"K", 136}},
       {{"scale", 0.125}},
       fp8_ref,
       {{"T", ElemType::E4M3}}},
      {"batched_gemm.grove", "h100", {{"L", 3}, {"M", 128}, {"N", 256}, {"K", 128}}, {}, bgemm_ref},
      {"batched_gemm.grove", "h100", {{"L", 2}, {"M", 100}, {"N", 200}, {"K", 80}}, {}, bgemm_ref},
      {"dual_gemm.grove", "h100", {{"M", 256}, {"N", 256}, {"K", 128}}, {}, dual_ref},
      {"dual_gemm.grove", "h100", {{"M", 150}, {"N", 130}, {"K", 96}}, {}, dual_ref},
      {"gemm_bias_gelu.grove", "h100", {{"M", 256}, {"N", 256}, {"K", 128}}, {}, bias_gelu_ref},
      {"gemm_bias_gelu.grove", "h100", {{"M", 190}, {"N", 270}, {"K", 64}}, {}, bias_gelu_ref},
      {"gemm_rowsum.grove", "h100", {{"M", 256}, {"N", 256}, {"K", 192}}, {}, rowsum_ref},
      {"gemm_residual.grove",
       "h100",
       {{"M", 256}, {"N", 512}, {"K", 128}},
       {{"alpha", 1.0}, {"beta", 1.0}},
       residual_ref},
      {"gemm_residual.grove",
       "h100_128x128",
       {{"M", 200}, {"N", 300}, {"K", 72}},
       {{"alpha", 0.5}, {"beta", -2.0}},
       residual_ref},
      {"gemm_rowsum.grove", "h100", {{"M", 140}, {"N", 200}, {"K", 70}}, {}, rowsum_ref},
      // Split-K: two chunks of 4096 (the second ragged), summed by a second kernel.
      {"gemm_splitk.grove", "h100_splitk", {{"M", 130}, {"N", 200}, {"K", 4200}}, {}, gemm_ref},
      {"attention.grove",
       "h100_d128",
       {{"BH", 2}, {"S", 256}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(false)},
      {"attention.grove",
       "h100_d128",
       {{"BH", 1}, {"S", 200}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(false)},
      {"attention.grove",
       "h100_d64",
       {{"BH", 3}, {"S", 256}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(false)},
      {"attention.grove",
       "h100_d64",
       {{"BH", 2}, {"S", 333}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(false)},
      {"attention_causal.grove",
       "h100_d128_causal",
       {{"BH", 2}, {"S", 256}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(true)},
      {"attention_causal.grove",
       "h100_d128_causal",
       {{"BH", 1}, {"S", 300}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(true)},
      {"attention_causal.grove",
       "h100_d64_causal",
       {{"BH", 2}, {"S", 384}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(true)},
      {"attention_causal.grove",
       "h100_d64_causal",
       {{"BH", 2}, {"S", 170}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(true)},
      {"attention.grove",
       "h100_d256",
       {{"BH", 1}, {"S", 200}, {"D", 256}},
       {{"sm_scale", s256}},
       attention_ref(false)},
      {"attention_causal.grove",
       "h100_d256_causal",
       {{"BH", 1}, {"S", 240}, {"D", 256}},
       {{"sm_scale", s256}},
       attention_ref(true)},
      // FP8: e4m3 Q, K and Vt, P through shared memory in e4m3; a ragged last tile.
      {"attention_fp8.grove",
       "fp8_d128",
       {{"BH", 2}, {"S", 256}, {"D", 128}},
       {{"sm_scale", s128}, {"v_scale", 0.5}},
       attention_fp8_ref(false)},
      {"attention_fp8.grove",
       "fp8_d256",
       {{"BH", 1}, {"S", 200}, {"D", 256}},
       {{"sm_scale", s256}, {"v_scale", 2.0}},
       attention_fp8_ref(false),
       {{"T", ElemType::F16}}},
      {"attention_fp8_causal.grove",
       "fp8_d128_causal",
       {{"BH", 2}, {"S", 300}, {"D", 128}},
       {{"sm_scale", s128}, {"v_scale", 0.75}},
       attention_fp8_ref(true)},
      {"attention_fp8_causal.grove",
       "fp8_d256_causal",
       {{"BH", 1}, {"S", 256}, {"D", 256}},
       {{"sm_scale", s256}, {"v_scale", 1.0}},
       attention_fp8_ref(true)},
      // Grouped-query attention: attention.grove's mappings entered at the grouped top level.
      {"attention_gqa.grove",
       "gqa_d128",
       {{"BKV", 2}, {"G", 3}, {"S", 200}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(false)},
      {"attention_gqa.grove",
       "gqa_d64",
       {{"BKV", 1}, {"G", 4}, {"S", 130}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(false),
       {{"T", ElemType::BF16}}},
      {"attention_gqa_causal.grove",
       "gqa_d128_causal",
       {{"BKV", 2}, {"G", 2}, {"S", 300}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(true)},
      // Prefill with a KV cache: SQ queries at the end of SK keys (bottom-right causal mask); with
      // SQ > SK, query tiles that see no key at all, and rows of zeros.
      {"attention_prefill.grove",
       "prefill_d128",
       {{"BH", 2}, {"SQ", 130}, {"SK", 300}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(true)},
      {"attention_prefill.grove",
       "prefill_d64",
       {{"BH", 3}, {"SQ", 1}, {"SK", 333}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(true)},
      {"attention_prefill.grove",
       "prefill_d128",
       {{"BH", 1}, {"SQ", 300}, {"SK", 100}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(true),
       {{"T", ElemType::BF16}}},
      // Decoding: keys split into chunks (a ragged last one) merged by a second kernel through
      // temporaries; several query rows (grouped heads), one, and bf16.
      {"attention_decode.grove",
       "decode_d128",
       {{"BH", 2}, {"SQ", 4}, {"SK", 1300}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(false)},
      {"attention_decode.grove",
       "decode_d64",
       {{"BH", 3}, {"SQ", 1}, {"SK", 700}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(false),
       {{"T", ElemType::BF16}}},
      // Both: grouped query heads over a KV cache.
      {"attention_gqa_prefill.grove",
       "gqa_prefill_d128",
       {{"BKV", 1}, {"G", 2}, {"SQ", 150}, {"SK", 260}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(true)},
      {"attention_gqa_prefill.grove",
       "gqa_prefill_d64",
       {{"BKV", 1}, {"G", 3}, {"SQ", 200}, {"SK", 70}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(true),
       {{"T", ElemType::BF16}}},
      // bf16 (the type parameter T set, as `--type T=bf16`): P is rounded to bf16 too.
      {"attention.grove",
       "h100_d128",
       {{"BH", 2}, {"S", 200}, {"D", 128}},
       {{"sm_scale", s128}},
       attention_ref(false),
       {{"T", ElemType::BF16}}},
      {"attention_causal.grove",
       "h100_d64_causal",
       {{"BH", 1}, {"S", 300}, {"D", 64}},
       {{"sm_scale", s64}},
       attention_ref(true),
       {{"T", ElemType::BF16}}},
  };
}

INSTANTIATE_TEST_SUITE_P(All, Examples, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return case_name(param_info.param);
                         });

// The check is able to fail: a plausible bug (the causal mask shifted by one) is caught.
TEST(ExamplesCanFail, ShiftedCausalMaskIsCaught) {
  std::ifstream in(example("attention_causal.grove"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  size_t at = text.find("k0 + c <= q0 + r");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 16, "k0 + c < q0 + r + 2");
  auto prog = compile_text(text);
  ASSERT_EQ(prog->errors, "");
  const MappingDecl& m = prog->prog.mappings.front();
  const TaskDecl* task = entry_task(prog->prog, m);
  EntryArgs args = allocate_entry(*task, {{"BH", 1}, {"S", 256}, {"D", 128}}, m.loc);
  args.scalars["sm_scale"] = 0.088;
  randomize(*task, args, 7);
  EntryArgs inputs = deep_copy(args);
  run_mapping(prog->prog, m, args, RunOptions{});
  auto want = attention_ref(true)(inputs.tensors, inputs);
  EXPECT_GT(rel_error(args.tensors.at("O")->data, want.at("O")), 1e-2);
}

} // namespace
