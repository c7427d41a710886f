#include "portico/edge/source_guard.hpp"

#include <algorithm>
#include <chrono>

#include "portico/common/log.hpp"
#include "source_table.hpp"

namespace portico::edge {
namespace {

constexpr Millis kSweepEvery{1000};
const RateSpec kLogRate = RateSpec::per_second(20, 20);

}  // namespace

SourceGuard::SourceGuard(TimerService& timers, BanSink on_ban)
    : timers_(timers), on_ban_(std::move(on_ban)) {
  sweep_.bind(timers_);
}

SourceGuard::~SourceGuard() = default;

void SourceGuard::configure(const policy::RateLimits& limits) {
  limits_ = limits;
  request_rate_ = RateSpec::per_second(limits.requests_per_second, limits.burst);
  auth_rate_ = RateSpec::per_window(limits.auth_failures, limits.auth_window);
  if (limits_.enabled && !table_) {
    table_ = std::make_unique<SourceTable>(limits.max_sources);
  }
}

bool SourceGuard::allowed(const asio::ip::address& source) const {
  return std::any_of(limits_.allow.begin(), limits_.allow.end(),
                     [&](const policy::Cidr& c) { return c.contains(source); });
}

bool SourceGuard::admit(const asio::ip::address& source, TimePoint now) {
  if (!limits_.enabled || allowed(source)) {
    return true;
  }
  bool evicted = false;
  SourceEntry& e = table_->find_or_insert(SourceKey::of(source), now, evicted);
  stats_.evicted += evicted ? 1 : 0;
  stats_.sources = table_->used();
  e.last_seen = now;
  if (e.banned_until > now) {
    ++stats_.dropped_banned;
    return false;
  }
  if (e.requests.try_take(request_rate_, now)) {
    return true;
  }
  if (limits_.ban_time.count() > 0) {
    ++stats_.bans_requests;
    ++stats_.dropped_banned;
    ban(e, source, now, "requests_per_second");
  } else {
    ++stats_.dropped_rate;
  }
  return false;
}

void SourceGuard::auth_failed(const asio::ip::address& source, TimePoint now) {
  ++stats_.auth_failures;
  if (!limits_.enabled || allowed(source) || limits_.ban_time.count() == 0) {
    return;
  }
  bool evicted = false;
  SourceEntry& e = table_->find_or_insert(SourceKey::of(source), now, evicted);
  stats_.evicted += evicted ? 1 : 0;
  stats_.sources = table_->used();
  if (e.banned_until > now || e.auth_failures.try_take(auth_rate_, now)) {
    return;
  }
  ++stats_.bans_auth;
  ban(e, source, now, "auth_failures");
}

void SourceGuard::ban(SourceEntry& e, const asio::ip::address& source, TimePoint now,
                      std::string_view reason) {
  e.banned_until = now + limits_.ban_time;
  e.ban_origin = true;
  if (log_budget_.try_take(kLogRate, now)) {
    log::warn("edge.ban", {{"remote", source.to_string()},
                           {"reason", reason},
                           {"ban_ms", limits_.ban_time.count()},
                           {"suppressed", logs_suppressed_}});
    logs_suppressed_ = 0;
  } else {
    ++logs_suppressed_;
  }
  if (on_ban_) {
    on_ban_(source, e.banned_until);
  }
  if (!sweep_.armed()) {
    sweep_.start(kSweepEvery, [this] { sweep(); });
  }
}

void SourceGuard::apply_ban(const asio::ip::address& source, TimePoint until) {
  if (!table_) {
    return;  // limits off here (a reload in flight): nothing to hold
  }
  const TimePoint now = timers_.now();
  bool evicted = false;
  SourceEntry& e = table_->find_or_insert(SourceKey::of(source), now, evicted);
  stats_.evicted += evicted ? 1 : 0;
  stats_.sources = table_->used();
  e.banned_until = std::max(e.banned_until, until);
  ++stats_.bans_shared;
}

bool SourceGuard::banned(const asio::ip::address& source, TimePoint now) const {
  if (!table_) {
    return false;
  }
  const SourceEntry* e = table_->find(SourceKey::of(source));
  return e != nullptr && e->banned_until > now;
}

void SourceGuard::sweep() {
  sweep_.fired();
  const TimePoint now = timers_.now();
  bool pending = false;
  for (SourceEntry& e : table_->entries()) {
    if (!e.used || !e.ban_origin) {
      continue;
    }
    if (e.banned_until > now) {
      pending = true;
      continue;
    }
    e.ban_origin = false;
    if (log_budget_.try_take(kLogRate, now)) {
      log::info("edge.ban_expired", {{"remote", e.key.address().to_string()}});
    }
  }
  if (pending) {
    sweep_.start(kSweepEvery, [this] { sweep(); });
  }
}

}  // namespace portico::edge
