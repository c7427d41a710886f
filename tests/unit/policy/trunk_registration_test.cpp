// `trunks.<name>.register` and `trunks.<name>.auth`: defaults, values, and diagnostics naming
// file:line field, for the password sources above all (never in the policy itself).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

std::string secret_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// kBaseRealms is 5 lines; "trunks:" is line 6, "  carrier:" line 7, the block from line 8.
std::string with_trunk(const std::string& block) {
  return std::string(kBaseRealms) + "trunks:\n  carrier:\n    realm: carrier\n" +
         "    host: 192.0.2.10\n    port: 5080\n" + block;
}

TEST(TrunkRegistration, DefaultsFromTheTrunk) {
  const std::string pw = secret_file("pw_ok", "s3cret\n");
  const auto p = load_policy_texts({{"p.yaml", with_trunk("    register:\n      username: portico\n"
                                                          "      password_file: " +
                                                          pw + "\n")}});
  const auto& t = p->trunks.at(0);
  ASSERT_TRUE(t.registration.has_value());
  const auto& r = *t.registration;
  EXPECT_EQ(r.registrar_host, "192.0.2.10");
  EXPECT_EQ(r.registrar_port, 5080);
  EXPECT_EQ(r.aor, "sip:portico@192.0.2.10");
  EXPECT_EQ(r.credentials.username, "portico");
  EXPECT_EQ(r.credentials.password, "s3cret");  // first line, without its line end
  EXPECT_TRUE(r.credentials.realm.empty());
  EXPECT_EQ(r.expires, Millis{3'600'000});
  EXPECT_EQ(r.retry_min, Millis{5'000});
  EXPECT_EQ(r.retry_max, Millis{300'000});
  EXPECT_FALSE(t.auth.has_value());
  // Registering changes nothing of where the trunk's requests may come from: its host only.
  ASSERT_EQ(t.sources.size(), 1u);
  EXPECT_EQ(t.sources[0].network.to_string(), "192.0.2.10");
  EXPECT_EQ(t.sources[0].prefix, 32);
}

TEST(TrunkRegistration, EveryFieldAndAuthFromTheEnvironment) {
  ::setenv("PORTICO_TEST_TRUNK_PW", "from-env", 1);
  const auto p = load_policy_texts(
      {{"p.yaml", with_trunk("    register:\n      registrar: 192.0.2.20:5070\n"
                             "      aor: sip:12125550100@carrier.example\n"
                             "      username: acct1\n      password_env: PORTICO_TEST_TRUNK_PW\n"
                             "      realm: carrier.example\n      expires: 10m\n"
                             "      retry_min: 2s\n      retry_max: 60s\n"
                             "    auth:\n      username: calls\n"
                             "      password_env: PORTICO_TEST_TRUNK_PW\n")}});
  const auto& t = p->trunks.at(0);
  const auto& r = *t.registration;
  EXPECT_EQ(r.registrar_host, "192.0.2.20");
  EXPECT_EQ(r.registrar_port, 5070);
  EXPECT_EQ(r.aor, "sip:12125550100@carrier.example");
  EXPECT_EQ(r.credentials.password, "from-env");
  EXPECT_EQ(r.credentials.realm, "carrier.example");
  EXPECT_EQ(r.credentials.origin, "password_env PORTICO_TEST_TRUNK_PW");
  EXPECT_EQ(r.expires, Millis{600'000});
  EXPECT_EQ(r.retry_min, Millis{2'000});
  EXPECT_EQ(r.retry_max, Millis{60'000});
  ASSERT_TRUE(t.auth.has_value());
  EXPECT_EQ(t.auth->username, "calls");
  EXPECT_EQ(t.auth->password, "from-env");
}

TEST(TrunkRegistration, PasswordProblemsNameFileLineAndField) {
  ::unsetenv("PORTICO_TEST_UNSET_PW");
  const std::string empty = secret_file("pw_empty", "\n");
  EXPECT_EQ(diagnostics_of({{"p.yaml", with_trunk("    register:\n      username: u\n"
                                                  "      password_file: /nonexistent/pw\n")}}),
            (std::vector<std::string>{
                "p.yaml:13:22: trunks.carrier.register.password_file: cannot read password "
                "file \"/nonexistent/pw\""}));
  EXPECT_EQ(diagnostics_of({{"p.yaml", with_trunk("    register:\n      username: u\n"
                                                  "      password_file: " +
                                                  empty + "\n")}}),
            (std::vector<std::string>{"p.yaml:13:22: trunks.carrier.register.password_file: "
                                      "password file \"" +
                                      empty + "\" is empty"}));
  EXPECT_EQ(
      diagnostics_of({{"p.yaml", with_trunk("    auth:\n      username: u\n"
                                            "      password_env: PORTICO_TEST_UNSET_PW\n")}}),
      (std::vector<std::string>{"p.yaml:13:21: trunks.carrier.auth.password_env: "
                                "environment variable \"PORTICO_TEST_UNSET_PW\" is not set"}));
  EXPECT_EQ(diagnostics_of({{"p.yaml", with_trunk("    auth:\n      username: u\n"
                                                  "      password: hunter2\n")}}),
            (std::vector<std::string>{"p.yaml:13:17: trunks.carrier.auth.password: a password is "
                                      "never written in the policy: use password_file or "
                                      "password_env"}));
  EXPECT_EQ(diagnostics_of({{"p.yaml", with_trunk("    auth:\n      username: u\n")}}),
            (std::vector<std::string>{
                "p.yaml:12:7: trunks.carrier.auth: needs password_file or password_env"}));
}

TEST(TrunkRegistration, RangesAndForms) {
  const std::string pw = secret_file("pw_ok2", "x\n");
  const std::string creds = "      username: u\n      password_file: " + pw + "\n";
  const auto diags = diagnostics_of(
      {{"p.yaml", with_trunk("    register:\n" + creds +
                             "      expires: 5s\n      registrar: carrier.example\n"
                             "      aor: portico@carrier\n"
                             "      retry_min: 1m\n      retry_max: 10s\n      expirse: 1h\n")}});
  ASSERT_EQ(diags.size(), 5u);
  EXPECT_EQ(diags[0],
            "p.yaml:14:16: trunks.carrier.register.expires: must be between 10s and 86400s");
  EXPECT_EQ(diags[1],
            "p.yaml:15:18: trunks.carrier.register.registrar: \"carrier.example\" is not "
            "an IP address with an optional port (e.g. 192.0.2.10:5060)");
  EXPECT_EQ(diags[2],
            "p.yaml:16:12: trunks.carrier.register.aor: \"portico@carrier\" is not a SIP "
            "URI (e.g. sip:portico@carrier.example)");
  EXPECT_EQ(diags[3],
            "p.yaml:18:18: trunks.carrier.register.retry_max: retry_max is below retry_min");
  EXPECT_NE(diags[4].find("p.yaml:19:7: trunks.carrier.register.expirse: unknown key"),
            std::string::npos);
}

}  // namespace
}  // namespace portico::policy::test
