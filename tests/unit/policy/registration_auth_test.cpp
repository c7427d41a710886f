// The registration section's domains, binding caps and digest users file, and `auth` on access
// peers: defaults, values, and diagnostics naming file:line.

#include <gtest/gtest.h>

#include <fstream>

#include "policy_test_util.hpp"
#include "portico/policy/matcher.hpp"
#include "portico/policy/registration_domains.hpp"

namespace portico::policy::test {
namespace {

// kBaseRealms is 5 lines; the peers below are lines 6-8.
const std::string kPeers = std::string(kBaseRealms) +
                           "access_peers:\n  pbx: {realm: access, sources: [10.1.0.0/16]}\n"
                           "  roaming: {realm: access, sources: [0.0.0.0/0], auth: digest}\n";

const std::string kMd5 = std::string(32, 'a');
const std::string kSha = std::string(64, 'b');

std::string users_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(RegistrationAuth, Defaults) {
  const auto p =
      load_policy_texts({{"p.yaml", std::string(kBaseRealms) + "registration: {realm: access}\n"}});
  EXPECT_TRUE(p->registration.domains.empty());
  EXPECT_EQ(p->registration.max_bindings, 10000u);
  EXPECT_EQ(p->registration.max_bindings_per_source, 20u);
  EXPECT_TRUE(p->registration.users_file.empty());
  EXPECT_EQ(p->registration.digest_algorithms, (std::vector<std::string>{"SHA-256", "MD5"}));
  // Portico's own domain: any IP literal, known by the realm's name; host names are not.
  EXPECT_EQ(served_domain(p->registration, "127.0.0.1"), "access");
  EXPECT_EQ(served_domain(p->registration, "[::1]"), "access");
  EXPECT_FALSE(served_domain(p->registration, "corp.example"));
  EXPECT_EQ(call_domain(p->registration, "corp.example"), "access");
}

TEST(RegistrationAuth, DomainsUsersAndPeerAuth) {
  const std::string users =
      users_file("users_ok", "# comment\n\nalice@corp.example corp.example md5:" + kMd5 +
                                 " sha256:" + kSha + "\nBob sha256:" + kSha +
                                 "   # trailing comment\n"
                                 "carol@Other.Example md5:" +
                                 kMd5 + "\n");
  const auto p =
      load_policy_texts({{"p.yaml", kPeers +
                                        "registration:\n  realm: access\n"
                                        "  domains: [Corp.Example, other.example]\n"
                                        "  max_bindings: 500\n  max_bindings_per_source: 5\n"
                                        "  users_file: " +
                                        users + "\n"}});
  const auto& reg = p->registration;
  EXPECT_EQ(reg.domains, (std::vector<std::string>{"corp.example", "other.example"}));
  EXPECT_EQ(reg.max_bindings, 500u);
  EXPECT_EQ(reg.max_bindings_per_source, 5u);
  ASSERT_EQ(reg.users.size(), 3u);
  EXPECT_EQ(reg.users.at("alice@corp.example").ha1_md5, kMd5);
  EXPECT_EQ(reg.users.at("alice@corp.example").ha1_sha256, kSha);
  EXPECT_EQ(reg.users.at("Bob@corp.example").realm, "corp.example");  // the default domain
  EXPECT_TRUE(reg.users.at("Bob@corp.example").ha1_md5.empty());
  EXPECT_EQ(reg.users.at("carol@other.example").ha1_md5, kMd5);
  EXPECT_EQ(served_domain(reg, "CORP.example"), "corp.example");
  EXPECT_FALSE(served_domain(reg, "127.0.0.1"));
  EXPECT_EQ(call_domain(reg, "127.0.0.1"), "corp.example");
  EXPECT_EQ(call_domain(reg, "other.example"), "other.example");

  EXPECT_EQ(p->find_access_peer("roaming")->auth, AccessPeer::Auth::Digest);
  EXPECT_EQ(p->find_access_peer("pbx")->auth, AccessPeer::Auth::None);
  // A PBX inside the digest peer's 0.0.0.0/0 is still the PBX (trusted by address).
  EXPECT_EQ(identify_source(*p, "access", asio::ip::make_address("10.1.2.3")), "pbx");
  EXPECT_EQ(identify_source(*p, "access", asio::ip::make_address("198.51.100.7")), "roaming");
}

TEST(RegistrationAuth, UsersFileErrorsNameFileAndLine) {
  const std::string users =
      users_file("users_bad", "alice@corp.example md5:" + kMd5 +
                                  "\n"  // 1: fine
                                  "alice@corp.example md5:" +
                                  kMd5 +
                                  "\n"                                 // 2: twice
                                  "bob@corp.example plain-password\n"  // 3: not a hash
                                  "carol@corp.example md5:1234\n"      // 4: short
                                  "dave@evil.example md5:" +
                                  kMd5 +
                                  "\n"  // 5: domain not served
                                  "erin@corp.example wrong.realm md5:" +
                                  kMd5 +
                                  "\n"                      // 6
                                  "frank@corp.example\n");  // 7: no hash
  const auto diags = diagnostics_of({{"p.yaml", std::string(kBaseRealms) +
                                                    "registration:\n  realm: access\n"
                                                    "  domains: [corp.example]\n"
                                                    "  users_file: " +
                                                    users + "\n"}});
  ASSERT_EQ(diags.size(), 6u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0], users +
                          ":2:1: registration.users_file: user \"alice@corp.example\" is "
                          "listed twice");
  EXPECT_EQ(diags[1], users +
                          ":3:1: registration.users_file: realm \"plain-password\" is not the "
                          "digest realm of domain \"corp.example\" (which is "
                          "\"corp.example\")");
  EXPECT_EQ(diags[2], users + ":4:1: registration.users_file: md5 HA1 must be 32 hex digits");
  EXPECT_EQ(diags[3], users +
                          ":5:1: registration.users_file: domain \"evil.example\" is not in "
                          "registration.domains");
  EXPECT_EQ(diags[4].rfind(users + ":6:1: registration.users_file: realm \"wrong.realm\"", 0), 0u)
      << diags[4];
  EXPECT_EQ(diags[5], users +
                          ":7:1: registration.users_file: no HA1 hash (md5:<hex> and/or "
                          "sha256:<hex>)");
}

TEST(RegistrationAuth, ValuesAreChecked) {
  const auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) +
                      "access_peers:\n"                                                  // 6
                      "  other: {realm: access, sources: [10.2.0.0/16], auth: basic}\n"  // 7
                      "registration:\n"                                                  // 8
                      "  realm: access\n"                                                // 9
                      "  domains: [a.example, A.example, \"x y\"]\n"                     // 10
                      "  max_bindings: 0\n"                                              // 11
                      "  max_bindings_per_source: -1\n"                                  // 12
                      "  users_file: /nonexistent/users\n"}});                           // 13
  ASSERT_EQ(diags.size(), 6u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0],
            "p.yaml:7:56: access_peers.other.auth: \"basic\" is not an "
            "authentication (none or digest)");
  EXPECT_EQ(diags[1],
            "p.yaml:10:24: registration.domains[1]: domain \"a.example\" is listed "
            "twice");
  EXPECT_EQ(diags[2],
            "p.yaml:10:35: registration.domains[2]: is not a domain (a host name or IP "
            "literal, as in sip:user@<domain>)");
  EXPECT_EQ(diags[3],
            "p.yaml:11:17: registration.max_bindings: 0 is not a number of bindings "
            "(1..10000000)");
  EXPECT_EQ(diags[4],
            "p.yaml:12:28: registration.max_bindings_per_source: -1 is not a number of "
            "bindings (1..10000000)");
  EXPECT_EQ(diags[5],
            "p.yaml:13:15: registration.users_file: cannot open users file "
            "\"/nonexistent/users\"");
}

TEST(RegistrationAuth, DigestPeerNeedsAUsersFile) {
  const auto diags = diagnostics_of({{"p.yaml", kPeers + "registration: {realm: access}\n"}});
  ASSERT_EQ(diags.size(), 1u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0],
            "p.yaml:8:56: access_peers.roaming.auth: digest needs "
            "registration.users_file (the users it authenticates)");
}

TEST(RegistrationAuth, DigestAlgorithmsInOrder) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) + "registration: {realm: access, "
                                             "digest_algorithms: [md5, SHA-256]}\n"}});
  EXPECT_EQ(p->registration.digest_algorithms, (std::vector<std::string>{"MD5", "SHA-256"}));
  const auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) + "registration:\n  realm: access\n"  // 6-7
                                             "  digest_algorithms: [MD5, SHA-512, MD5]\n"}});  // 8
  ASSERT_EQ(diags.size(), 2u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0],
            "p.yaml:8:28: registration.digest_algorithms[1]: \"SHA-512\" is not a "
            "digest algorithm (SHA-256 or MD5)");
  EXPECT_EQ(diags[1], "p.yaml:8:37: registration.digest_algorithms[2]: \"MD5\" is listed twice");
}

TEST(RegistrationAuth, UsersFileIsForPorticoAsTheRegistrar) {
  const std::string users = users_file("users_one", "alice md5:" + kMd5 + "\n");
  const auto diags =
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) +
                                     "trunks:\n  demo: {realm: carrier, host: 192.0.2.1}\n"  // 6-7
                                     "registration:\n  realm: access\n  registrar: demo\n"   // 8-10
                                     "  users_file: " +
                                     users + "\n"}});
  ASSERT_EQ(diags.size(), 1u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0].rfind("p.yaml:10:14: registration.users_file: is for Portico as the "
                           "registrar",
                           0),
            0u)
      << diags[0];
}

}  // namespace
}  // namespace portico::policy::test
