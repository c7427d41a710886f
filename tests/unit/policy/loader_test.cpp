// Loading valid policies: every field read, defaults filled, files merged, the shipped example.

#include "portico/policy/loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "policy_test_util.hpp"

namespace portico::policy {
namespace {

using test::Files;
using test::kBaseRealms;

const char* const kEveryField =
    R"(server:
  shards: 4
  log_level: debug
  trace: true
  max_message_size: 4096
timers:
  t1: 250ms
  t2: 8s
  t4: 10s
  max_call_duration: 2h
  tcp_idle_timeout: 3m
headers:
  pass: [P-Asserted-Identity, Privacy]
  pass_user_agent: true
  server_name: Edge-SBC
  expose_version: true
realms:
  access:
    listeners: [udp://127.0.0.1:5060, "tcp://[::1]:5061"]
    advertised_address: 192.0.2.10
  carrier: {listeners: [tls://127.0.0.2:5061], tls: {certificate: )" PORTICO_SOURCE_DIR
    R"(/tests/fixtures/tls/portico-test.crt, private_key: )" PORTICO_SOURCE_DIR
    R"(/tests/fixtures/tls/portico-test.key}}
  # a tls listener needs the realm's tls block (tests/fixtures/tls)
trunks:
  acme:
    realm: carrier
    host: 198.51.100.7
    port: 5061
    transport: tls
    max_calls: 30
    sources: [198.51.100.0/24, "2001:db8::/32"]
access_peers:
  pbx:
    realm: access
    sources: [10.1.0.0/16]
    host: 10.1.0.5
    port: 5080
    transport: tcp
    max_calls: 12
routes:
  - name: intl
    match:
      realm: access
      peer: pbx
      user_prefix: "00"
      user_regex: "^[0-9]+$"
    rewrite:
      strip: 1
      prepend: "+"
      regex: "^0(0.*)$"
      replace: "$1"
    targets:
      - trunk: acme
      - peer: pbx
)";

TEST(PolicyLoader, ReadsEveryField) {
  const auto p = load_policy_texts({{"all.yaml", kEveryField}});
  EXPECT_EQ(p->server.shards, 4);
  EXPECT_EQ(p->server.log_level, "debug");
  EXPECT_TRUE(p->server.trace);
  EXPECT_EQ(p->server.max_message_size, 4096u);
  EXPECT_EQ(p->timers.t1, Millis{250});
  EXPECT_EQ(p->timers.t2, Millis{8000});
  EXPECT_EQ(p->timers.t4, Millis{10000});
  EXPECT_EQ(p->timers.max_call_duration, Millis{2 * 3600 * 1000});
  EXPECT_EQ(p->timers.tcp_idle_timeout, Millis{180000});
  EXPECT_EQ(p->headers.pass, (std::vector<std::string>{"P-Asserted-Identity", "Privacy"}));
  EXPECT_TRUE(p->headers.pass_user_agent);
  EXPECT_EQ(p->headers.server_name, "Edge-SBC");
  EXPECT_TRUE(p->headers.expose_version);

  ASSERT_EQ(p->realms.size(), 2u);
  const Realm& access = p->realms[0];
  EXPECT_EQ(access.name, "access");
  EXPECT_EQ(access.advertised_address, "192.0.2.10");
  ASSERT_EQ(access.listeners.size(), 2u);
  EXPECT_EQ(access.listeners[0].protocol, Protocol::Udp);
  EXPECT_EQ(access.listeners[0].bind.address.to_string(), "127.0.0.1");
  EXPECT_EQ(access.listeners[0].bind.port, 5060);
  EXPECT_EQ(access.listeners[1].protocol, Protocol::Tcp);
  EXPECT_EQ(access.listeners[1].bind.address.to_string(), "::1");
  EXPECT_EQ(access.listeners[1].bind.port, 5061);
  EXPECT_EQ(access.listeners[1].loc.line, 19);
  EXPECT_EQ(p->realms[1].listeners[0].protocol, Protocol::Tls);

  ASSERT_EQ(p->trunks.size(), 1u);
  const Trunk& t = p->trunks[0];
  EXPECT_EQ(t.name, "acme");
  EXPECT_EQ(t.realm, "carrier");
  EXPECT_EQ(t.host, "198.51.100.7");
  EXPECT_EQ(t.port, 5061);
  EXPECT_EQ(t.transport, Protocol::Tls);
  EXPECT_EQ(t.max_calls, 30);
  ASSERT_EQ(t.sources.size(), 2u);
  EXPECT_EQ(t.sources[0].to_string(), "198.51.100.0/24");
  EXPECT_EQ(t.sources[1].to_string(), "2001:db8::/32");
  EXPECT_EQ(t.loc.file, "all.yaml");
  EXPECT_EQ(t.loc.line, 24);
  EXPECT_EQ(t.loc.column, 3);

  ASSERT_EQ(p->access_peers.size(), 1u);
  const AccessPeer& a = p->access_peers[0];
  EXPECT_EQ(a.name, "pbx");
  EXPECT_EQ(a.realm, "access");
  ASSERT_EQ(a.sources.size(), 1u);
  EXPECT_EQ(a.sources[0].to_string(), "10.1.0.0/16");
  EXPECT_EQ(a.host, "10.1.0.5");
  EXPECT_EQ(a.port, 5080);
  EXPECT_EQ(a.transport, Protocol::Tcp);
  EXPECT_EQ(a.max_calls, 12);

  ASSERT_EQ(p->routes.size(), 1u);
  const Route& r = p->routes[0];
  EXPECT_EQ(r.name, "intl");
  EXPECT_EQ(r.from_realm, "access");
  EXPECT_EQ(r.from_peer, "pbx");
  EXPECT_EQ(r.user_prefix, "00");
  EXPECT_TRUE(r.user_regex.has_value());
  EXPECT_EQ(r.user_regex_text, "^[0-9]+$");
  EXPECT_EQ(r.rewrite.strip_digits, 1);
  EXPECT_EQ(r.rewrite.prepend, "+");
  EXPECT_TRUE(r.rewrite.regex.has_value());
  EXPECT_EQ(r.rewrite.regex_text, "^0(0.*)$");
  EXPECT_EQ(r.rewrite.replace, "$1");
  ASSERT_EQ(r.targets.size(), 2u);
  EXPECT_EQ(r.targets[0].kind, PeerKind::Trunk);
  EXPECT_EQ(r.targets[0].name, "acme");
  EXPECT_EQ(r.targets[1].kind, PeerKind::AccessPeer);
  EXPECT_EQ(r.targets[1].name, "pbx");
  EXPECT_EQ(r.loc.line, 40);
  EXPECT_EQ(r.loc.column, 5);
}

// Only the numbers libstdc++ reads without an overflow check (back-references, repeat counts)
// are capped at 9 digits; literal digits, as in a full number, are not.
TEST(PolicyLoader, RegexMayHoldLongLiteralNumbers) {
  const auto p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) + R"(trunks:
  demo: {realm: carrier, host: 127.0.0.3}
routes:
  - name: out
    match: {user_regex: "^\\+4930123456789(\\d{1,12})?$"}
    rewrite: {regex: "^(0{2})4930123456789$", replace: "+$1"}
    targets: [{trunk: demo}]
)"}});
  ASSERT_EQ(p->routes.size(), 1u);
  EXPECT_EQ(p->routes[0].user_regex_text, "^\\+4930123456789(\\d{1,12})?$");
}

TEST(PolicyLoader, FillsDefaults) {
  const auto p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) + R"(trunks:
  demo:
    realm: carrier
    host: "2001:db8::7"
access_peers:
  lab:
    realm: access
    sources: [127.0.0.0/8]
)"}});
  const Server server;
  const Timers timers;
  const HeaderRules headers;
  EXPECT_EQ(p->server.shards, server.shards);
  EXPECT_EQ(p->server.log_level, "info");
  EXPECT_EQ(p->server.max_message_size, 65535u);
  EXPECT_EQ(p->timers.t1, timers.t1);
  EXPECT_EQ(p->timers.max_call_duration, timers.max_call_duration);
  EXPECT_EQ(p->headers.pass, headers.pass);
  EXPECT_EQ(p->headers.server_name, "");  // no Server/User-Agent unless configured
  const Trunk* demo = p->find_trunk("demo");
  ASSERT_NE(demo, nullptr);
  EXPECT_EQ(demo->port, 5060);
  EXPECT_EQ(demo->transport, Protocol::Udp);
  EXPECT_EQ(demo->max_calls, 0);
  ASSERT_EQ(demo->sources.size(), 1u);
  EXPECT_EQ(demo->sources[0].to_string(), "2001:db8::7/128");  // default: the host alone
  const AccessPeer* lab = p->find_access_peer("lab");
  ASSERT_NE(lab, nullptr);
  EXPECT_FALSE(lab->host.has_value());
  EXPECT_EQ(lab->port, 5060);
  EXPECT_TRUE(p->routes.empty());
  EXPECT_EQ(p->find_realm("access")->advertised_address, "");
  EXPECT_EQ(p->find_realm("nowhere"), nullptr);
  EXPECT_EQ(p->find_trunk("lab"), nullptr);
}

TEST(PolicyLoader, MergesFilesInPathOrder) {
  // Given out of order: the loader sorts by name, so b.yaml's routes come after a.yaml's and the
  // trunk defined in z.yaml is known to routes in a.yaml.
  const Files files = {
      {"z.yaml", "trunks:\n  zed:\n    realm: carrier\n    host: 192.0.2.2\n"},
      {"b.yaml", "routes:\n  - name: second\n    targets: [{trunk: zed}]\n"},
      {"a.yaml", std::string(kBaseRealms) +
                     "routes:\n  - name: first\n    targets: [{trunk: zed}]\n"
                     "trunks:\n  alpha:\n    realm: carrier\n"
                     "    host: 192.0.2.1\n"},
  };
  const auto p = load_policy_texts(files);
  ASSERT_EQ(p->routes.size(), 2u);
  EXPECT_EQ(p->routes[0].name, "first");
  EXPECT_EQ(p->routes[1].name, "second");
  EXPECT_EQ(p->routes[1].loc.file, "b.yaml");
  ASSERT_EQ(p->trunks.size(), 2u);
  EXPECT_EQ(p->trunks[0].name, "alpha");  // name order, not file order
  EXPECT_EQ(p->trunks[1].name, "zed");
}

TEST(PolicyLoader, HashIsStableAndFollowsContent) {
  const Files a = {{"p.yaml", kBaseRealms}};
  const Files b = {{"p.yaml", std::string(kBaseRealms) + "# a comment\n"}};
  const auto h1 = load_policy_texts(a)->hash;
  EXPECT_EQ(h1, load_policy_texts(a)->hash);
  EXPECT_NE(h1, load_policy_texts(b)->hash);
  EXPECT_EQ(h1.size(), 16u);
  EXPECT_EQ(h1.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(PolicyLoader, EmptyFilesAndSectionsContributeNothing) {
  const auto p = load_policy_texts({{"a.yaml", kBaseRealms},
                                    {"b.yaml", "# nothing yet\n"},
                                    {"c.yaml", "trunks:\n  # demo: {realm: carrier}\nroutes:\n"}});
  EXPECT_EQ(p->realms.size(), 2u);
  EXPECT_TRUE(p->trunks.empty());
  EXPECT_TRUE(p->routes.empty());
}

class PolicyDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("portico-policy-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "trunks");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::filesystem::path dir_;
};

TEST_F(PolicyDirectory, LoadsYamlFilesRecursively) {
  write("portico.yaml", kBaseRealms);
  write("trunks/demo.yaml", "trunks:\n  demo:\n    realm: carrier\n    host: 192.0.2.1\n");
  write("notes.txt", "not: [policy");    // not *.yaml: ignored
  write(".draft.yaml", "not: [policy");  // hidden: ignored
  const auto p = load_policy(dir_.string());
  EXPECT_EQ(p->realms.size(), 2u);
  ASSERT_EQ(p->trunks.size(), 1u);
  EXPECT_EQ(p->trunks[0].loc.file, (dir_ / "trunks/demo.yaml").string());
}

TEST_F(PolicyDirectory, HashDoesNotDependOnHowTheDirectoryIsNamed) {
  write("portico.yaml", kBaseRealms);
  const auto a = load_policy(dir_.string());
  const auto b = load_policy((dir_ / "." / "").string());
  EXPECT_EQ(a->hash, b->hash);
}

TEST_F(PolicyDirectory, LoadsASingleFile) {
  write("portico.yaml", kBaseRealms);
  EXPECT_EQ(load_policy((dir_ / "portico.yaml").string())->realms.size(), 2u);
}

TEST_F(PolicyDirectory, EmptyDirectoryIsAnError) {
  try {
    load_policy(dir_.string());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].to_string(), dir_.string() + ": no *.yaml policy files found");
  }
}

TEST_F(PolicyDirectory, MissingPathIsAnError) {
  const std::string missing = (dir_ / "nope").string();
  try {
    load_policy(missing);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].to_string(), missing + ": no such file or directory");
  }
}

// The example shipped in policies/ is what `make run` starts with: it must stay valid and say
// what its comments promise.
TEST(ShippedPolicy, LoadsAndRoutesBothWays) {
  const auto p = load_policy(PORTICO_SOURCE_DIR "/policies");
  EXPECT_EQ(p->server.shards, 2);
  ASSERT_NE(p->find_realm("access"), nullptr);
  ASSERT_NE(p->find_realm("carrier"), nullptr);
  EXPECT_EQ(p->find_realm("access")->listeners.size(), 2u);
  EXPECT_EQ(p->find_realm("carrier")->listeners.size(), 2u);
  const Trunk* demo = p->find_trunk("demo");
  ASSERT_NE(demo, nullptr);
  EXPECT_EQ(demo->host, "127.0.0.3");
  EXPECT_EQ(demo->max_calls, 100);
  const AccessPeer* lab = p->find_access_peer("lab");
  ASSERT_NE(lab, nullptr);
  EXPECT_EQ(lab->host, "127.0.0.1");
  EXPECT_EQ(lab->port, 5070);
  ASSERT_EQ(p->routes.size(), 2u);
  EXPECT_EQ(p->routes[0].targets[0].name, "demo");
  EXPECT_EQ(p->routes[1].targets[0].name, "lab");
}

}  // namespace
}  // namespace portico::policy
