// Data-driven: every tests/fixtures/policy/bad/*.yaml is a broken policy whose leading
// `# expect: <diagnostic>` lines list exactly the diagnostics loading it must produce. Adding a
// regression test is adding a file.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy_test_util.hpp"

namespace portico::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kBadDir = fs::path(PORTICO_SOURCE_DIR) / "tests/fixtures/policy/bad";

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kBadDir)) {
    if (entry.path().extension() == ".yaml") {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> expectations(const std::string& text) {
  static const std::string kPrefix = "# expect: ";
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line) && line.rfind(kPrefix, 0) == 0;) {
    out.push_back(line.substr(kPrefix.size()));
  }
  return out;
}

class BadPolicyFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(BadPolicyFixture, GivesTheExpectedDiagnostics) {
  std::ifstream in(kBadDir / GetParam());
  std::stringstream text;
  text << in.rdbuf();
  const auto expected = expectations(text.str());
  ASSERT_FALSE(expected.empty()) << GetParam() << " has no '# expect: ' first line";
  // Loaded under its bare file name, so the expectations do not depend on the checkout path.
  EXPECT_THAT(test::diagnostics_of({{GetParam(), text.str()}}),
              ::testing::ElementsAreArray(expected));
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Bad, BadPolicyFixture, ::testing::ValuesIn(fixture_names()), test_name);

}  // namespace
}  // namespace portico::policy
