// The `rate_limits` section and the session limits of trunks and access peers: defaults,
// values, and every diagnostic naming file:line:col and the field.

#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimitsSection, AbsentMeansNoLimits) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_FALSE(p->rate_limits.enabled);
}

TEST(RateLimitsSection, DefaultsAndValues) {
  auto p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) + "rate_limits: {}\n"}});
  ASSERT_TRUE(p->rate_limits.enabled);
  EXPECT_EQ(p->rate_limits.requests_per_second, 200u);
  EXPECT_EQ(p->rate_limits.burst, 400u);
  EXPECT_EQ(p->rate_limits.auth_failures, 10u);
  EXPECT_EQ(p->rate_limits.auth_window, seconds(60));
  EXPECT_EQ(p->rate_limits.ban_time, seconds(60));
  EXPECT_EQ(p->rate_limits.max_sources, 16384u);
  EXPECT_TRUE(p->rate_limits.allow.empty());

  p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) +
                                        "rate_limits:\n  requests_per_second: 50\n  burst: 80\n"
                                        "  auth_failures: 5\n  auth_window: 2m\n  ban_time: 0s\n"
                                        "  max_sources: 4096\n  allow: [127.0.0.0/8, \"::1\"]\n"}});
  EXPECT_EQ(p->rate_limits.requests_per_second, 50u);
  EXPECT_EQ(p->rate_limits.burst, 80u);
  EXPECT_EQ(p->rate_limits.auth_failures, 5u);
  EXPECT_EQ(p->rate_limits.auth_window, seconds(120));
  EXPECT_EQ(p->rate_limits.ban_time, seconds(0));
  EXPECT_EQ(p->rate_limits.max_sources, 4096u);
  ASSERT_EQ(p->rate_limits.allow.size(), 2u);
  EXPECT_TRUE(p->rate_limits.allow[0].contains(asio::ip::make_address("127.0.5.1")));
}

TEST(RateLimitsSection, ValuesAreChecked) {
  const auto diags =
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "rate_limits:\n"               // line 6
                                                            "  requests_per_second: -1\n"  // 7
                                                            "  burst: 0\n"                 // 8
                                                            "  auth_window: 0s\n"          // 9
                                                            "  ban_time: 200h\n"           // 10
                                                            "  max_sources: 10\n"          // 11
                                                            "  allow: [10.0.0.1/8]\n"      // 12
                                                            "  ban_tme: 1s\n"}});          // 13
  ASSERT_EQ(diags.size(), 7u) << ::testing::PrintToString(diags);
  EXPECT_NE(diags[0].find("p.yaml:7:24: rate_limits.requests_per_second: -1 is not a request rate"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:8:10: rate_limits.burst: 0 is not a burst"), std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("p.yaml:9:16: rate_limits.auth_window: must be from 1s to 24h"),
            std::string::npos)
      << diags[2];
  EXPECT_NE(diags[3].find("p.yaml:10:13: rate_limits.ban_time: must be at most 168h"),
            std::string::npos)
      << diags[3];
  EXPECT_NE(diags[4].find("p.yaml:11:16: rate_limits.max_sources: 10 is out of range"),
            std::string::npos)
      << diags[4];
  EXPECT_NE(diags[5].find("p.yaml:12:"), std::string::npos) << diags[5];
  EXPECT_NE(diags[6].find("p.yaml:13:3: rate_limits.ban_tme"), std::string::npos) << diags[6];
}

TEST(RateLimitsSection, OneFileOnly) {
  const auto diags = diagnostics_of({{"a.yaml", std::string(kBaseRealms) + "rate_limits: {}\n"},
                                     {"b.yaml", "rate_limits: {burst: 10}\n"}});
  ASSERT_EQ(diags.size(), 1u) << ::testing::PrintToString(diags);
  EXPECT_NE(diags[0].find("b.yaml:1:1: rate_limits: section given again (first at a.yaml:6:1)"),
            std::string::npos)
      << diags[0];
}

TEST(SessionLimits, DefaultsAndValuesOnTrunksAndAccessPeers) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) +
                      "trunks:\n  plain: {realm: carrier, host: 192.0.2.1}\n"
                      "  paced: {realm: carrier, host: 192.0.2.2, max_calls: 100,\n"
                      "          max_calls_in: 40, max_calls_out: 60, cps_in: 10, cps_out: 5,\n"
                      "          cps_burst: 2, pacing_wait: 1500ms, pacing_queue: 20}\n"
                      "access_peers:\n  pbx: {realm: access, sources: [10.0.0.0/8], cps_in: 3,\n"
                      "        max_calls_in: 7}\n"}});
  const SessionLimits* plain = p->session_limits("plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->max_calls_in, 0);
  EXPECT_EQ(plain->max_calls_out, 0);
  EXPECT_EQ(plain->cps_in, 0u);
  EXPECT_EQ(plain->cps_out, 0u);
  EXPECT_EQ(plain->cps_burst, 1u);
  EXPECT_EQ(plain->pacing_wait, milliseconds(2000));
  EXPECT_EQ(plain->pacing_queue, 50);
  EXPECT_TRUE(plain->out_rate().unlimited());

  const SessionLimits* paced = p->session_limits("paced");
  ASSERT_NE(paced, nullptr);
  EXPECT_EQ(p->find_trunk("paced")->max_calls, 100);
  EXPECT_EQ(paced->max_calls_in, 40);
  EXPECT_EQ(paced->max_calls_out, 60);
  EXPECT_EQ(paced->cps_in, 10u);
  EXPECT_EQ(paced->cps_out, 5u);
  EXPECT_EQ(paced->cps_burst, 2u);
  EXPECT_EQ(paced->pacing_wait, milliseconds(1500));
  EXPECT_EQ(paced->pacing_queue, 20);
  EXPECT_EQ(paced->out_rate().interval, milliseconds(200));
  EXPECT_EQ(paced->out_rate().burst, 2u);

  const SessionLimits* pbx = p->session_limits("pbx");
  ASSERT_NE(pbx, nullptr);
  EXPECT_EQ(pbx->cps_in, 3u);
  EXPECT_EQ(pbx->max_calls_in, 7);
  EXPECT_EQ(p->session_limits("nobody"), nullptr);
}

TEST(SessionLimits, ValuesAreChecked) {
  const auto diags =
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "trunks:\n"               // line 6
                                                            "  t:\n"                  // 7
                                                            "    realm: carrier\n"    // 8
                                                            "    host: 192.0.2.1\n"   // 9
                                                            "    max_calls_in: -2\n"  // 10
                                                            "    cps_out: 1000001\n"  // 11
                                                            "    cps_burst: 0\n"      // 12
                                                            "    pacing_wait: 31s\n"  // 13
                                                            "    pacing_queue: -1\n"  // 14
                                                            "    cps_outt: 5\n"}});   // 15
  ASSERT_EQ(diags.size(), 6u) << ::testing::PrintToString(diags);
  EXPECT_NE(diags[0].find("p.yaml:10:19: trunks.t.max_calls_in: -2 is not a call limit"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:11:14: trunks.t.cps_out: 1000001 is not a call rate"),
            std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("p.yaml:12:16: trunks.t.cps_burst: 0 is not a burst"), std::string::npos)
      << diags[2];
  EXPECT_NE(diags[3].find("p.yaml:13:18: trunks.t.pacing_wait: must be at most 30s"),
            std::string::npos)
      << diags[3];
  EXPECT_NE(diags[4].find("p.yaml:14:19: trunks.t.pacing_queue: -1 is not a queue length"),
            std::string::npos)
      << diags[4];
  EXPECT_NE(diags[5].find("p.yaml:15:5: trunks.t.cps_outt"), std::string::npos) << diags[5];
}

}  // namespace
}  // namespace portico::policy::test
