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
