#pragma once
// The first check of every SIP message a shard receives, before it is parsed: per source
// address token buckets for requests and for failed authentications, temporary bans, and an
// allow list that bypasses both (policy `rate_limits`, docs/policies.md#rate_limits).
//
// Cheap and allocation-free per message: the allow list is a short scan of CIDRs, the state is
// one entry of a fixed table (source_table.hpp: 8-way sets, oldest evicted and counted), and a
// banned source costs one look-up and one counter. Nothing is logged per message: one
// `edge.ban` line when a ban starts (on the shard that decided it), one `edge.ban_expired`
// when it ends, both further limited to 20 per second against a flood of spoofed sources.
//
// Threads: one SourceGuard per shard, used on that shard's thread only. Request buckets are
// per shard (a UDP source's datagrams land on one shard by SO_REUSEPORT's 4-tuple hash; a
// source spreading over N source ports may get up to N times the rate before a ban). Bans are
// shared: the shard that bans calls `on_ban`, which the runtime posts to every other shard's
// apply_ban() (docs/style.md, "Threading": owned data by post, no shared table, no lock).

#include <asio/ip/address.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "portico/common/timer_service.hpp"
#include "portico/common/token_bucket.hpp"
#include "portico/policy/model.hpp"

namespace portico::edge {

class SourceTable;
struct SourceEntry;

/// Shard-local counters (summed over the shards by the metrics scrape).
struct SourceGuardStats {
  std::uint64_t dropped_banned = 0;  // messages from a banned source, dropped unparsed
  std::uint64_t dropped_rate = 0;    // over the request rate with bans off (ban_time 0)
  std::uint64_t bans_requests = 0;   // bans started here: request rate exceeded
  std::uint64_t bans_auth = 0;       // bans started here: too many failed authentications
  std::uint64_t bans_shared = 0;     // bans another shard started, applied here
  std::uint64_t auth_failures = 0;   // failed credential checks reported
  std::uint64_t evicted = 0;         // tracked sources pushed out of a full table set
  std::uint64_t sources = 0;         // gauge: sources tracked now
};

class SourceGuard {
 public:
  /// Called on this shard's thread when this shard bans `source` until `until`.
  using BanSink = std::function<void(const asio::ip::address& source, TimePoint until)>;

  /// `timers` (the shard's) outlives this object. Call configure() before traffic.
  explicit SourceGuard(TimerService& timers, BanSink on_ban = {});
  ~SourceGuard();
  SourceGuard(const SourceGuard&) = delete;
  SourceGuard& operator=(const SourceGuard&) = delete;

  /// The policy's `rate_limits` (start-up and reload). The table is sized by `max_sources` the
  /// first time the limits are enabled, and kept (with its state) across reloads.
  void configure(const policy::RateLimits& limits);
  bool enabled() const { return limits_.enabled; }
  /// Where this shard's bans go (the runtime posts them to the other shards). Before traffic.
  void set_ban_sink(BanSink on_ban) { on_ban_ = std::move(on_ban); }

  /// Whether a message from `source` may be parsed. False: drop it unanswered (counted).
  bool admit(const asio::ip::address& source, TimePoint now);
  bool admit(const asio::ip::address& source) { return admit(source, timers_.now()); }

  /// One failed credential check from `source` (digest authentication's hook): past
  /// `auth_failures` per `auth_window`, the source is banned.
  void auth_failed(const asio::ip::address& source, TimePoint now);
  void auth_failed(const asio::ip::address& source) { auth_failed(source, timers_.now()); }

  /// A ban another shard started (no log, no re-post).
  void apply_ban(const asio::ip::address& source, TimePoint until);

  /// Whether `source` is banned at `now` (tests, diagnostics).
  bool banned(const asio::ip::address& source, TimePoint now) const;
  const SourceGuardStats& stats() const { return stats_; }

 private:
  bool allowed(const asio::ip::address& source) const;
  void ban(SourceEntry& e, const asio::ip::address& source, TimePoint now, std::string_view reason);
  /// Logs the end of the bans this shard started; re-armed while any remain.
  void sweep();

  TimerService& timers_;
  BanSink on_ban_;
  policy::RateLimits limits_;
  RateSpec request_rate_;
  RateSpec auth_rate_;
  std::unique_ptr<SourceTable> table_;  // null until the limits are first enabled
  Timer sweep_;
  TokenBucket log_budget_;  // edge.ban / edge.ban_expired lines: 20 per second at most
  std::uint64_t logs_suppressed_ = 0;
  SourceGuardStats stats_;
};

}  // namespace portico::edge
