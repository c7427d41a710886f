// The `limits` section and the Timer C / max_ringing timers: defaults, values, and diagnostics
// naming file:line:col and the field.

#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(LimitsSection, Defaults) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_EQ(p->limits.max_server_transactions, 50000u);
  EXPECT_EQ(p->limits.max_server_transactions_per_source, 10000u);
  EXPECT_EQ(p->limits.max_pending_invites, 10000u);
  EXPECT_EQ(p->limits.max_pending_invites_per_source, 2000u);
  EXPECT_EQ(p->limits.max_calls, 20000u);
  EXPECT_EQ(p->limits.max_calls_per_source, 5000u);
  EXPECT_EQ(p->limits.max_media_streams, 8u);
  EXPECT_EQ(p->limits.retry_after, 5);
  EXPECT_EQ(p->timers.timer_c, seconds(180));
  EXPECT_EQ(p->timers.max_ringing, minutes(5));
}

TEST(LimitsSection, Values) {
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) +
                      "limits:\n  max_server_transactions: 0\n"
                      "  max_server_transactions_per_source: 100\n  max_pending_invites: 7\n"
                      "  max_pending_invites_per_source: 3\n  max_calls: 50\n"
                      "  max_calls_per_source: 9\n  max_media_streams: 2\n  retry_after: 1m\n"
                      "timers: {timer_c: 4m, max_ringing: 10m}\n"}});
  EXPECT_EQ(p->limits.max_server_transactions, 0u);
  EXPECT_EQ(p->limits.max_server_transactions_per_source, 100u);
  EXPECT_EQ(p->limits.max_pending_invites, 7u);
  EXPECT_EQ(p->limits.max_pending_invites_per_source, 3u);
  EXPECT_EQ(p->limits.max_calls, 50u);
  EXPECT_EQ(p->limits.max_calls_per_source, 9u);
  EXPECT_EQ(p->limits.max_media_streams, 2u);
  EXPECT_EQ(p->limits.retry_after, 60);
  EXPECT_EQ(p->timers.timer_c, minutes(4));
  EXPECT_EQ(p->timers.max_ringing, minutes(10));
}

TEST(LimitsSection, BadValuesAreNamed) {
  // kBaseRealms is 5 lines: limits starts on line 6.
  auto diags =
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "limits:\n"                      // 6
                                                            "  max_calls: -1\n"              // 7
                                                            "  max_media_streams: 0\n"       // 8
                                                            "  retry_after: 100ms\n"         // 9
                                                            "  max_server_transaction: 5\n"  // 10
                                                            "timers: {timer_c: 0s}\n"}});    // 11
  ASSERT_EQ(diags.size(), 5u) << ::testing::PrintToString(diags);
  EXPECT_EQ(diags[0].rfind("p.yaml:7:14: limits.max_calls: -1 is out of range", 0), 0u) << diags[0];
  EXPECT_EQ(diags[1].rfind("p.yaml:8:22: limits.max_media_streams: 0 is out of range", 0), 0u)
      << diags[1];
  EXPECT_EQ(diags[2].rfind("p.yaml:9:16: limits.retry_after: must be between 1s and 1h", 0), 0u)
      << diags[2];
  EXPECT_NE(diags[3].find("limits.max_server_transaction: unknown key (did you mean "
                          "\"max_server_transactions\"?)"),
            std::string::npos)
      << diags[3];
  EXPECT_NE(diags[4].find("timers.timer_c: must be longer than 0ms"), std::string::npos)
      << diags[4];
}

TEST(LimitsSection, OnlyOneFileMayHaveIt) {
  auto diags = diagnostics_of({{"a.yaml", std::string(kBaseRealms) + "limits: {max_calls: 1}\n"},
                               {"b.yaml", "limits: {max_calls: 2}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("section given again"), std::string::npos) << diags[0];
}

}  // namespace
}  // namespace portico::policy::test
