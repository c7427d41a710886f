#include "portico/common/token_bucket.hpp"

#include <algorithm>

namespace portico {
namespace {

// How far ahead of tat a request may come: the burst beyond the first.
Nanos tolerance_of(const RateSpec& rate) {
  return rate.interval * (std::max<std::uint32_t>(rate.burst, 1) - 1);
}

}  // namespace

Nanos TokenBucket::wait(const RateSpec& rate, TimePoint now) const {
  if (rate.unlimited()) {
    return Nanos{0};
  }
  const TimePoint earliest = tat_ - tolerance_of(rate);
  return earliest > now ? std::chrono::duration_cast<Nanos>(earliest - now) : Nanos{0};
}

std::int64_t TokenBucket::reserve(const RateSpec& rate, TimePoint now, Nanos max_wait) {
  if (rate.unlimited()) {
    return 0;
  }
  const Nanos w = wait(rate, now);
  if (w > max_wait) {
    return -std::max<std::int64_t>(w.count(), 1);
  }
  // The token is taken at now + w; tat moves on from there, or from now when the bucket had
  // refilled completely (an idle bucket does not bank more than `burst`).
  tat_ = std::max(tat_, now + w) + rate.interval;
  return w.count();
}

std::uint32_t retry_after_seconds(Nanos wait) {
  const auto s = (wait.count() + 999'999'999) / 1'000'000'000;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(s, 1, 3600));
}

}  // namespace portico
