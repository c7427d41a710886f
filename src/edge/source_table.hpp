#pragma once
// Private to edge. The per-source state of one shard in a table of fixed size, allocated once:
// 8-way set-associative (a source hashes, with a per-process random key, to one set of 8
// entries), so a look-up touches one cache-line-sized neighbourhood and never allocates. When a
// set is full the entry seen longest ago is evicted, a banned one only when all 8 are banned,
// and the eviction is counted: spoofed sources can churn the table but never grow it.
//
// Shard-local (the owning SourceGuard's thread).

#include <asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/common/token_bucket.hpp"

namespace portico::edge {

/// A source address as 16 bytes; IPv4 as its IPv4-mapped IPv6 form, so that a dual-stack
/// socket's ::ffff:a.b.c.d and a.b.c.d are the same source.
struct SourceKey {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const SourceKey&) const = default;
  static SourceKey of(const asio::ip::address& a);
  asio::ip::address address() const;
};

struct SourceEntry {
  SourceKey key;
  bool used = false;
  bool ban_origin = false;  // this shard started the ban: it logs the expiry
  TimePoint last_seen{};
  TimePoint banned_until{};  // later than now: banned
  TokenBucket requests;
  TokenBucket auth_failures;
};

class SourceTable {
 public:
  static constexpr std::size_t kWays = 8;

  /// `capacity` is rounded up to a multiple of kWays (at least one set).
  explicit SourceTable(std::size_t capacity);

  /// The entry of `key`, or nullptr.
  SourceEntry* find(const SourceKey& key);
  /// The entry of `key`, created if needed (in a free way, else over the set's oldest);
  /// `evicted` is set when a live entry made room.
  SourceEntry& find_or_insert(const SourceKey& key, TimePoint now, bool& evicted);

  std::size_t capacity() const { return entries_.size(); }
  std::size_t used() const { return used_; }
  std::vector<SourceEntry>& entries() { return entries_; }

 private:
  std::size_t set_of(const SourceKey& key) const;

  std::vector<SourceEntry> entries_;  // sets of kWays, contiguous
  std::uint64_t seed_;                // random: an attacker cannot aim at one set
  std::size_t used_ = 0;
};

}  // namespace portico::edge
