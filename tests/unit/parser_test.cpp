#include <gtest/gtest.h>

#include "test_util.h"

using namespace grove;
using namespace grove::test;

TEST(Parser, ReadsTasksVariantsAndMappings) {
  auto c = compile_text(R"(
task t(O: write f16[M, 64], x: float = -0.5, n: int);
variant t.v leaf reference { O[i, j] = select(i < n && j >= 2, x * 2.0, -inf); }
mapping m {
  entry h;
  instance h = t.v @ HOST { }
}
)");
  ASSERT_EQ(c->errors, "");
  ASSERT_EQ(c->prog.tasks.size(), 1u);
  const TaskDecl& t = c->prog.tasks[0];
  ASSERT_EQ(t.params.size(), 3u);
  EXPECT_EQ(t.params[0].priv, Privilege::Write);
  EXPECT_EQ(t.params[0].type.elem, ElemType::F16);
  EXPECT_FALSE(t.params[1].type.is_int);
  const VariantDecl& v = c->prog.variants[0];
  EXPECT_TRUE(v.leaf);
  EXPECT_TRUE(v.reference);
  EXPECT_EQ(expr_str(*v.body[0]->value), "select(((i < n) && (j >= 2)), (x * 2.0), -inf)");
  EXPECT_EQ(c->prog.mappings[0].entry->value, "h");
}

TEST(Parser, OperatorPrecedence) {
  auto c = compile_text(
      "task t(O: write f32[N]);\nvariant t.v leaf { O[i] = 1.0 + 2.0 * 3.0 - -i / 4.0 % 5.0; }\n");
  ASSERT_EQ(c->errors, "");
  EXPECT_EQ(expr_str(*c->prog.variants[0].body[0]->value),
            "((1.0 + (2.0 * 3.0)) - ((-i / 4.0) % 5.0))");
}

TEST(Parser, RecoversAndReportsSeveralErrors) {
  auto c = compile_text("task a(O: write f32[N]) \ntask b(O: write f32[N]);\nvariant b.v leaf { "
                        "O[i] = ; }\nmapping m { bogus; }\n");
  // Missing ';' after task a, a missing expression, and an unknown mapping item: three errors.
  // The missing ';' is reported just after the token it should follow.
  EXPECT_NE(c->errors.find("test.grove:1:24: error: expected ';' after ')'"), std::string::npos)
      << c->errors;
  EXPECT_NE(c->errors.find("test.grove:3:27: error: expected an expression"), std::string::npos)
      << c->errors;
  EXPECT_NE(c->errors.find("test.grove:4:13: error: expected 'instance' or 'entry'"),
            std::string::npos)
      << c->errors;
}

TEST(Parser, DeepNestingIsAnErrorNotACrash) {
  std::string e(5000, '(');
  auto c = compile_text("task t(O: write f32[N]);\nvariant t.v leaf { O[i] = " + e + "1.0; }\n");
  EXPECT_NE(c->errors.find("nesting is too deep"), std::string::npos);
}

TEST(Parser, ImportsResolveRelativeToTheFile) {
  auto c = compile_file(std::string(GROVE_SOURCE_DIR) + "/tests/unit/data/mapping_only.grove");
  EXPECT_EQ(c->errors, "");
  EXPECT_NE(c->prog.find_task("gemm"), nullptr);
  EXPECT_NE(c->prog.find_mapping("small_tiles"), nullptr);
}

TEST(Parser, TypeParametersNameElementTypes) {
  const std::string src = "type T = bf16;\ntype U = T; // another name for T's type\n"
                          "task t(O: write U[N], X: read T[N], Y: read f32[N]);\n";
  auto c = compile_text(src);
  ASSERT_EQ(c->errors, "");
  const TaskDecl& t = c->prog.tasks.at(0);
  EXPECT_EQ(t.params[0].type.elem, ElemType::BF16);
  EXPECT_EQ(t.params[1].type.elem, ElemType::BF16);
  EXPECT_EQ(t.params[2].type.elem, ElemType::F32);
  EXPECT_EQ(c->prog.type_params.size(), 2u);
  // A type argument replaces the default; U, declared as T, follows it.
  auto f = compile_text(src, "test.grove", {{"T", ElemType::F16}});
  ASSERT_EQ(f->errors, "");
  EXPECT_EQ(f->prog.tasks.at(0).params[0].type.elem, ElemType::F16);
  EXPECT_EQ(f->prog.tasks.at(0).params[1].type.elem, ElemType::F16);
  EXPECT_EQ(f->prog.type_params.at("U"), ElemType::F16);
}

TEST(Parser, TypeParametersAreLocalToTheirFile) {
  const std::string path = std::string(GROVE_SOURCE_DIR) + "/tests/unit/data/typed_import.grove";
  auto c = compile_file(path);
  ASSERT_EQ(c->errors, "") << "both files declare T: no clash";
  EXPECT_EQ(c->prog.find_task("scale")->params[0].type.elem, ElemType::F16);
  EXPECT_EQ(c->prog.find_task("attention")->params[0].type.elem, ElemType::F16);
  auto b = compile_file(path, {{"T", ElemType::BF16}});
  ASSERT_EQ(b->errors, "");
  EXPECT_EQ(b->prog.find_task("scale")->params[0].type.elem, ElemType::BF16);
  EXPECT_EQ(b->prog.find_task("attention")->params[0].type.elem, ElemType::BF16);
  EXPECT_EQ(b->prog.find_task("attn_init")->params[0].type.elem, ElemType::F32);
}

TEST(Parser, MappingsExtendOthers) {
  // `fast` is written before its base; `faster` extends `fast`; `other` re-enters at a new top.
  auto c = compile_text(R"(
task fill(C: write f32[M, N]);
task fill2(C: write f32[M, N]);
task fill_tile(C: write f32[BM, BN]);
variant fill.tiles inner {
  tunable BM, BN;
  for i, j in prange(cdiv(M, BM), cdiv(N, BN)) { launch fill_tile(tile(C, BM, BN)[i, j]); }
}
variant fill2.tiles inner {
  tunable BM, BN;
  for i, j in prange(cdiv(M, BM), cdiv(N, BN)) { launch fill_tile(tile(C, BM, BN)[i, j]); }
}
variant fill_tile.zero leaf { C[i, j] = 0.0; }
mapping fast extends base {
  instance host { tunable BN = 64; }
  instance block { pipeline = 3; memory C = SHARED; }
}
mapping faster extends fast {
  instance block { pipeline = 4; }
}
mapping other extends base {
  instance host = fill2.tiles @ HOST { tunable BM = 32, BN = 32; }
}
mapping base {
  entry host;
  instance host = fill.tiles @ HOST { tunable BM = 128, BN = 128; }
  instance block = fill_tile.zero @ BLOCK { pipeline = 2; memory C = GLOBAL; }
}
)");
  ASSERT_EQ(c->errors, "");
  auto instance = [&](const char* mapping, const char* name) {
    const MappingDecl* m = c->prog.find_mapping(mapping);
    EXPECT_NE(m, nullptr) << mapping;
    for (const Instance& in : m->instances)
      if (in.name == name) return in;
    ADD_FAILURE() << mapping << " has no instance " << name;
    return Instance{};
  };
  // A change replaces the settings it names and keeps the rest, in place.
  Instance host = instance("fast", "host");
  EXPECT_EQ(host.task, "fill");
  ASSERT_EQ(host.tunables.size(), 2u);
  EXPECT_EQ(host.tunables[0].first.value, "BM");
  EXPECT_EQ(host.tunables[0].second.value, 128);
  EXPECT_EQ(host.tunables[1].second.value, 64);
  Instance block = instance("fast", "block");
  EXPECT_EQ(block.pipeline->value, 3);
  ASSERT_EQ(block.memories.size(), 1u);
  EXPECT_EQ(block.memories[0].second.value, Memory::Shared);
  EXPECT_FALSE(block.amends);
  // Chains apply in order; the entry comes from the base.
  EXPECT_EQ(instance("faster", "block").pipeline->value, 4);
  EXPECT_EQ(instance("faster", "block").memories[0].second.value, Memory::Shared);
  EXPECT_EQ(instance("faster", "host").tunables[1].second.value, 64);
  EXPECT_EQ(c->prog.find_mapping("faster")->entry->value, "host");
  // A whole instance replaces the base's: the rest of the base stays.
  Instance other = instance("other", "host");
  EXPECT_EQ(other.task, "fill2");
  EXPECT_EQ(other.tunables[0].second.value, 32);
  EXPECT_EQ(instance("other", "block").pipeline->value, 2);
  // The base itself is unchanged.
  EXPECT_EQ(instance("base", "block").pipeline->value, 2);
  EXPECT_EQ(instance("base", "host").tunables[1].second.value, 128);
}
