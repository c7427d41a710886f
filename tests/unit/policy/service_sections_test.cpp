#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

TEST(MetricsSection, AbsentMeansNoEndpoint) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_FALSE(p->metrics.enabled);
}

TEST(MetricsSection, AddressAndPort) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) + "metrics:\n  address: \"::1\"\n  port: 9464\n"}});
  EXPECT_TRUE(p->metrics.enabled);
  EXPECT_EQ(p->metrics.address.to_string(), "::1");
  EXPECT_EQ(p->metrics.port, 9464);
}

TEST(MetricsSection, BadValuesAreNamed) {
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) + "metrics:\n  address: localhost\n  prot: 1\n"}});
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].rfind("p.yaml:7:12: metrics.address: \"localhost\" is not an IP address", 0), 0u) << "got: " << diags[0];
  EXPECT_NE(diags[1].find("metrics.prot: unknown key (did you mean \"port\"?)"),
            std::string::npos) << diags[1];
}

TEST(MetricsSection, OnlyOneFileMayHaveIt) {
  auto diags = diagnostics_of({{"a.yaml", std::string(kBaseRealms) + "metrics: {port: 1}\n"},
                               {"b.yaml", "metrics: {port: 2}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("section given again"), std::string::npos) << diags[0];
}

TEST(CdrSection, PathEnablesRecords) {
  auto none = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_FALSE(none->cdr.enabled);
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) + "cdr:\n  path: /var/log/portico/cdr.jsonl\n"}});
  EXPECT_TRUE(p->cdr.enabled);
  EXPECT_EQ(p->cdr.path, "/var/log/portico/cdr.jsonl");
}

TEST(CdrSection, MissingOrEmptyPathIsNamed) {
  auto diags = diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "cdr: {}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0], "p.yaml:6:1: cdr: needs a path (e.g. path: /var/log/portico/cdr.jsonl)");
  diags = diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "cdr: {path: \"\"}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("cdr.path: must not be empty"), std::string::npos) << diags[0];
}

}  // namespace
}  // namespace portico::policy::test
