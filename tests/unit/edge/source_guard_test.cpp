#include "portico/edge/source_guard.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "portico/policy/model.hpp"

namespace portico::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

asio::ip::address ip(const char* s) { return asio::ip::make_address(s); }

policy::RateLimits limits(std::uint32_t rps, std::uint32_t burst) {
  policy::RateLimits l;
  l.enabled = true;
  l.requests_per_second = rps;
  l.burst = burst;
  l.auth_failures = 3;
  l.auth_window = seconds(60);
  l.ban_time = seconds(10);
  l.max_sources = 1024;
  return l;
}

struct Ban {
  asio::ip::address source;
  TimePoint until;
};

class SourceGuardTest : public ::testing::Test {
 protected:
  ManualTimerService timers_;
  std::vector<Ban> posted_;
  SourceGuard guard_{timers_, [this](const asio::ip::address& a, TimePoint until) {
                       posted_.push_back({a, until});
                     }};
};

TEST_F(SourceGuardTest, DisabledAdmitsEverything) {
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(guard_.admit(ip("192.0.2.1"), timers_.now()));
  }
  EXPECT_EQ(guard_.stats().sources, 0u);
}

TEST_F(SourceGuardTest, SourceOverItsRateIsBannedForBanTimeThenAdmittedAgain) {
  guard_.configure(limits(10, 5));
  const auto bad = ip("192.0.2.1");
  const auto good = ip("192.0.2.2");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(guard_.admit(bad, timers_.now())) << i;
  }
  EXPECT_FALSE(guard_.admit(bad, timers_.now())) << "the 6th back to back is over the burst";
  ASSERT_EQ(posted_.size(), 1u) << "the ban is handed to the other shards once";
  EXPECT_EQ(posted_[0].source, bad);
  EXPECT_EQ(posted_[0].until, timers_.now() + seconds(10));
  EXPECT_EQ(guard_.stats().bans_requests, 1u);
  EXPECT_TRUE(guard_.admit(good, timers_.now())) << "another source is not affected";
  timers_.advance(seconds(5));
  EXPECT_FALSE(guard_.admit(bad, timers_.now())) << "still banned, even at a slow rate";
  EXPECT_EQ(posted_.size(), 1u) << "a banned source's packets post nothing more";
  timers_.advance(seconds(5));
  EXPECT_FALSE(guard_.banned(bad, timers_.now()));
  EXPECT_TRUE(guard_.admit(bad, timers_.now())) << "the ban expired";
  EXPECT_EQ(guard_.stats().dropped_banned, 2u);
}

TEST_F(SourceGuardTest, WithoutBanTimeOnlyTheExcessIsDropped) {
  auto l = limits(10, 2);
  l.ban_time = Millis{0};
  guard_.configure(l);
  const auto src = ip("192.0.2.1");
  EXPECT_TRUE(guard_.admit(src, timers_.now()));
  EXPECT_TRUE(guard_.admit(src, timers_.now()));
  EXPECT_FALSE(guard_.admit(src, timers_.now()));
  timers_.advance(milliseconds(100));
  EXPECT_TRUE(guard_.admit(src, timers_.now()));
  EXPECT_EQ(guard_.stats().dropped_rate, 1u);
  EXPECT_TRUE(posted_.empty());
}

TEST_F(SourceGuardTest, AllowListBypassesRateAndBans) {
  auto l = limits(1, 1);
  l.allow = {*policy::parse_cidr("127.0.0.0/8"), *policy::parse_cidr("2001:db8::/32")};
  guard_.configure(l);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(guard_.admit(ip("127.0.0.9"), timers_.now()));
    ASSERT_TRUE(guard_.admit(ip("2001:db8::5"), timers_.now()));
    guard_.auth_failed(ip("127.0.0.9"), timers_.now());
  }
  EXPECT_TRUE(posted_.empty());
  EXPECT_EQ(guard_.stats().sources, 0u) << "allowed sources take no table entry";
  EXPECT_TRUE(guard_.admit(ip("192.0.2.1"), timers_.now()));
  EXPECT_FALSE(guard_.admit(ip("192.0.2.1"), timers_.now()));
}

TEST_F(SourceGuardTest, FailedAuthenticationsPastTheLimitBan) {
  guard_.configure(limits(1000, 1000));
  const auto src = ip("192.0.2.7");
  for (int i = 0; i < 3; ++i) {
    guard_.auth_failed(src, timers_.now());
    ASSERT_FALSE(guard_.banned(src, timers_.now())) << i;
  }
  guard_.auth_failed(src, timers_.now());
  EXPECT_TRUE(guard_.banned(src, timers_.now()));
  EXPECT_FALSE(guard_.admit(src, timers_.now()));
  EXPECT_EQ(guard_.stats().bans_auth, 1u);
  EXPECT_EQ(guard_.stats().auth_failures, 4u);
  ASSERT_EQ(posted_.size(), 1u);
  // Failures spread out under the window's rate (3 a minute) never ban.
  const auto slow = ip("192.0.2.8");
  for (int i = 0; i < 10; ++i) {
    guard_.auth_failed(slow, timers_.now());
    timers_.advance(seconds(20));
  }
  EXPECT_FALSE(guard_.banned(slow, timers_.now()));
}

TEST_F(SourceGuardTest, BanFromAnotherShardHoldsHereWithoutRepost) {
  guard_.configure(limits(1000, 1000));
  const auto src = ip("::ffff:192.0.2.9");
  guard_.apply_ban(ip("192.0.2.9"), timers_.now() + seconds(30));
  EXPECT_FALSE(guard_.admit(src, timers_.now())) << "v4 and v4-mapped v6 are one source";
  EXPECT_TRUE(posted_.empty());
  EXPECT_EQ(guard_.stats().bans_shared, 1u);
  timers_.advance(seconds(30));
  EXPECT_TRUE(guard_.admit(src, timers_.now()));
}

TEST_F(SourceGuardTest, TableIsBoundedAndEvictsTheOldestFirstKeepingBans) {
  auto l = limits(1, 1);
  l.max_sources = 1024;
  guard_.configure(l);
  const auto banned = ip("198.51.100.1");
  ASSERT_TRUE(guard_.admit(banned, timers_.now()));
  ASSERT_FALSE(guard_.admit(banned, timers_.now()));
  // A flood of spoofed sources, many times the table.
  for (std::uint32_t i = 0; i < 50000; ++i) {
    guard_.admit(asio::ip::address_v4(0x0A000000u + i), timers_.now());
  }
  EXPECT_LE(guard_.stats().sources, 1024u);
  EXPECT_GT(guard_.stats().evicted, 40000u);
  EXPECT_TRUE(guard_.banned(banned, timers_.now())) << "a ban outlives the churn of its set";
}

}  // namespace
}  // namespace portico::edge
