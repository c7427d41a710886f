// The `ingress` section: defaults, every knob read, and a bad value named by file:line field.

#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

TEST(IngressSection, DefaultsWhenAbsent) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_EQ(p->ingress.max_headers, 128u);
  EXPECT_EQ(p->ingress.max_vias, 16u);
  EXPECT_EQ(p->ingress.unknown_source, Ingress::UnknownSource::Reject);
  EXPECT_EQ(p->ingress.max_tcp_connections, 4096u);
  EXPECT_EQ(p->ingress.max_tcp_connections_per_source, 64u);
  EXPECT_EQ(p->ingress.tcp_message_deadline, std::chrono::seconds(10));
  EXPECT_EQ(p->ingress.tcp_max_queued_output, 1u << 20);
}

TEST(IngressSection, EveryKnobIsRead) {
  auto p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) + R"(ingress:
  max_headers: 64
  max_vias: 8
  unknown_source: drop
  max_tcp_connections: 100
  max_tcp_connections_per_source: 10
  tcp_message_deadline: 2s
  tcp_max_queued_output: 65536
)"}});
  EXPECT_EQ(p->ingress.max_headers, 64u);
  EXPECT_EQ(p->ingress.max_vias, 8u);
  EXPECT_EQ(p->ingress.unknown_source, Ingress::UnknownSource::Drop);
  EXPECT_EQ(p->ingress.max_tcp_connections, 100u);
  EXPECT_EQ(p->ingress.max_tcp_connections_per_source, 10u);
  EXPECT_EQ(p->ingress.tcp_message_deadline, std::chrono::seconds(2));
  EXPECT_EQ(p->ingress.tcp_max_queued_output, 65536u);
}

TEST(IngressSection, BadValuesAreNamedWithFileLineAndField) {
  auto diags = diagnostics_of({{"p.yaml", std::string(kBaseRealms) + R"(ingress:
  max_headers: 5
  max_vias: 0
  unknown_source: ignore
  tcp_message_deadline: 10ms
  tcp_max_queued_output: 100
)"}});
  ASSERT_EQ(diags.size(), 5u);
  EXPECT_EQ(diags[0].rfind("p.yaml:7:16: ingress.max_headers: 5 is out of range (16..10000)", 0),
            0u)
      << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:8:13: ingress.max_vias: 0 is out of range (2..1000)"),
            std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("p.yaml:9:19: ingress.unknown_source: \"ignore\" is not an "
                          "unknown-source action (expected reject or drop)"),
            std::string::npos)
      << diags[2];
  EXPECT_NE(diags[3].find("p.yaml:10:25: ingress.tcp_message_deadline: is out of range"),
            std::string::npos)
      << diags[3];
  EXPECT_NE(diags[4].find("p.yaml:11:26: ingress.tcp_max_queued_output: 100 is out of range"),
            std::string::npos)
      << diags[4];
}

TEST(IngressSection, PerSourceCapAboveTheGlobalOneIsNamed) {
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) + "ingress: {max_tcp_connections: 10, "
                                             "max_tcp_connections_per_source: 20}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("ingress.max_tcp_connections_per_source: must not be more than "
                          "max_tcp_connections (10)"),
            std::string::npos)
      << diags[0];
}

TEST(IngressSection, OnlyOneFileMayHaveIt) {
  auto diags = diagnostics_of({{"a.yaml", std::string(kBaseRealms) + "ingress: {max_vias: 8}\n"},
                               {"b.yaml", "ingress: {max_vias: 9}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("section given again"), std::string::npos) << diags[0];
}

}  // namespace
}  // namespace portico::policy::test
