#include "portico/common/endpoint.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

namespace portico {
namespace {

TEST(Protocol, NamesAndViaTokens) {
  struct Row {
    Protocol p;
    std::string_view name;
    std::string_view via;
    bool reliable;
  };
  for (const Row& r :
       {Row{Protocol::Udp, "udp", "UDP", false}, Row{Protocol::Tcp, "tcp", "TCP", true},
        Row{Protocol::Tls, "tls", "TLS", true}}) {
    EXPECT_EQ(to_string(r.p), r.name);
    EXPECT_EQ(via_token(r.p), r.via);
    EXPECT_EQ(is_reliable(r.p), r.reliable);
    EXPECT_EQ(parse_protocol(r.name), r.p);
    EXPECT_EQ(parse_protocol(r.via), r.p);
  }
}

TEST(Protocol, ParseIsCaseInsensitiveAndRejectsUnknown) {
  EXPECT_EQ(parse_protocol("Tcp"), Protocol::Tcp);
  EXPECT_EQ(parse_protocol("tLs"), Protocol::Tls);
  EXPECT_EQ(parse_protocol("uDP"), Protocol::Udp);
  EXPECT_EQ(parse_protocol(""), std::nullopt);
  EXPECT_EQ(parse_protocol("sctp"), std::nullopt);
  EXPECT_EQ(parse_protocol("udp "), std::nullopt);
  EXPECT_EQ(parse_protocol("ws"), std::nullopt);
}

TEST(Endpoint, FormatsForLogsAndUris) {
  struct Row {
    const char* host;
    std::uint16_t port;
    const char* text;
    const char* uri_host;
  };
  for (const Row& r :
       {Row{"1.2.3.4", 5060, "1.2.3.4:5060", "1.2.3.4"},
        Row{"127.0.0.1", 0, "127.0.0.1:0", "127.0.0.1"}, Row{"::1", 5060, "[::1]:5060", "[::1]"},
        Row{"[::1]", 5061, "[::1]:5061", "[::1]"},
        Row{"2001:db8::10", 5080, "[2001:db8::10]:5080", "[2001:db8::10]"}}) {
    auto e = parse_endpoint(r.host, r.port);
    ASSERT_TRUE(e.has_value()) << r.host;
    EXPECT_EQ(e->port, r.port);
    EXPECT_EQ(e->to_string(), r.text);
    EXPECT_EQ(e->host_for_uri(), r.uri_host);
  }
}

TEST(Endpoint, ParseRejectsNonLiterals) {
  for (const char* bad : {"", "[]", "example.com", "1.2.3", "1.2.3.4.5", "[::1", "::1]",
                          "256.1.1.1", "1.2.3.4:5060", "::g"}) {
    EXPECT_FALSE(parse_endpoint(bad, 5060).has_value()) << bad;
  }
}

TEST(Endpoint, ParseAcceptsBracketsAndPlainV6Alike) {
  EXPECT_EQ(parse_endpoint("[::1]", 1), parse_endpoint("::1", 1));
  EXPECT_TRUE(parse_endpoint("::1", 1)->address.is_v6());
  EXPECT_TRUE(parse_endpoint("10.0.0.1", 1)->address.is_v4());
}

TEST(Endpoint, EqualityAndHash) {
  auto a = *parse_endpoint("10.0.0.1", 5060);
  auto b = *parse_endpoint("10.0.0.1", 5060);
  auto c = *parse_endpoint("10.0.0.1", 5061);
  auto d = *parse_endpoint("::ffff:10.0.0.1", 5060);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);  // a v4-mapped v6 address is a different socket address family
  EXPECT_EQ(EndpointHash{}(a), EndpointHash{}(b));
  std::unordered_set<Endpoint, EndpointHash> set{a, b, c, d};
  EXPECT_EQ(set.size(), 3u);
}

TEST(ConnectionRef, ZeroIdIsNoConnection) {
  EXPECT_FALSE(ConnectionRef{}.valid());
  EXPECT_FALSE((ConnectionRef{3, 0}.valid()));
  EXPECT_TRUE((ConnectionRef{0, 1}.valid()));
  EXPECT_EQ((ConnectionRef{1, 2}), (ConnectionRef{1, 2}));
  EXPECT_NE((ConnectionRef{1, 2}), (ConnectionRef{2, 2}));
}

}  // namespace
}  // namespace portico
