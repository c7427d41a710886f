// Bad policies: each class of mistake gives its own diagnostic, at the exact file:line:col of
// the offending key or value, with the field path and a message that says how to fix it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy {
namespace {

using test::diagnostics_of;
using test::Files;
using test::kBaseRealms;
using ::testing::ElementsAre;

// kBaseRealms is 5 lines, so text appended to it starts on line 6.
std::vector<std::string> check(const std::string& extra) {
  return diagnostics_of({{"p.yaml", std::string(kBaseRealms) + extra}});
}

TEST(PolicyDiagnostics, FormatsLocationPathAndMessage) {
  Diagnostic d{SourceLoc{"policies/trunks/acme.yaml", 12, 7}, "trunks.acme.port",
               "70000 is not a port"};
  EXPECT_EQ(d.to_string(), "policies/trunks/acme.yaml:12:7: trunks.acme.port: 70000 is not a port");
  EXPECT_EQ((Diagnostic{SourceLoc{"p.yaml", 0, 0}, "", "cannot open file"}).to_string(),
            "p.yaml: cannot open file");
  const ConfigError e({d, d});
  EXPECT_EQ(e.diagnostics().size(), 2u);
  EXPECT_NE(std::string(e.what()).find("2 policy errors"), std::string::npos);
}

TEST(PolicyDiagnostics, PortOutOfRange) {
  EXPECT_THAT(check("trunks:\n  acme:\n    realm: carrier\n    host: 192.0.2.1\n"
                    "    port: 70000\n"),
              ElementsAre("p.yaml:10:11: trunks.acme.port: 70000 is not a port"));
}

TEST(PolicyDiagnostics, WrongYamlType) {
  EXPECT_THAT(check("trunks:\n  demo:\n    realm: carrier\n    host: 192.0.2.1\n"
                    "    port: fast\n"),
              ElementsAre("p.yaml:10:11: trunks.demo.port: expected an integer"));
  EXPECT_THAT(check("trunks:\n  demo: [a, b]\n"),
              ElementsAre("p.yaml:7:9: trunks.demo: expected a map, found a list"));
  EXPECT_THAT(check("server:\n  trace: yes\n"),
              ElementsAre("p.yaml:7:10: server.trace: expected true or false"));
}

TEST(PolicyDiagnostics, UnknownKeySuggestsTheClosest) {
  EXPECT_THAT(check("trunks:\n  demo:\n    realm: carrier\n    host: 192.0.2.1\n"
                    "    prot: 5060\n"),
              ElementsAre("p.yaml:10:5: trunks.demo.prot: unknown key (did you mean \"port\"?)"));
  EXPECT_THAT(check("route: []\n"),
              ElementsAre("p.yaml:6:1: route: unknown key (did you mean \"routes\"?)"));
  // Nothing close: list what is allowed instead of guessing.
  EXPECT_THAT(check("server:\n  colour: blue\n"),
              ElementsAre("p.yaml:7:3: server.colour: unknown key (expected one of: shards, "
                          "log_level, trace, max_message_size, media_io, pin_shards, "
                          "media_shards)"));
}

TEST(PolicyDiagnostics, MissingRequiredFieldPointsAtItsParent) {
  EXPECT_THAT(check("trunks:\n  demo:\n    realm: carrier\n"),
              ElementsAre("p.yaml:7:3: trunks.demo.host: required field is missing"));
  EXPECT_THAT(check("routes:\n  - name: r\n"),
              ElementsAre("p.yaml:7:5: routes[0].targets: required field is missing"));
}

TEST(PolicyDiagnostics, UnknownReferencesListTheKnownNames) {
  EXPECT_THAT(check("trunks:\n  demo:\n    realm: carier\n    host: 192.0.2.1\n"),
              ElementsAre("p.yaml:8:12: trunks.demo.realm: unknown realm \"carier\" "
                          "(known: access, carrier)"));
  EXPECT_THAT(
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "trunks:\n  demo:\n    realm: carrier\n"
                                                            "    host: 192.0.2.1\n"},
                      {"routes.yaml",
                       "routes:\n  - name: r\n    targets:\n"
                       "      - trunk: acme\n"}}),
      ElementsAre("routes.yaml:4:16: routes[0].targets[0].trunk: unknown trunk \"acme\" "
                  "(known: demo)"));
}

TEST(PolicyDiagnostics, TransportNeedsAListenerInTheRealm) {
  EXPECT_THAT(check("trunks:\n  demo:\n    realm: carrier\n    host: 192.0.2.1\n"
                    "    transport: tls\n"),
              ElementsAre("p.yaml:10:16: trunks.demo.transport: realm \"carrier\" has no tls "
                          "listener; its listeners: udp://127.0.0.2:5060, tcp://127.0.0.2:5060"));
  // Defaulted transport: reported at the trunk, saying where udp came from.
  EXPECT_THAT(diagnostics_of({{"p.yaml",
                               "realms:\n  c:\n    listeners: [tcp://127.0.0.2:5060]\n"
                               "trunks:\n  demo:\n    realm: c\n    host: 192.0.2.1\n"}}),
              ElementsAre("p.yaml:5:3: trunks.demo.transport: realm \"c\" has no udp listener "
                          "(udp is the default); its listeners: tcp://127.0.0.2:5060"));
}

TEST(PolicyDiagnostics, BadDurations) {
  EXPECT_THAT(check("timers:\n  t1: 500\n"),
              ElementsAre("p.yaml:7:7: timers.t1: \"500\" has no unit (write e.g. \"500ms\" or "
                          "\"500s\"; units: ms, s, m, h, d)"));
  EXPECT_THAT(check("timers:\n  t4: 5 seconds\n"),
              ElementsAre("p.yaml:7:7: timers.t4: \"5 seconds\" is not a duration (expected a "
                          "whole number and a unit: \"500ms\", \"4s\", \"2m\", \"4h\", \"7d\")"));
  EXPECT_THAT(check("timers:\n  t1: 0ms\n"),
              ElementsAre("p.yaml:7:7: timers.t1: must be longer than 0ms"));
  EXPECT_THAT(check("timers:\n  t1: 5s\n  t2: 1s\n"),
              ElementsAre("p.yaml:8:7: timers.t2: t2 (1000ms) must not be shorter than t1 "
                          "(5000ms)"));
}

TEST(PolicyDiagnostics, BadListeners) {
  const auto realm = [](const std::string& listener) {
    return diagnostics_of({{"p.yaml", "realms:\n  a:\n    listeners: [\"" + listener + "\"]\n"}});
  };
  EXPECT_THAT(realm("udp://127.0.0.1"),
              ElementsAre("p.yaml:3:17: realms.a.listeners[0]: \"udp://127.0.0.1\" has no port "
                          "(expected scheme://address:port, e.g. udp://127.0.0.1:5060)"));
  EXPECT_THAT(realm("sctp://127.0.0.1:5060"),
              ElementsAre("p.yaml:3:17: realms.a.listeners[0]: \"sctp\" is not a transport "
                          "(expected udp, tcp or tls)"));
  EXPECT_THAT(realm("udp://::1:5060"),
              ElementsAre("p.yaml:3:17: realms.a.listeners[0]: \"udp://::1:5060\": an IPv6 "
                          "address must be in brackets, e.g. udp://[::1]:5060"));
  EXPECT_THAT(realm("udp://sbc.example.com:5060"),
              ElementsAre("p.yaml:3:17: realms.a.listeners[0]: \"udp://sbc.example.com:5060\": "
                          "\"sbc.example.com\" is not an IP address"));
  EXPECT_THAT(realm("udp://127.0.0.1:0"),
              ElementsAre("p.yaml:3:17: realms.a.listeners[0]: \"udp://127.0.0.1:0\": 0 is not "
                          "a port"));
  EXPECT_THAT(diagnostics_of({{"p.yaml", "realms:\n  a:\n    listeners: []\n"}}),
              ElementsAre("p.yaml:3:16: realms.a.listeners: a realm needs at least one listener"));
}

TEST(PolicyDiagnostics, TwoRealmsCannotBindOneSocket) {
  EXPECT_THAT(
      diagnostics_of({{"p.yaml",
                       "realms:\n  b:\n    listeners: [udp://127.0.0.1:5060]\n"
                       "  a:\n    listeners: [tcp://127.0.0.1:5060, udp://0.0.0.0:5060]\n"}}),
      ElementsAre("p.yaml:5:39: realms.a.listeners[1]: udp://0.0.0.0:5060 binds the same socket "
                  "as realms.b.listeners[0] (udp://127.0.0.1:5060 at p.yaml:3:17)"));
  // TLS runs over TCP: same port space.
  EXPECT_THAT(diagnostics_of({{"p.yaml",
                               "realms:\n  a:\n    listeners: [tcp://127.0.0.1:5060]\n"
                               "  b:\n    listeners: [tls://127.0.0.1:5060]\n"}}),
              ElementsAre("p.yaml:5:17: realms.b.listeners[0]: tls://127.0.0.1:5060 binds the same "
                          "socket as realms.a.listeners[0] (tcp://127.0.0.1:5060 at p.yaml:3:17)",
                          "p.yaml:5:17: realms.b.listeners[0]: a tls listener needs realms.b.tls "
                          "with its certificate and private_key"));
}

TEST(PolicyDiagnostics, NoRealmsIsAnError) {
  EXPECT_THAT(diagnostics_of({{"p.yaml", "server:\n  shards: 1\n"}}),
              ElementsAre("p.yaml:1:1: realms: no realm is defined; a policy needs at least one "
                          "realm with a listener"));
}

TEST(PolicyDiagnostics, YamlSyntaxErrorHasAPosition) {
  const auto d = diagnostics_of(
      {{"p.yaml", "realms:\n  a:\n    listeners: [udp://1.2.3.4:5\n"}, {"q.yaml", kBaseRealms}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rfind("p.yaml:", 0), 0u);
  EXPECT_NE(d[0].find(": YAML syntax error: "), std::string::npos) << d[0];
}

TEST(PolicyDiagnostics, DuplicateNamesAcrossFilesNameBothPlaces) {
  const std::string trunk = "trunks:\n  demo:\n    realm: carrier\n    host: 192.0.2.1\n";
  EXPECT_THAT(
      diagnostics_of(
          {{"a.yaml", kBaseRealms}, {"trunks/1.yaml", trunk}, {"trunks/2.yaml", "\n" + trunk}}),
      ElementsAre("trunks/2.yaml:3:3: trunks.demo: trunk \"demo\" is defined twice "
                  "(first at trunks/1.yaml:2:3)"));
  EXPECT_THAT(diagnostics_of({{"a.yaml", kBaseRealms}, {"b.yaml", kBaseRealms}}),
              ElementsAre("b.yaml:2:3: realms.access: realm \"access\" is defined twice (first at "
                          "a.yaml:2:3)",
                          "b.yaml:4:3: realms.carrier: realm \"carrier\" is defined twice (first "
                          "at a.yaml:4:3)"));
  const std::string route = "routes:\n  - name: out\n    targets: [{trunk: demo}]\n";
  EXPECT_THAT(
      diagnostics_of({{"a.yaml", kBaseRealms + trunk}, {"r1.yaml", route}, {"r2.yaml", route}}),
      ElementsAre("r2.yaml:2:11: routes[1].name: route \"out\" is defined twice (first as "
                  "routes[0] at r1.yaml:2:11)"));
}

TEST(PolicyDiagnostics, SingleFileSectionsAppearOnce) {
  EXPECT_THAT(diagnostics_of({{"a.yaml", std::string(kBaseRealms) + "server:\n  shards: 1\n"},
                              {"b.yaml", "server:\n  shards: 2\n"}}),
              ElementsAre("b.yaml:1:1: server: section given again (first at a.yaml:6:1); "
                          "server, timers, headers, metrics, cdr, traces, registration, limits, "
                          "rate_limits and ingress may each appear in one file only"));
}

TEST(PolicyDiagnostics, RouteChecks) {
  const std::string base =
      "trunks:\n  demo:\n    realm: carrier\n    host: 192.0.2.1\n"
      "access_peers:\n  lab:\n    realm: access\n    sources: [10.0.0.0/8]\n";
  // base is 8 lines: the routes below start on line 14.
  EXPECT_THAT(check(base + "routes:\n  - name: r\n    match: {user_regex: \"^[0-9\"}\n"
                           "    targets: [{trunk: demo}]\n"),
              ElementsAre(::testing::StartsWith("p.yaml:16:25: routes[0].match.user_regex: "
                                                "invalid regex \"^[0-9\": ")));
  EXPECT_THAT(check(base + "routes:\n  - name: r\n    targets: [{peer: lab}]\n"),
              ElementsAre("p.yaml:16:22: routes[0].targets[0].peer: access peer \"lab\" has no "
                          "host, so calls cannot be sent to it (access_peers.lab at p.yaml:11:3)"));
  EXPECT_THAT(check(base + "routes:\n  - name: r\n    match: {realm: access, peer: demo}\n"
                           "    targets: [{trunk: demo}]\n"),
              ElementsAre("p.yaml:16:34: routes[0].match.peer: \"demo\" is in realm \"carrier\" "
                          "but match.realm is \"access\", so this route can never match"));
  EXPECT_THAT(check(base + "routes:\n  - name: r\n    match: {peer: nobody}\n"
                           "    targets: [{trunk: demo}]\n"),
              ElementsAre("p.yaml:16:19: routes[0].match.peer: unknown trunk or access peer "
                          "\"nobody\" (known: demo, lab)"));
  EXPECT_THAT(check(base + "routes:\n  - name: r\n    targets: []\n"),
              ElementsAre("p.yaml:16:14: routes[0].targets: a route needs at least one target"));
  EXPECT_THAT(check(base + "routes:\n  - name: r\n    rewrite: {regex: \"^0\"}\n"
                           "    targets: [{trunk: demo, peer: lab}]\n"),
              ElementsAre("p.yaml:16:22: routes[0].rewrite.regex: regex needs replace (the text "
                          "that replaces the match, e.g. \"+$1\")",
                          "p.yaml:17:15: routes[0].targets[0]: a target names exactly one of "
                          "trunk, peer or registered"));
}

TEST(PolicyDiagnostics, CollectsEveryErrorInOneRun) {
  const Files files = {
      {"a.yaml",
       "server:\n  shards: 99\n  log_level: loud\n"
       "realms:\n  access:\n    listeners: [udp://127.0.0.1:5060]\n"},
      {"b.yaml",
       "trunks:\n  demo:\n    realm: access\n    host: not-an-ip\n    port: 0\n"
       "    sources: [10.0.0.1/8]\n"},
  };
  EXPECT_THAT(
      diagnostics_of(files),
      ElementsAre(
          "a.yaml:2:11: server.shards: 99 is not a shard count (0 = one per CPU, or 1..64)",
          "a.yaml:3:14: server.log_level: \"loud\" is not a log level (expected debug, info, warn "
          "or error)",
          "b.yaml:4:11: trunks.demo.host: \"not-an-ip\" is not an IP address (host names are not "
          "supported yet)",
          "b.yaml:5:11: trunks.demo.port: 0 is not a port",
          "b.yaml:6:15: trunks.demo.sources[0]: \"10.0.0.1/8\" has host bits set (did you mean "
          "\"10.0.0.0/8\"?)"));
}

TEST(PolicyDiagnostics, NamesMustBePlain) {
  EXPECT_THAT(check("trunks:\n  \"my trunk\":\n    realm: carrier\n    host: 192.0.2.1\n"),
              ElementsAre("p.yaml:7:3: trunks.my trunk: \"my trunk\" is not a valid name (use "
                          "letters, digits, '-', '_' and '.')"));
  EXPECT_THAT(check("trunks:\n  lab:\n    realm: carrier\n    host: 192.0.2.1\n"
                    "access_peers:\n  lab:\n    realm: access\n    sources: [10.0.0.0/8]\n"),
              ElementsAre("p.yaml:11:3: access_peers.lab: name \"lab\" is already used by trunk "
                          "trunks.lab (at p.yaml:7:3); trunks and access peers need distinct "
                          "names"));
}

}  // namespace
}  // namespace portico::policy
