// The edge knobs: trusted peers, headers length limits and phrases, media allowed_networks and
// strict_source, and the rules they feed (media_address_allowed, is_identity_header).

#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

const std::string kPeers = std::string(kBaseRealms) + R"(trunks:
  carrier1: {realm: carrier, host: 192.0.2.7, trusted: true}
  carrier2: {realm: carrier, host: 192.0.2.8}
access_peers:
  pbx: {realm: access, sources: [10.0.0.0/8], trusted: true}
  phones: {realm: access, sources: [172.16.0.0/12]}
)";

TEST(EdgeSection, TrustedDefaultsToFalse) {
  auto p = load_policy_texts({{"p.yaml", kPeers}});
  EXPECT_TRUE(p->find_trunk("carrier1")->trusted);
  EXPECT_FALSE(p->find_trunk("carrier2")->trusted);
  EXPECT_TRUE(p->find_access_peer("pbx")->trusted);
  EXPECT_FALSE(p->find_access_peer("phones")->trusted);
}

TEST(EdgeSection, BadTrustedIsNamed) {
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) +
                      "trunks:\n  t: {realm: carrier, host: 192.0.2.7, trusted: maybe}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("p.yaml:7:49: trunks.t.trusted"), std::string::npos) << diags[0];
}

TEST(EdgeSection, HeaderLimitsHaveSaneDefaults) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_EQ(p->headers.max_display_name, 128u);
  EXPECT_EQ(p->headers.max_uri, 1024u);
  EXPECT_EQ(p->headers.max_header_value, 2048u);
  EXPECT_EQ(p->headers.max_body, 16384u);
  EXPECT_FALSE(p->headers.refuse_too_long);
  EXPECT_FALSE(p->headers.relay_reason_phrases);
  EXPECT_EQ(p->headers.server_name, "");
  EXPECT_EQ(product_token(p->headers, "1.2"), "");  // nothing, even with expose_version
}

TEST(EdgeSection, HeaderLimitsAreRead) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) +
                      "headers: {max_display_name: 64, max_uri: 512, max_header_value: 300, "
                      "max_body: 8192, on_too_long: refuse, relay_reason_phrases: true, "
                      "server_name: Edge, expose_version: true}\n"}});
  EXPECT_EQ(p->headers.max_display_name, 64u);
  EXPECT_EQ(p->headers.max_uri, 512u);
  EXPECT_EQ(p->headers.max_header_value, 300u);
  EXPECT_EQ(p->headers.max_body, 8192u);
  EXPECT_TRUE(p->headers.refuse_too_long);
  EXPECT_TRUE(p->headers.relay_reason_phrases);
  EXPECT_EQ(product_token(p->headers, "1.2"), "Edge/1.2");
}

TEST(EdgeSection, BadHeaderLimitsAreNamed) {
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) +
                      "headers: {max_display_name: 0, max_body: 1000000, on_too_long: cut}\n"}});
  ASSERT_EQ(diags.size(), 3u);
  EXPECT_NE(diags[0].find("p.yaml:6:29: headers.max_display_name: 0 is not a length limit"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("headers.max_body: 1000000 is not a length limit"), std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("p.yaml:6:64: headers.on_too_long: \"cut\" is not an action"),
            std::string::npos)
      << diags[2];
}

TEST(EdgeSection, MediaAllowedNetworksAndStrictSource) {
  auto p = load_policy_texts({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media: {address: 127.0.0.1, allowed_networks: [10.0.0.0/8, "2001:db8::/32"]}
  carrier:
    listeners: [udp://127.0.0.2:5060]
    media: {address: 127.0.0.2, strict_source: address_port}
)"}});
  const RealmMedia& a = p->find_realm("access")->media;
  ASSERT_EQ(a.allowed_networks.size(), 2u);
  EXPECT_FALSE(a.strict_source_port);
  EXPECT_TRUE(p->find_realm("carrier")->media.strict_source_port);
  EXPECT_TRUE(media_address_allowed(a, asio::ip::make_address("10.1.2.3")));
  EXPECT_FALSE(media_address_allowed(a, asio::ip::make_address("192.0.2.1")));
  EXPECT_FALSE(media_address_allowed(a, asio::ip::make_address("127.0.0.1")));
}

TEST(EdgeSection, BadMediaKnobsAreNamed) {
  auto diags = diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media: {address: 127.0.0.1, allowed_networks: [], strict_source: port}
  carrier:
    listeners: [udp://127.0.0.2:5060]
    media: {address: 127.0.0.2, nat: true, strict_source: address}
)"}});
  ASSERT_EQ(diags.size(), 3u);
  EXPECT_NE(diags[0].find("p.yaml:4:51: realms.access.media.allowed_networks: an empty list"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("realms.access.media.strict_source: \"port\" is not a source check"),
            std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("realms.carrier.media.strict_source: strict_source applies without nat"),
            std::string::npos)
      << diags[2];
}

TEST(EdgeRules, DefaultMediaRuleRefusesLoopbackOffLoopbackAndNeverMulticast) {
  RealmMedia public_realm;
  public_realm.address = asio::ip::make_address("203.0.113.1");
  EXPECT_TRUE(media_address_allowed(public_realm, asio::ip::make_address("198.51.100.9")));
  EXPECT_TRUE(media_address_allowed(public_realm, asio::ip::make_address("10.0.0.9")));
  EXPECT_FALSE(media_address_allowed(public_realm, asio::ip::make_address("127.0.0.1")));
  EXPECT_FALSE(media_address_allowed(public_realm, asio::ip::make_address("::1")));
  EXPECT_FALSE(media_address_allowed(public_realm, asio::ip::make_address("224.0.0.1")));
  EXPECT_FALSE(media_address_allowed(public_realm, asio::ip::make_address("255.255.255.255")));
  EXPECT_FALSE(media_address_allowed(public_realm, asio::ip::make_address("ff02::1")));
  RealmMedia lab;
  lab.address = asio::ip::make_address("127.0.0.1");
  EXPECT_TRUE(media_address_allowed(lab, asio::ip::make_address("127.0.0.5")));
}

TEST(EdgeRules, IdentityHeadersAreKnownCaseInsensitively) {
  for (const char* h : {"P-Asserted-Identity", "p-preferred-identity", "Identity", "DIVERSION",
                        "Remote-Party-ID"}) {
    EXPECT_TRUE(is_identity_header(h)) << h;
  }
  EXPECT_FALSE(is_identity_header("Privacy"));
  EXPECT_FALSE(is_identity_header("Identity-Info2"));
}

}  // namespace
}  // namespace portico::policy::test
