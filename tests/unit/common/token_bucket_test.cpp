#include "portico/common/token_bucket.hpp"

#include <gtest/gtest.h>

namespace portico {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, BurstThenSustainedRate) {
  TokenBucket b;
  const RateSpec rate = RateSpec::per_second(10, 3);
  TimePoint t{};
  EXPECT_TRUE(b.try_take(rate, t));
  EXPECT_TRUE(b.try_take(rate, t));
  EXPECT_TRUE(b.try_take(rate, t));
  EXPECT_FALSE(b.try_take(rate, t)) << "a burst of 3, no more";
  EXPECT_FALSE(b.try_take(rate, t + milliseconds(99)));
  EXPECT_TRUE(b.try_take(rate, t + milliseconds(100))) << "one token per 100 ms";
  EXPECT_FALSE(b.try_take(rate, t + milliseconds(150)));
}

TEST(TokenBucketTest, IdleBucketBanksNoMoreThanItsBurst) {
  TokenBucket b;
  const RateSpec rate = RateSpec::per_second(10, 2);
  const TimePoint t = TimePoint{} + std::chrono::hours(1);
  EXPECT_TRUE(b.try_take(rate, t));
  EXPECT_TRUE(b.try_take(rate, t));
  EXPECT_FALSE(b.try_take(rate, t));
}

TEST(TokenBucketTest, ReserveQueuesTurnsOneIntervalApartUpToTheWait) {
  TokenBucket b;
  const RateSpec rate = RateSpec::per_second(5, 1);  // one every 200 ms
  const TimePoint t{};
  const Nanos max_wait = milliseconds(500);
  EXPECT_EQ(b.reserve(rate, t, max_wait), 0);
  EXPECT_EQ(b.reserve(rate, t, max_wait), Nanos(milliseconds(200)).count());
  EXPECT_EQ(b.reserve(rate, t, max_wait), Nanos(milliseconds(400)).count());
  // The next turn would be at 600 ms: beyond the wait, refused, nothing reserved.
  EXPECT_EQ(b.reserve(rate, t, max_wait), -Nanos(milliseconds(600)).count());
  EXPECT_EQ(b.wait(rate, t), milliseconds(600));
  EXPECT_EQ(b.reserve(rate, t + milliseconds(100), max_wait), Nanos(milliseconds(500)).count());
}

TEST(TokenBucketTest, UnlimitedAndPerWindowRates) {
  TokenBucket b;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(b.try_take(RateSpec{}, TimePoint{}));
  }
  TokenBucket auth;
  const RateSpec three_a_minute = RateSpec::per_window(3, std::chrono::seconds(60));
  const TimePoint t{};
  EXPECT_TRUE(auth.try_take(three_a_minute, t));
  EXPECT_TRUE(auth.try_take(three_a_minute, t));
  EXPECT_TRUE(auth.try_take(three_a_minute, t));
  EXPECT_FALSE(auth.try_take(three_a_minute, t + std::chrono::seconds(19)));
  EXPECT_TRUE(auth.try_take(three_a_minute, t + std::chrono::seconds(20)));
}

TEST(TokenBucketTest, RetryAfterRoundsUpToWholeSeconds) {
  EXPECT_EQ(retry_after_seconds(Nanos{1}), 1u);
  EXPECT_EQ(retry_after_seconds(milliseconds(1000)), 1u);
  EXPECT_EQ(retry_after_seconds(milliseconds(1001)), 2u);
  EXPECT_EQ(retry_after_seconds(Nanos{0}), 1u);
}

}  // namespace
}  // namespace portico
