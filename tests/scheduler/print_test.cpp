#include "test_util.h"

#include "scheduler/print.h"
#include "scheduler/solve.h"

#include <gtest/gtest.h>

namespace grove::sched {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(Print, TextShowsTheSteadyState) {
  Schedule s = solve(testing::graph("gemm_mainloop"), load_machine("h100"));
  std::string text = to_text(s);
  EXPECT_NE(text.find("initiation interval: " + std::to_string(s.ii) + " cycles"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("producer"), std::string::npos);
  EXPECT_NE(text.find("full_load_a x"), std::string::npos);
  for (const OpSlot& o : s.ops) EXPECT_NE(text.find(o.name), std::string::npos);
}

TEST(Print, SvgHasOneLanePerRoleAndABoxPerOp) {
  Schedule s = solve(testing::graph("fa3_forward"), load_machine("h100"));
  ASSERT_TRUE(s.feasible);
  std::string svg = to_svg(s);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const Role& r : s.roles)
    EXPECT_EQ(count(svg, ">wg" + std::to_string(r.id) + " "), 1u) << "lane for wg" << r.id;
  for (const OpSlot& o : s.ops) EXPECT_GE(count(svg, "<title>" + o.name + " (s"), 1u) << o.name;
  EXPECT_NE(svg.find("stage 1"), std::string::npos);
}

TEST(Print, InfeasibleSaysWhy) {
  Schedule s = solve(testing::graph("infeasible_smem"), load_machine("h100"));
  EXPECT_NE(to_text(s).find("shared memory"), std::string::npos);
  EXPECT_NE(to_svg(s).find("no schedule"), std::string::npos);
}

} // namespace
} // namespace grove::sched
