#pragma once
// A token bucket kept as one time stamp (GCRA, the generic cell rate algorithm of ITU-T I.371):
// `tat` is when the bucket would be full again. A request conforms when it comes no earlier than
// tat - (burst - 1) / rate; taking it moves tat on by 1 / rate. Eight bytes per bucket, no
// allocation, no floating point on the hot path, and the rate may change between calls (a
// policy reload) without resetting the bucket.
//
// Not thread-safe: the owner serialises (a shard's own table, or TrunkUsage's mutex).

#include <chrono>
#include <cstdint>

#include "portico/common/timer_service.hpp"

namespace portico {

using Nanos = std::chrono::nanoseconds;

/// A sustained rate (one token every `interval`) and how many may come back to back.
struct RateSpec {
  Nanos interval{0};        // 0 = unlimited
  std::uint32_t burst = 1;  // at least 1
  bool unlimited() const { return interval.count() <= 0; }

  /// `n` per second (0 = unlimited), `burst` back to back.
  static RateSpec per_second(std::uint32_t n, std::uint32_t burst) {
    return n == 0 ? RateSpec{} : RateSpec{Nanos{1'000'000'000LL / n}, burst};
  }
  /// At most `count` within any `window` (0 = unlimited): all of them may come at once.
  static RateSpec per_window(std::uint32_t count, Nanos window) {
    return count == 0 ? RateSpec{} : RateSpec{window / count, count};
  }
};

class TokenBucket {
 public:
  /// Takes a token now if one is there.
  bool try_take(const RateSpec& rate, TimePoint now) { return reserve(rate, now, Nanos{0}) == 0; }

  /// Reserves the next token if it comes within `max_wait`: returns how long until it is there
  /// (0 = now), the token being taken at that time. Beyond `max_wait`, reserves nothing and
  /// returns -(the wait), so the caller can say when to try again (Retry-After).
  std::int64_t reserve(const RateSpec& rate, TimePoint now, Nanos max_wait);

  /// How long until a token is there (0 = now). Takes nothing.
  Nanos wait(const RateSpec& rate, TimePoint now) const;

 private:
  TimePoint tat_{};  // theoretical arrival time of the next conforming request
};

/// Whole seconds, rounded up, at least 1: the value of a Retry-After header for a wait.
std::uint32_t retry_after_seconds(Nanos wait);

}  // namespace portico
