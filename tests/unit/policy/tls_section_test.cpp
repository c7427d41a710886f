// `realms.<name>.tls` and `trunks.<name>.tls`: defaults, every knob read, file checks (missing
// file, not PEM, key of another certificate) and bad values named by file:line field, and the
// trunk identified by its TLS peer names. Certificates are made with the openssl CLI.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "policy_test_util.hpp"
#include "portico/policy/matcher.hpp"

namespace portico::policy::test {
namespace {

namespace fs = std::filesystem;

// A CA-free pair of self-signed certificates (a, b) with their keys, made once per run.
class TlsSection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("portico-tls-policy-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"a", "b"}) {
      const std::string cmd =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
          "-subj /CN=" +
          std::string(name) + ".example -keyout " + (dir_ / name).string() + ".key -out " +
          (dir_ / name).string() + ".crt 2>/dev/null";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    std::ofstream(dir_ / "junk.pem") << "not a certificate\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string path(const char* name) { return (dir_ / name).string(); }

  // Base realms plus a tls listener on carrier and the given carrier tls block lines.
  static std::string realm_with(const std::string& tls_block) {
    return "realms:\n"
           "  access:\n"
           "    listeners: [udp://127.0.0.1:5060]\n"
           "  carrier:\n"
           "    listeners: [udp://127.0.0.2:5060, tls://127.0.0.2:5061]\n"
           "    tls:\n" +
           tls_block;
  }
  std::string identity() const {
    return "      certificate: " + path("a.crt") + "\n      private_key: " + path("a.key") + "\n";
  }

  static inline fs::path dir_;
};

TEST_F(TlsSection, RealmDefaults) {
  auto p = load_policy_texts({{"p.yaml", realm_with(identity())}});
  const Realm* r = p->find_realm("carrier");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->tls.enabled);
  EXPECT_EQ(r->tls.certificate, path("a.crt"));
  EXPECT_EQ(r->tls.private_key, path("a.key"));
  EXPECT_EQ(r->tls.ca_file, "");
  EXPECT_EQ(r->tls.verify_client, RealmTls::VerifyClient::None);
  EXPECT_EQ(r->tls.common.min_version, 12);
  EXPECT_EQ(r->tls.common.ciphers, kDefaultTlsCiphers);
  EXPECT_EQ(r->tls.common.handshake_timeout, std::chrono::seconds(5));
  EXPECT_FALSE(p->find_realm("access")->tls.enabled);
}

TEST_F(TlsSection, EveryKnobIsRead) {
  const std::string text =
      realm_with(identity() + "      ca_file: " + path("b.crt") +
                 "\n      verify_client: required\n      min_version: 1.3\n"
                 "      ciphers: ECDHE-RSA-AES128-GCM-SHA256\n      handshake_timeout: 2s\n") +
      "trunks:\n"
      "  carrier1:\n"
      "    realm: carrier\n    host: 192.0.2.10\n    port: 5061\n    transport: tls\n"
      "    tls:\n"
      "      server_name: sip.carrier.example\n"
      "      ca_file: " +
      path("b.crt") +
      "\n"
      "      verify: false\n"
      "      certificate: " +
      path("b.crt") +
      "\n"
      "      private_key: " +
      path("b.key") +
      "\n"
      "      alpn: [sip/2]\n"
      "      peer_names: [carrier.example, edge.carrier.example]\n"
      "      min_version: 1.3\n"
      "      handshake_timeout: 500ms\n";
  auto p = load_policy_texts({{"p.yaml", text}});
  const RealmTls& r = p->find_realm("carrier")->tls;
  EXPECT_EQ(r.ca_file, path("b.crt"));
  EXPECT_EQ(r.verify_client, RealmTls::VerifyClient::Required);
  EXPECT_EQ(r.common.min_version, 13);
  EXPECT_EQ(r.common.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(r.common.handshake_timeout, std::chrono::seconds(2));
  const Trunk* t = p->find_trunk("carrier1");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->transport, Protocol::Tls);
  EXPECT_TRUE(t->tls.given);
  EXPECT_EQ(t->tls.server_name, "sip.carrier.example");
  EXPECT_EQ(t->tls.ca_file, path("b.crt"));
  EXPECT_FALSE(t->tls.verify);
  EXPECT_EQ(t->tls.certificate, path("b.crt"));
  EXPECT_EQ(t->tls.private_key, path("b.key"));
  EXPECT_EQ(t->tls.alpn, std::vector<std::string>{"sip/2"});
  EXPECT_EQ(t->tls.peer_names,
            (std::vector<std::string>{"carrier.example", "edge.carrier.example"}));
  EXPECT_EQ(t->tls.common.min_version, 13);
  EXPECT_EQ(t->tls.common.handshake_timeout, std::chrono::milliseconds(500));
}

TEST_F(TlsSection, TrunkDefaultsVerifyWithoutABlock) {
  auto p = load_policy_texts(
      {{"p.yaml", realm_with(identity()) + "trunks:\n  c: {realm: carrier, host: 192.0.2.10, "
                                           "port: 5061, transport: tls}\n"}});
  const Trunk* t = p->find_trunk("c");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->tls.given);
  EXPECT_TRUE(t->tls.verify);
  EXPECT_EQ(t->tls.server_name, "");
  EXPECT_TRUE(t->tls.peer_names.empty());
}

TEST_F(TlsSection, FileProblemsAreNamedWithFileLineAndField) {
  // Line 7: certificate, line 8: private_key (the key of another certificate).
  auto diags = diagnostics_of(
      {{"p.yaml", realm_with("      certificate: " + path("a.crt") + "\n      private_key: " +
                             path("b.key") + "\n      ca_file: " + path("junk.pem") + "\n")}});
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_NE(diags[0].find("p.yaml:8:20: realms.carrier.tls.private_key: \"" + path("b.key") +
                          "\" is not the key of the certificate \"" + path("a.crt") + "\""),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:9:16: realms.carrier.tls.ca_file: \"" + path("junk.pem") +
                          "\" holds no PEM certificate"),
            std::string::npos)
      << diags[1];
  diags = diagnostics_of({{"p.yaml", realm_with("      certificate: " + path("missing.crt") +
                                                "\n      private_key: " + path("a.key") + "\n")}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("p.yaml:7:20: realms.carrier.tls.certificate: cannot read \"" +
                          path("missing.crt") + "\""),
            std::string::npos)
      << diags[0];
}

TEST_F(TlsSection, BadValuesAreNamedWithFileLineAndField) {
  auto diags = diagnostics_of(
      {{"p.yaml",
        realm_with(identity() + "      verify_client: maybe\n      min_version: 1.1\n"
                                "      ciphers: NOPE-NOTHING\n      handshake_timeout: 10ms\n")}});
  ASSERT_EQ(diags.size(), 4u);
  EXPECT_NE(diags[0].find("p.yaml:9:22: realms.carrier.tls.verify_client: \"maybe\" is not a "
                          "client verification (none, optional or required)"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:10:20: realms.carrier.tls.min_version: \"1.1\" is not a TLS "
                          "version (expected 1.2 or 1.3)"),
            std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("p.yaml:11:16: realms.carrier.tls.ciphers: \"NOPE-NOTHING\" selects "
                          "no cipher OpenSSL knows"),
            std::string::npos)
      << diags[2];
  EXPECT_NE(diags[3].find("p.yaml:12:26: realms.carrier.tls.handshake_timeout: is out of range "
                          "(100ms..60s)"),
            std::string::npos)
      << diags[3];
}

TEST_F(TlsSection, CrossChecksNameTheField) {
  // A tls listener without a tls block; a tls block on a udp trunk; a certificate alone.
  const std::string text =
      "realms:\n"
      "  carrier:\n"
      "    listeners: [udp://127.0.0.2:5060, tls://127.0.0.2:5061]\n"
      "trunks:\n"
      "  c:\n"
      "    realm: carrier\n    host: 192.0.2.10\n"
      "    tls: {server_name: sip.carrier.example, certificate: " +
      path("a.crt") + "}\n";
  auto diags = diagnostics_of({{"p.yaml", text}});
  ASSERT_EQ(diags.size(), 3u);
  EXPECT_NE(diags[0].find("p.yaml:3:39: realms.carrier.listeners[1]: a tls listener needs "
                          "realms.carrier.tls with its certificate and private_key"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:8:5: trunks.c.tls: applies only to a trunk with transport: tls"),
            std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("trunks.c.tls.certificate: needs private_key beside it in trunks.c.tls"),
            std::string::npos)
      << diags[2];
}

TEST_F(TlsSection, TrunkWithPeerNamesIsIdentifiedByItsCertificate) {
  const std::string text = realm_with(identity()) +
                           "trunks:\n"
                           "  c:\n"
                           "    realm: carrier\n    host: 192.0.2.10\n    port: 5061\n"
                           "    transport: tls\n"
                           "    tls: {peer_names: [carrier.example]}\n";
  auto p = load_policy_texts({{"p.yaml", text}});
  const auto addr = asio::ip::make_address("192.0.2.10");
  const std::vector<std::string> right = {"other.example", "Carrier.Example"};
  const std::vector<std::string> wrong = {"other.example"};
  EXPECT_EQ(identify_source(*p, "carrier", addr, &right), "c");
  EXPECT_EQ(identify_source(*p, "carrier", addr, &wrong), "");
  EXPECT_EQ(identify_source(*p, "carrier", addr), "") << "no TLS, no certificate: not the trunk";
}

}  // namespace
}  // namespace portico::policy::test
