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

TEST(CdrSection, SizeRotationTakesUnitsAndNamesBadValues) {
  auto p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) +
                                             "cdr: {path: /tmp/c.jsonl, max_size: 100MB, keep: 5}\n"}});
  EXPECT_EQ(p->cdr.max_size, 100u << 20);
  EXPECT_EQ(p->cdr.keep, 5);
  EXPECT_EQ(load_policy_texts({{"p.yaml", std::string(kBaseRealms) +
                                              "cdr: {path: /tmp/c.jsonl, max_size: 8192}\n"}})
                ->cdr.max_size,
            8192u);
  auto diags = diagnostics_of({{"p.yaml", std::string(kBaseRealms) +
                                              "cdr: {path: /tmp/c.jsonl, max_size: 10XB, keep: 0}\n"}});
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_NE(diags[0].find("p.yaml:6:37: cdr.max_size: \"10XB\" is not a size"), std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("cdr.keep: 0 is out of range"), std::string::npos) << diags[1];
}

TEST(TracesSection, AbsentMeansNeitherPcapNorHep) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_FALSE(p->traces.pcap);
  EXPECT_FALSE(p->traces.hep);
}

TEST(TracesSection, DirectoryAndHepWithDefaults) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) +
                      "traces:\n  directory: /var/lib/portico/traces\n"
                      "  hep: udp://[::1]:9060\n  hep_password: pw\n"}});
  EXPECT_TRUE(p->traces.pcap);
  EXPECT_EQ(p->traces.directory, "/var/lib/portico/traces");
  EXPECT_EQ(p->traces.max_files, 10000u);
  EXPECT_EQ(p->traces.max_age, Millis{7LL * 24 * 3600 * 1000});
  EXPECT_TRUE(p->traces.hep);
  EXPECT_EQ(p->traces.hep_address.to_string(), "[::1]:9060");
  EXPECT_EQ(p->traces.hep_id, 2001u);
  EXPECT_EQ(p->traces.hep_password, "pw");
}

TEST(TracesSection, RetentionAndAgentId) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) +
                      "traces: {directory: /t, max_files: 50, max_age: 0s, "
                      "hep: udp://127.0.0.1:9060, hep_id: 7}\n"}});
  EXPECT_EQ(p->traces.max_files, 50u);
  EXPECT_EQ(p->traces.max_age, Millis{0});
  EXPECT_EQ(p->traces.hep_id, 7u);
}

TEST(TracesSection, BadValuesAreNamed) {
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) +
                      "traces:\n  directory: traces\n  max_files: 0\n  max_age: 7\n"
                      "  hep: tcp://127.0.0.1:9060\n  hep_id: -1\n"}});
  ASSERT_EQ(diags.size(), 5u);
  EXPECT_EQ(diags[0], "p.yaml:7:14: traces.directory: \"traces\" is not an absolute path");
  EXPECT_EQ(diags[1], "p.yaml:8:14: traces.max_files: 0 is out of range (1..10000000 files)");
  EXPECT_EQ(diags[2].rfind("p.yaml:9:12: traces.max_age: \"7\" has no unit", 0), 0u) << diags[2];
  EXPECT_EQ(diags[3], "p.yaml:10:8: traces.hep: \"tcp://127.0.0.1:9060\": HEP is sent over UDP "
                      "only (udp://host:port)");
  EXPECT_EQ(diags[4], "p.yaml:11:11: traces.hep_id: -1 is not a capture agent id (0..4294967295)");
}

TEST(TracesSection, OptionsNeedTheirOutput) {
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) + "traces:\n  max_files: 5\n  hep_id: 3\n"}});
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0], "p.yaml:6:1: traces: hep_id and hep_password need hep "
                      "(e.g. hep: udp://127.0.0.1:9060)");
  EXPECT_EQ(diags[1], "p.yaml:6:1: traces: max_files and max_age need directory "
                      "(e.g. directory: /var/lib/portico/traces)");
}

}  // namespace
}  // namespace portico::policy::test
