// The `registration` section and `registered` route targets: defaults, values, and every
// diagnostic naming file:line:col and the field.

#include <gtest/gtest.h>

#include "portico/policy/matcher.hpp"
#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

using std::chrono::seconds;

// kBaseRealms is 5 lines; the trunk and peers below are lines 6-10.
const std::string kPeers = std::string(kBaseRealms) +
                           "trunks:\n  demo: {realm: carrier, host: 192.0.2.1}\n"
                           "access_peers:\n  phones: {realm: access, sources: [10.0.0.0/8]}\n"
                           "  pbx: {realm: access, sources: [10.1.0.0/16], host: 10.1.0.5}\n";

TEST(RegistrationSection, AbsentMeansNoRegistrar) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_FALSE(p->registration.enabled);
}

TEST(RegistrationSection, DefaultsAndValues) {
  auto p = load_policy_texts({{"p.yaml", kPeers + "registration:\n  realm: access\n"}});
  ASSERT_TRUE(p->registration.enabled);
  EXPECT_EQ(p->registration.realm, "access");
  EXPECT_EQ(p->registration.registrar, "");  // Portico answers REGISTER itself
  EXPECT_EQ(p->registration.client_expires, seconds(60));
  EXPECT_EQ(p->registration.upstream_expires, seconds(3600));
  EXPECT_EQ(p->registration.options_ping, seconds(0));
  EXPECT_EQ(p->registration.ping_failures, 3);

  p = load_policy_texts({{"p.yaml", kPeers +
                                        "registration:\n  realm: access\n  registrar: demo\n"
                                        "  client_expires: 30s\n  upstream_expires: 1h\n"
                                        "  options_ping: 15s\n  ping_failures: 5\n"}});
  EXPECT_EQ(p->registration.registrar, "demo");
  EXPECT_EQ(p->registration.registrar_kind, PeerKind::Trunk);
  EXPECT_EQ(p->registration.client_expires, seconds(30));
  EXPECT_EQ(p->registration.upstream_expires, seconds(3600));
  EXPECT_EQ(p->registration.options_ping, seconds(15));
  EXPECT_EQ(p->registration.ping_failures, 5);

  p = load_policy_texts({{"p.yaml", kPeers + "registration: {realm: access, registrar: pbx}\n"}});
  EXPECT_EQ(p->registration.registrar_kind, PeerKind::AccessPeer);
}

TEST(RegistrationSection, ValuesAreChecked) {
  const auto diags = diagnostics_of(
      {{"p.yaml", kPeers + "registration:\n"          // line 11
                           "  realm: acess\n"          // 12
                           "  registrar: dmeo\n"       // 13
                           "  client_expires: 1500ms\n"  // 14
                           "  upstream_expires: 30\n"  // 15
                           "  options_ping: 200ms\n"   // 16
                           "  ping_failures: 0\n"      // 17
                           "  option_ping: 3\n"}});    // 18
  ASSERT_EQ(diags.size(), 7u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0], "p.yaml:12:10: registration.realm: unknown realm \"acess\" (known: access, "
                      "carrier)");
  EXPECT_EQ(diags[1], "p.yaml:13:14: registration.registrar: unknown trunk or access peer "
                      "\"dmeo\" (known: demo, pbx, phones)");
  EXPECT_EQ(diags[2], "p.yaml:14:19: registration.client_expires: must be a whole number of "
                      "seconds from 1s to 168h (SIP expiries are seconds)");
  EXPECT_EQ(diags[3].rfind("p.yaml:15:21: registration.upstream_expires: \"30\" has no unit", 0),
            0u) << diags[3];
  EXPECT_EQ(diags[4], "p.yaml:16:17: registration.options_ping: must be 0s (off) or at least 1s");
  EXPECT_EQ(diags[5], "p.yaml:17:18: registration.ping_failures: 0 is not a number of missed "
                      "pings (1..100)");
  EXPECT_EQ(diags[6], "p.yaml:18:3: registration.option_ping: unknown key (did you mean "
                      "\"options_ping\"?)");
}

TEST(RegistrationSection, RealmIsRequiredAndRegistrarNeedsAHost) {
  auto diags = diagnostics_of({{"p.yaml", kPeers + "registration: {registrar: phones}\n"}});
  ASSERT_EQ(diags.size(), 2u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0], "p.yaml:11:1: registration.realm: required field is missing");
  EXPECT_EQ(diags[1], "p.yaml:11:27: registration.registrar: access peer \"phones\" has no host, "
                      "so REGISTER cannot be relayed to it (access_peers.phones at p.yaml:9:3)");
}

TEST(RegistrationSection, UpstreamMayNotLapseBeforeTheClient) {
  const auto diags = diagnostics_of(
      {{"p.yaml", kPeers + "registration:\n  realm: access\n  client_expires: 10m\n"
                           "  upstream_expires: 300s\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0], "p.yaml:14:21: registration.upstream_expires: upstream_expires (300s) must "
                      "not be shorter than client_expires (600s)");
}

TEST(RegistrationSection, OnlyOneFileMayHaveIt) {
  const auto diags = diagnostics_of({{"a.yaml", kPeers + "registration: {realm: access}\n"},
                                     {"b.yaml", "registration: {realm: access}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].rfind("b.yaml:1:1: registration: section given again (first at a.yaml:11:1)",
                           0),
            0u) << diags[0];
}

TEST(RegisteredTarget, ResolvesToItsRealmForTheB2bua) {
  const auto p = load_policy_texts(
      {{"p.yaml", kPeers + "registration: {realm: access, registrar: demo}\n"
                           "routes:\n  - name: in\n    match: {realm: carrier}\n"
                           "    targets: [{registered: access}, {peer: pbx}]\n"}});
  ASSERT_EQ(p->routes.size(), 1u);
  EXPECT_EQ(p->routes[0].targets[0].kind, PeerKind::Registered);
  EXPECT_EQ(p->routes[0].targets[0].name, "access");
  const auto out = match(p, {"carrier", asio::ip::make_address("192.0.2.1"), "15550100"});
  ASSERT_TRUE(std::holds_alternative<CallPlan>(out));
  const auto& plan = std::get<CallPlan>(out);
  ASSERT_EQ(plan.targets.size(), 2u);
  EXPECT_EQ(plan.targets[0].kind, PeerKind::Registered);
  EXPECT_EQ(plan.targets[0].name, "registered:access");
  EXPECT_EQ(plan.targets[0].realm, "access");
  EXPECT_TRUE(plan.targets[0].request_uri.empty());  // filled from the binding at call time
  EXPECT_EQ(plan.targets[1].name, "pbx");
}

TEST(RegisteredTarget, ReferencesAreChecked) {
  const std::string routes = "routes:\n  - name: in\n"  // lines 11-13 (12-14 with registration)
                             "    targets: [{registered: carrier}, {registered: acces}]\n";
  auto diags = diagnostics_of({{"p.yaml", kPeers + routes}});
  ASSERT_EQ(diags.size(), 2u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0], "p.yaml:13:28: routes[0].targets[0].registered: no registration section, "
                      "so nobody can be registered on realm \"carrier\" (add registration: "
                      "{realm: carrier, ...})");
  EXPECT_EQ(diags[1], "p.yaml:13:51: routes[0].targets[1].registered: unknown realm \"acces\" "
                      "(known: access, carrier)");
  diags = diagnostics_of({{"p.yaml", kPeers + "registration: {realm: access}\n" + routes}});
  ASSERT_EQ(diags.size(), 2u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0], "p.yaml:14:28: routes[0].targets[0].registered: realm \"carrier\" accepts no "
                      "REGISTER (registration.realm is \"access\" at p.yaml:11:1)");
}

TEST(RegisteredTarget, ExactlyOneKindPerTarget) {
  const auto diags = diagnostics_of(
      {{"p.yaml", kPeers + "registration: {realm: access}\nroutes:\n  - name: in\n"
                           "    targets: [{registered: access, trunk: demo}]\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0], "p.yaml:14:15: routes[0].targets[0]: a target names exactly one of trunk, "
                      "peer or registered");
}

}  // namespace
}  // namespace portico::policy::test
