// The matcher as a table: (request facts) -> expected plan or reject, against one policy.

#include "portico/policy/matcher.hpp"

#include <gtest/gtest.h>

#include "portico/policy/loader.hpp"

namespace portico::policy {
namespace {

const char* const kPolicy =
    R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060, tcp://127.0.0.1:5060]
  carrier:
    listeners: [udp://127.0.0.2:5060, "tls://[::1]:5061"]
    tls: {certificate: )" PORTICO_SOURCE_DIR
    R"(/tests/fixtures/tls/portico-test.crt, private_key: )" PORTICO_SOURCE_DIR
    R"(/tests/fixtures/tls/portico-test.key}
trunks:
  acme:
    realm: carrier
    host: 198.51.100.7
    max_calls: 30
    sources: [198.51.100.0/24]
  backup:
    realm: carrier
    host: "2001:db8::5"
    port: 5061
    transport: tls
  inner:                      # inside pbx's 10.0.0.0/8 but on the carrier realm
    realm: carrier
    host: 10.9.9.9
access_peers:
  pbx:
    realm: access
    sources: [10.0.0.0/8]
    host: 10.1.0.5
    port: 5080
    transport: tcp
    max_calls: 12
  softphones:
    realm: access
    sources: ["2001:db8:100::/48", 192.0.2.0/24]
  carrier-pool:               # overlaps trunk acme: the trunk must win
    realm: carrier
    sources: [198.51.100.0/24]
routes:
  - name: emergency
    match: {realm: access, user_regex: "^(112|911)$"}
    targets: [{trunk: acme}]
  - name: intl
    match: {realm: access, user_prefix: "00"}
    rewrite: {regex: "^00(.*)$", replace: "+$1"}
    targets: [{trunk: acme}, {trunk: backup}]
  - name: pbx-national
    match: {peer: pbx, user_regex: "^0[1-9][0-9]+$"}
    rewrite: {strip: 1, prepend: "+44"}
    targets: [{trunk: acme}]
  - name: inbound
    match: {realm: carrier}
    targets: [{peer: pbx}]
)";

struct Case {
  const char* name;
  const char* realm;
  const char* source;
  const char* user;
  // Expected: a plan (route, source, user, first target) or a reject (status, reason).
  const char* route = nullptr;
  const char* source_peer = nullptr;
  const char* rewritten = nullptr;
  const char* first_target = nullptr;
  int status = 0;
  const char* reason = nullptr;
};

Case plan(const char* name, const char* realm, const char* source, const char* user,
          const char* route, const char* peer, const char* rewritten, const char* target) {
  return Case{name, realm, source, user, route, peer, rewritten, target, 0, nullptr};
}

Case reject(const char* name, const char* realm, const char* source, const char* user, int status,
            const char* reason) {
  return Case{name, realm, source, user, nullptr, nullptr, nullptr, nullptr, status, reason};
}

TEST(Matcher, Table) {
  const auto policy = load_policy_texts({{"p.yaml", kPolicy}});
  const Case cases[] = {
      plan("emergency first", "access", "10.1.0.5", "112", "emergency", "pbx", "112", "acme"),
      plan("regex is a full match", "access", "10.1.0.5", "0044123", "intl", "pbx", "+44123",
           "acme"),
      plan("softphone over v6", "access", "2001:db8:100::9", "0033999", "intl", "softphones",
           "+33999", "acme"),
      plan("strip then prepend", "access", "10.2.3.4", "02079460000", "pbx-national", "pbx",
           "+442079460000", "acme"),
      plan("inbound from trunk", "carrier", "198.51.100.20", "442079460000", "inbound", "acme",
           "442079460000", "pbx"),
      plan("trunks win over peers", "carrier", "198.51.100.99", "1", "inbound", "acme", "1", "pbx"),
      plan("same address, other realm", "carrier", "10.9.9.9", "1", "inbound", "inner", "1", "pbx"),
      plan("v4-mapped source", "access", "::ffff:10.1.0.5", "911", "emergency", "pbx", "911",
           "acme"),
      reject("unknown source", "access", "203.0.113.1", "112", 403, "unknown_source"),
      reject("source on the wrong realm", "carrier", "10.1.0.5", "112", 403, "unknown_source"),
      reject("unknown realm", "nowhere", "10.1.0.5", "112", 403, "unknown_source"),
      reject("peer condition fails", "access", "192.0.2.9", "02079460000", 404, "no_route"),
      reject("empty user", "access", "10.1.0.5", "", 404, "no_route"),
      reject("partial regex match is no match", "access", "10.1.0.5", "1120", 404, "no_route"),
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RequestFacts facts{c.realm, asio::ip::make_address(c.source), c.user};
    const auto result = match(policy, facts);
    if (c.route != nullptr) {
      ASSERT_TRUE(std::holds_alternative<CallPlan>(result));
      const auto& p = std::get<CallPlan>(result);
      EXPECT_EQ(p.route, c.route);
      EXPECT_EQ(p.source_peer, c.source_peer);
      EXPECT_EQ(p.ruri_user, c.rewritten);
      ASSERT_FALSE(p.targets.empty());
      EXPECT_EQ(p.targets[0].name, c.first_target);
      EXPECT_EQ(p.policy, policy);
    } else {
      ASSERT_TRUE(std::holds_alternative<Reject>(result));
      const auto& r = std::get<Reject>(result);
      EXPECT_EQ(r.status, c.status);
      EXPECT_EQ(r.reason, c.reason);
      EXPECT_FALSE(r.detail.empty());
    }
  }
}

TEST(Matcher, ResolvesTargetsCompletely) {
  const auto policy = load_policy_texts({{"p.yaml", kPolicy}});
  const auto result = match(policy, {"access", asio::ip::make_address("10.1.0.5"), "0049301"});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(result));
  const auto& targets = std::get<CallPlan>(result).targets;
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].kind, PeerKind::Trunk);
  EXPECT_EQ(targets[0].realm, "carrier");
  EXPECT_EQ(targets[0].remote.address.to_string(), "198.51.100.7");
  EXPECT_EQ(targets[0].remote.port, 5060);
  EXPECT_EQ(targets[0].transport, Protocol::Udp);
  EXPECT_EQ(targets[0].max_calls, 30);
  EXPECT_EQ(targets[1].name, "backup");
  EXPECT_EQ(targets[1].remote.address.to_string(), "2001:db8::5");
  EXPECT_EQ(targets[1].remote.port, 5061);
  EXPECT_EQ(targets[1].transport, Protocol::Tls);

  const auto inbound = match(policy, {"carrier", asio::ip::make_address("198.51.100.7"), "1"});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(inbound));
  const ResolvedTarget& pbx = std::get<CallPlan>(inbound).targets.at(0);
  EXPECT_EQ(pbx.kind, PeerKind::AccessPeer);
  EXPECT_EQ(pbx.realm, "access");
  EXPECT_EQ(pbx.remote.address.to_string(), "10.1.0.5");
  EXPECT_EQ(pbx.remote.port, 5080);
  EXPECT_EQ(pbx.transport, Protocol::Tcp);
  EXPECT_EQ(pbx.max_calls, 12);
}

TEST(Matcher, IdentifySource) {
  const auto policy = load_policy_texts({{"p.yaml", kPolicy}});
  const auto id = [&](const char* realm, const char* addr) {
    return identify_source(*policy, realm, asio::ip::make_address(addr));
  };
  EXPECT_EQ(id("carrier", "198.51.100.1"), "acme");
  EXPECT_EQ(id("carrier", "2001:db8::5"), "backup");  // default source: host/128
  EXPECT_EQ(id("carrier", "2001:db8::6"), "");
  EXPECT_EQ(id("access", "10.9.9.9"), "pbx");  // inner is on the other realm
  EXPECT_EQ(id("carrier", "10.9.9.9"), "inner");
  EXPECT_EQ(id("access", "198.51.100.1"), "");
}

TEST(Matcher, ShippedPolicyRoutesBothWays) {
  const auto policy = load_policy(PORTICO_SOURCE_DIR "/policies");
  const auto out = match(policy, {"access", asio::ip::make_address("127.0.0.1"), "0044123"});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(out));
  EXPECT_EQ(std::get<CallPlan>(out).ruri_user, "+44123");
  EXPECT_EQ(std::get<CallPlan>(out).targets.at(0).remote.to_string(), "127.0.0.3:5060");
  const auto in = match(policy, {"carrier", asio::ip::make_address("127.0.0.3"), "100"});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(in));
  EXPECT_EQ(std::get<CallPlan>(in).source_peer, "demo");
  EXPECT_EQ(std::get<CallPlan>(in).targets.at(0).remote.to_string(), "127.0.0.1:5070");
}

// A peer controls the user part; a huge one must not reach std::regex (which recurses per
// character) and must not crash the shard.
TEST(Matcher, HugeUserSkipsRegexConditions) {
  const auto policy = load_policy_texts({{"p.yaml", kPolicy}});
  const std::string huge(100000, '1');
  const auto r = match(policy, {"access", asio::ip::make_address("10.1.0.5"), huge});
  ASSERT_TRUE(std::holds_alternative<Reject>(r));
  EXPECT_EQ(std::get<Reject>(r).reason, "no_route");
  // A prefix condition still works; the regex rewrite is skipped.
  const std::string intl = "00" + huge;
  const auto p = match(policy, {"access", asio::ip::make_address("10.1.0.5"), intl});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(p));
  EXPECT_EQ(std::get<CallPlan>(p).route, "intl");
  EXPECT_EQ(std::get<CallPlan>(p).ruri_user, intl);
  const std::string edge(kMaxRegexUserLength, '1');
  NumberRewrite rw;
  rw.regex.emplace("^1");
  rw.replace = "+";
  EXPECT_EQ(rewrite_user(rw, edge), "+" + edge.substr(1));
  EXPECT_EQ(rewrite_user(rw, edge + "1"), edge + "1");
}

// Snapshots built by hand (not through the loader) may name targets that do not exist: they are
// left out of the plan instead of crashing the shard.
TEST(Matcher, HandBuiltSnapshotSkipsUnresolvableTargets) {
  auto snap = std::make_shared<PolicySnapshot>();
  Trunk t;
  t.name = "t";
  t.realm = "r";
  t.host = "192.0.2.1";
  t.sources = {*parse_cidr("192.0.2.0/24")};
  snap->trunks = {t};
  AccessPeer hostless;
  hostless.name = "p";
  hostless.realm = "r";
  snap->access_peers = {hostless};
  Route route;
  route.name = "any";
  route.targets = {{PeerKind::Trunk, "missing", {}},
                   {PeerKind::AccessPeer, "p", {}},
                   {PeerKind::Trunk, "t", {}}};
  snap->routes = {route};
  const auto r = match(snap, {"r", asio::ip::make_address("192.0.2.9"), "1"});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(r));
  const auto& targets = std::get<CallPlan>(r).targets;
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, "t");
  EXPECT_EQ(targets[0].remote.to_string(), "192.0.2.1:5060");
}

struct RewriteCase {
  int strip;
  const char* prepend;
  const char* regex;
  const char* replace;
  const char* in;
  const char* out;
};

TEST(RewriteUser, Cases) {
  const RewriteCase cases[] = {
      {0, "", nullptr, "", "12345", "12345"},           // no rewrite
      {2, "", nullptr, "", "0012345", "12345"},         // strip
      {0, "+", nullptr, "", "4420", "+4420"},           // prepend
      {1, "+44", nullptr, "", "02079", "+442079"},      // strip, then prepend
      {5, "", nullptr, "", "123", ""},                  // strip more than there is
      {5, "9", nullptr, "", "", "9"},                   // empty user
      {0, "", "^00(.*)$", "+$1", "0049301", "+49301"},  // regex
      {0, "", "^00(.*)$", "+$1", "+49301", "+49301"},   // regex does not match: unchanged
      {0, "", "0", "x", "1000", "1x00"},                // only the first match is replaced
      {0, "", "^(\\d{3})(\\d+)$", "$2-$1", "1234567", "4567-123"},
      {1, "+", "^00", "", "00441", "+41"},  // regex, then strip, then prepend
  };
  for (const auto& c : cases) {
    NumberRewrite rw;
    rw.strip_digits = c.strip;
    rw.prepend = c.prepend;
    if (c.regex != nullptr) {
      rw.regex.emplace(c.regex, std::regex::ECMAScript);
      rw.regex_text = c.regex;
      rw.replace = c.replace;
    }
    EXPECT_EQ(rewrite_user(rw, c.in), c.out) << c.in;
  }
}

}  // namespace
}  // namespace portico::policy
