// The reference interpreter's semantics on small programs: ragged tiles, the WGMMA fragment
// layout, rounding on store, poisoned locals, and the errors it raises while running.
#include <gtest/gtest.h>

#include "taskir/partition.h"
#include "test_util.h"

using namespace grove;
using namespace grove::test;

namespace {

// Runs the first mapping of `text` with the given sizes on inputs equal to their flat index
// (scaled), returning the entry tensors. Throws GroveError from the interpreter.
EntryArgs run_text(const std::string& text, const std::map<std::string, int64_t>& sizes,
                   bool* ok = nullptr) {
  auto c = compile_text(text);
  EXPECT_EQ(c->errors, "");
  const MappingDecl& m = c->prog.mappings.front();
  const TaskDecl* task = entry_task(c->prog, m);
  EntryArgs args = allocate_entry(*task, sizes, m.loc);
  for (const Param& p : task->params)
    if (p.type.is_tensor) {
      Buffer& b = *args.tensors[p.name];
      for (size_t i = 0; i < b.data.size(); ++i)
        b.data[i] =
            can_read(p.priv) ? round_to(b.elem, static_cast<double>(i % 97) / 8) : std::nan("");
    }
  run_mapping(c->prog, m, args, RunOptions{});
  if (ok) *ok = true;
  return args;
}

const char* kCopy = R"(
task copy(O: write f32[M, N], I: read f32[M, N]);
task copy_tile(O: write f32[TM, TN], I: read f32[TM, TN]);
variant copy.tiles inner {
  tunable B;
  for i, j in prange(cdiv(M, B), cdiv(N, B)) {
    launch copy_tile(tile(O, B, B)[i, j], tile(I, B, B)[i, j]);
  }
}
variant copy_tile.leaf leaf {
  O[i, j] = I[i, j] + 1.0;
}
mapping m {
  entry h;
  instance h = copy.tiles @ HOST { tunable B = 4; }
  instance t = copy_tile.leaf @ BLOCK { }
}
)";

TEST(Interpreter, RaggedTilesCoverEveryElementOnce) {
  EntryArgs a = run_text(kCopy, {{"M", 7}, {"N", 10}});
  const Buffer &O = *a.tensors["O"], &I = *a.tensors["I"];
  for (size_t i = 0; i < O.data.size(); ++i) ASSERT_EQ(O.data[i], I.data[i] + 1.0) << i;
}

TEST(Interpreter, RaggedTileReadsZeroOutsideTheTensor) {
  // A 4x4 tile of a 3x3 tensor: the leaf sees zeros outside, and only the 3x3 part is written.
  const char* text = R"(
task t(O: write f32[M, N], I: read f32[M, N]);
task s(O: write f32[4, 4], I: read f32[4, 4]);
variant t.v inner { launch s(tile(O, 4, 4)[0, 0], tile(I, 4, 4)[0, 0]); }
variant s.v leaf { O[i, j] = sum[k](I[i, k]) + 100.0 * sum[k](I[k, j]); }
mapping m { entry h; instance h = t.v @ HOST { } instance b = s.v @ HOST { } }
)";
  EntryArgs a = run_text(text, {{"M", 3}, {"N", 3}});
  const Buffer &O = *a.tensors["O"], &I = *a.tensors["I"];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double row = 0, col = 0;
      for (int k = 0; k < 3; ++k)
        row += I.data[static_cast<size_t>(i * 3 + k)],
            col += I.data[static_cast<size_t>(k * 3 + j)];
      EXPECT_DOUBLE_EQ(O.data[static_cast<size_t>(i * 3 + j)],
                       static_cast<double>(static_cast<float>(row + 100 * col)));
    }
}

TEST(Interpreter, StoreRoundsToTheElementType) {
  const char* text = R"(
task t(O: write f16[N], I: read f32[N]);
variant t.v leaf { O[i] = I[i] / 3.0; }
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  EntryArgs a = run_text(text, {{"N", 50}});
  for (size_t i = 0; i < 50; ++i) {
    double exact = a.tensors["I"]->data[i] / 3.0;
    EXPECT_EQ(a.tensors["O"]->data[i], round_to(ElemType::F16, exact));
  }
}

// A statement over more points than one evaluation block (13,000 per index of `a`: split along
// `b` into a chunk of 8192 / 100 rows and a ragged one), with parts that read fewer indices than
// the statement has (exp(X[a, b]) is computed per (a, b) and broadcast along c; the sum per a),
// gives bit for bit what the plain loop does.
TEST(Interpreter, BlockedAndBroadcastEvaluationMatchesThePlainLoop) {
  const char* text = R"(
task t(O: write f32[A, B, C], X: read f32[A, B], Y: read f32[B, C], Z: read f32[B]);
variant t.v leaf { O[a, b, c] = exp(X[a, b]) * Y[b, c] + sum[k](X[a, k] * Z[k]) + c - 2 * a; }
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  const int64_t A = 3, B = 130, C = 100;
  EntryArgs r = run_text(text, {{"A", A}, {"B", B}, {"C", C}});
  const auto &O = r.tensors["O"]->data, &X = r.tensors["X"]->data, &Y = r.tensors["Y"]->data,
             &Z = r.tensors["Z"]->data;
  for (int64_t a = 0; a < A; ++a) {
    double s = 0;
    for (int64_t k = 0; k < B; ++k)
      s += X[static_cast<size_t>(a * B + k)] * Z[static_cast<size_t>(k)];
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) {
        double want =
            std::exp(X[static_cast<size_t>(a * B + b)]) * Y[static_cast<size_t>(b * C + c)] + s +
            static_cast<double>(c) - 2.0 * static_cast<double>(a);
        ASSERT_EQ(O[static_cast<size_t>((a * B + b) * C + c)], round_to(ElemType::F32, want))
            << a << ", " << b << ", " << c;
      }
  }
}

// Sums of products run as matrix products where their form allows (P over (rows, k), Q over (k,
// columns)) and as the per-k walk where it does not (a dimension both read; columns before rows);
// every form gives bit for bit what the plain loop does.
TEST(Interpreter, SumsOfProductsMatchThePlainLoop) {
  const char* text = R"(
task t(C: write f32[M, N], D: write f32[M, L, N], E: write f32[N, M], F: write f32[M],
       A: read f32[M, K], B: read f32[K, N]);
variant t.v leaf {
  C[i, j] = sum[k](A[i, k] * B[k, j]);
  D[i, l, j] = sum[k](A[i, k] * B[k, j]) / 4.0 + l;
  E[j, i] = sum[k](A[i, k] * B[k, j]);
  F[i] = sum[k](A[i, k] * A[i, k]);
}
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  const int64_t M = 37, N = 70, K = 300, L = 3;
  EntryArgs r = run_text(text, {{"M", M}, {"N", N}, {"K", K}, {"L", L}});
  const auto &A = r.tensors["A"]->data, &B = r.tensors["B"]->data;
  auto at = [](const std::vector<double>& v, int64_t i) { return v[static_cast<size_t>(i)]; };
  for (int64_t i = 0; i < M; ++i) {
    double sq = 0;
    for (int64_t k = 0; k < K; ++k) sq += at(A, i * K + k) * at(A, i * K + k);
    ASSERT_EQ(at(r.tensors["F"]->data, i), round_to(ElemType::F32, sq)) << i;
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += at(A, i * K + k) * at(B, k * N + j);
      ASSERT_EQ(at(r.tensors["C"]->data, i * N + j), round_to(ElemType::F32, s)) << i << ", " << j;
      ASSERT_EQ(at(r.tensors["E"]->data, j * M + i), round_to(ElemType::F32, s)) << j << ", " << i;
      for (int64_t l = 0; l < L; ++l)
        ASSERT_EQ(at(r.tensors["D"]->data, (i * L + l) * N + j),
                  round_to(ElemType::F32, s / 4.0 + static_cast<double>(l)))
            << i << ", " << l << ", " << j;
    }
  }
}

// Subscripts besides index variables: a literal position and the block of an index (k / 4), in
// element-wise statements, broadcasts and a reduction (held at one value while it walks).
TEST(Interpreter, LiteralAndBlockSubscriptsMatchThePlainLoop) {
  const char* text = R"(
task t(O: write f32[M, K], R: write f32[M], X: read f32[M, K], S: read f32[KB, M],
       W: read f32[2, KB]);
variant t.v leaf {
  O[i, k] = X[i, k] * S[k / 4, i] + W[1, k / 4] - W[0, 0];
  R[i] = sum[k](X[i, k] * S[k / 4, i]);
}
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  const int64_t M = 5, K = 10, KB = 3; // the last block of K ragged
  EntryArgs r = run_text(text, {{"M", M}, {"K", K}, {"KB", KB}});
  const auto &X = r.tensors["X"]->data, &S = r.tensors["S"]->data, &W = r.tensors["W"]->data;
  auto at = [](const std::vector<double>& v, int64_t i) { return v[static_cast<size_t>(i)]; };
  for (int64_t i = 0; i < M; ++i) {
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      double xs = at(X, i * K + k) * at(S, k / 4 * M + i);
      sum += xs;
      ASSERT_EQ(at(r.tensors["O"]->data, i * K + k),
                round_to(ElemType::F32, xs + at(W, KB + k / 4) - at(W, 0)))
          << i << ", " << k;
    }
    ASSERT_EQ(at(r.tensors["R"]->data, i), round_to(ElemType::F32, sum)) << i;
  }
}

TEST(Interpreter, BlockSubscriptPastTheTensorIsLocated) {
  const char* text = R"(
task t(O: write f32[K], S: read f32[KB]);
variant t.v leaf {
  O[k] = S[k / 4];
}
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  try {
    run_text(text, {{"K", 13}, {"KB", 3}}); // k = 12 is in block 3
    FAIL() << "expected a shape mismatch";
  } catch (const GroveError& e) {
    EXPECT_EQ(e.loc.line, 4);
    EXPECT_NE(std::string(e.what()).find("'k / 4' reaches position 3 of dimension 0 of 'S', "
                                         "which has 3"),
              std::string::npos)
        << e.what();
  }
}

TEST(Interpreter, ReadingAnUnwrittenLocalPoisonsTheResult) {
  const char* text = R"(
task t(O: write f32[N]);
variant t.v leaf { local x: f32[N]; O[i] = x[i] + 1.0; }
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  EntryArgs a = run_text(text, {{"N", 8}});
  for (double v : a.tensors["O"]->data) EXPECT_TRUE(std::isnan(v));
}

TEST(Interpreter, ShapeMismatchAtLaunchIsLocated) {
  const char* text = R"(
task t(O: write f32[M], I: read f32[M]);
task s(O: write f32[8], I: read f32[8]);
variant t.v inner { launch s(rows(O, 4)[0], rows(I, 4)[0]); }
variant s.v leaf { O[i] = I[i]; }
mapping m { entry h; instance h = t.v @ HOST { } instance b = s.v @ HOST { } }
)";
  try {
    run_text(text, {{"M", 16}});
    FAIL() << "expected a shape mismatch";
  } catch (const GroveError& e) {
    EXPECT_EQ(e.loc.line, 4);
    EXPECT_NE(std::string(e.what()).find("dimension 0 must be 8"), std::string::npos) << e.what();
  }
}

TEST(Interpreter, OverlappingWrittenArgumentsAreRefused) {
  const char* text = R"(
task t(O: write f32[M]);
task s(A: write f32[N], B: write f32[N]);
variant t.v inner { launch s(O, O); }
variant s.v leaf { A[i] = 1.0; B[i] = 2.0; }
mapping m { entry h; instance h = t.v @ HOST { } instance b = s.v @ HOST { } }
)";
  EXPECT_THROW(run_text(text, {{"M", 4}}), GroveError);
}

TEST(Interpreter, SelfLaunchHitsTheDepthBound) {
  const char* text = R"(
task t(O: write f32[M]);
variant t.v inner { launch t(O); }
mapping m { entry h; instance h = t.v @ HOST { } }
)";
  try {
    run_text(text, {{"M", 4}});
    FAIL();
  } catch (const GroveError& e) {
    EXPECT_NE(std::string(e.what()).find("deeper than 64"), std::string::npos);
  }
}

TEST(Interpreter, WgmmaShapeIsCheckedAtWarpgroupLevel) {
  const char* text = R"(
task t(C: readwrite f32[M, N], A: read f16[M, K], B: read f16[K, N]);
task w(C: readwrite f32[M, N], A: read f16[M, K], B: read f16[K, N]);
variant t.v inner { launch w(C, A, B); }
variant w.v leaf { mma(C, A, B); }
mapping m { entry h; instance h = t.v @ HOST { } instance g = w.v @ WARPGROUP { memory C = REGISTER, B = SHARED; } }
)";
  EXPECT_NO_THROW(run_text(text, {{"M", 64}, {"N", 64}, {"K", 32}}));
  try {
    run_text(text, {{"M", 48}, {"N", 64}, {"K", 32}});
    FAIL();
  } catch (const GroveError& e) {
    EXPECT_NE(std::string(e.what()).find("M = 48 is not a multiple of 64"), std::string::npos)
        << e.what();
  }
}

// e4m3 operands: m64nNk32, so K = 48 passes for f16 but not for e4m3.
TEST(Interpreter, WgmmaOnE4m3TakesKInSteps32) {
  const std::string text = R"(
task t(C: readwrite f32[M, N], A: read E[M, K], B: read E[N, K]);
task w(C: readwrite f32[M, N], A: read E[M, K], B: read E[N, K]);
variant t.v inner { launch w(C, A, B); }
variant w.v leaf { mma(C, A, trans(B)); }
mapping m { entry h; instance h = t.v @ HOST { } instance g = w.v @ WARPGROUP { memory C = REGISTER, A = SHARED, B = SHARED; } }
)";
  auto with = [&](const char* e) { return "type E = " + std::string(e) + ";\n" + text; };
  EXPECT_NO_THROW(run_text(with("f16"), {{"M", 64}, {"N", 64}, {"K", 48}}));
  EXPECT_NO_THROW(run_text(with("e4m3"), {{"M", 64}, {"N", 64}, {"K", 64}}));
  try {
    run_text(with("e4m3"), {{"M", 64}, {"N", 64}, {"K", 48}});
    FAIL();
  } catch (const GroveError& e) {
    EXPECT_NE(std::string(e.what()).find("K = 48 is not a multiple of 32"), std::string::npos)
        << e.what();
  }
}

// The thread pieces of an MMA C partition follow the PTX ISA's wgmma m64nNk16 accumulator layout:
// thread t holds rows 16*(t/32) + (t%32)/4 (+8) and, in each 8-column block, columns 2*(t%4) (+1),
// with registers ordered [block, row half, column pair]. Together they cover the tile once.
TEST(Interpreter, MmaThreadFragmentsFollowTheWgmmaLayout) {
  const int64_t M = 128, N = 32;
  auto buf = std::make_shared<Buffer>("C", ElemType::F32, std::vector<int64_t>{M, N}, 0.0);
  for (int64_t i = 0; i < M * N; ++i) buf->data[static_cast<size_t>(i)] = static_cast<double>(i);
  Partition p = make_mma_frag(View::whole(buf), 'C', 64, N, 16, Level::Thread);
  ASSERT_EQ(p.colors(), std::vector<int64_t>{256});
  std::vector<int> seen(static_cast<size_t>(M * N), 0);
  for (int64_t t = 0; t < 256; ++t) {
    std::vector<double> regs;
    p.piece({t}).gather(regs);
    ASSERT_EQ(regs.size(), static_cast<size_t>(N / 2));
    int64_t wg = t / 128, lt = t % 128;
    for (int64_t j = 0; j < N / 8; ++j)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t c = 0; c < 2; ++c) {
          int64_t row = 64 * wg + 16 * (lt / 32) + (lt % 32) / 4 + 8 * h;
          int64_t col = 8 * j + 2 * (lt % 4) + c;
          EXPECT_EQ(regs[static_cast<size_t>(j * 4 + h * 2 + c)],
                    static_cast<double>(row * N + col));
          ++seen[static_cast<size_t>(row * N + col)];
        }
  }
  for (int s : seen) ASSERT_EQ(s, 1);
}

TEST(Interpreter, MmaPartitionMustDivide) {
  auto buf = std::make_shared<Buffer>("C", ElemType::F32, std::vector<int64_t>{96, 64}, 0.0);
  EXPECT_THROW(make_mma_frag(View::whole(buf), 'C', 64, 64, 16, Level::Warpgroup),
               std::invalid_argument);
  EXPECT_THROW(make_mma_frag(View::whole(buf), 'C', 64, 128, 16, Level::Warpgroup),
               std::invalid_argument);
  EXPECT_NO_THROW(make_mma_frag(View::whole(buf), 'C', 64, 64, 16, Level::Warp)); // 96 = 6 x 16
}

} // namespace
