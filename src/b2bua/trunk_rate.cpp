// TrunkUsage's call-rate buckets (trunk_usage.hpp): the CPS limits of trunks and access peers,
// shared by every shard under TrunkUsage's mutex, taken once per call set-up.

#include <chrono>

#include "portico/b2bua/trunk_usage.hpp"

namespace portico::b2bua {

TrunkUsage::RateVerdict TrunkUsage::reserve_rate(const std::string& key, const RateSpec& rate,
                                                 TimePoint now, Nanos max_wait) {
  if (rate.unlimited()) {
    return {};
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::int64_t w = rates_[key].reserve(rate, now, max_wait);
  return w >= 0 ? RateVerdict{true, Nanos{w}} : RateVerdict{false, Nanos{-w}};
}

bool TrunkUsage::log_refusal(const std::string& key, TimePoint now) {
  constexpr auto kQuiet = std::chrono::seconds(10);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = refusals_logged_.try_emplace(key, now);
  if (!fresh && now - it->second < kQuiet) {
    return false;
  }
  it->second = now;
  return true;
}

}  // namespace portico::b2bua
