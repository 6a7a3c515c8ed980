// Golden tests of diagnostics: every tests/diagnostics/NAME.grove is checked and what `grove check`
// prints on stderr must equal NAME.expected exactly. A first line `// size: M=64,N=64` also
// elaborates the mappings with those sizes (errors that only show once shapes are known).
// Set GROVE_UPDATE_GOLDEN=1 to rewrite the .expected files after a deliberate message change.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/session.h"
#include "cli/commands.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> golden_cases() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(GROVE_SOURCE_DIR) / "tests" / "diagnostics"))
    if (e.path().extension() == ".grove") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

class Golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(Golden, MatchesExpected) {
  const fs::path& file = GetParam();
  grove::CliOptions o;
  // Run from the diagnostics folder so messages show the bare file name.
  fs::path old = fs::current_path();
  fs::current_path(file.parent_path());
  o.file = file.filename().string();
  std::string text = grove::test::read_text(file);
  std::string first = text.substr(0, text.find('\n'));
  if (first.rfind("// size: ", 0) == 0) {
    std::map<std::string, double> sizes;
    ASSERT_EQ(grove::parse_assignments(first.substr(9), sizes), "");
    for (auto& [k, v] : sizes) o.sizes[k] = static_cast<int64_t>(v);
  }
  if (first.rfind("// type: ", 0) == 0) {
    ASSERT_EQ(grove::parse_type_args(first.substr(9), o.types), "");
  }
  std::ostringstream out, err;
  int rc = grove::cmd_check(o, out, err);
  fs::current_path(old);
  fs::path expected = file;
  expected.replace_extension(".expected");
  if (std::getenv("GROVE_UPDATE_GOLDEN")) {
    std::ofstream(expected) << err.str();
  }
  EXPECT_EQ(rc, 1) << "expected `grove check` to fail on " << file;
  EXPECT_EQ(err.str(), grove::test::read_text(expected)) << "for " << file;
}

INSTANTIATE_TEST_SUITE_P(Diagnostics, Golden, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<fs::path>& param_info) {
                           std::string n = param_info.param.stem().string();
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// The number of distinct error kinds the golden files cover (one kind per file).
TEST(Diagnostics, CoverAtLeastThirtyKinds) {
  EXPECT_GE(golden_cases().size(), 30u);
}

} // namespace
