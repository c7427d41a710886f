#include "source_table.hpp"

#include <algorithm>
#include <cstring>

#include "portico/common/random.hpp"

namespace portico::edge {
namespace {

// splitmix64's finaliser: a cheap mix whose output bits all depend on every input bit.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

SourceKey SourceKey::of(const asio::ip::address& a) {
  SourceKey k;
  if (a.is_v4()) {
    const auto v4 = a.to_v4().to_bytes();
    k.bytes[10] = 0xff;
    k.bytes[11] = 0xff;
    std::copy(v4.begin(), v4.end(), k.bytes.begin() + 12);
  } else {
    const auto v6 = a.to_v6().to_bytes();
    std::copy(v6.begin(), v6.end(), k.bytes.begin());
  }
  return k;
}

asio::ip::address SourceKey::address() const {
  const asio::ip::address_v6 v6(bytes);
  if (v6.is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  }
  return v6;
}

SourceTable::SourceTable(std::size_t capacity)
    : entries_(std::max<std::size_t>((capacity + kWays - 1) / kWays, 1) * kWays),
      seed_(random_u64()) {}

std::size_t SourceTable::set_of(const SourceKey& key) const {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  std::memcpy(&hi, key.bytes.data(), 8);
  std::memcpy(&lo, key.bytes.data() + 8, 8);
  const std::uint64_t h = mix(mix(hi ^ seed_) ^ lo);
  return static_cast<std::size_t>(h % (entries_.size() / kWays)) * kWays;
}

SourceEntry* SourceTable::find(const SourceKey& key) {
  const std::size_t base = set_of(key);
  for (std::size_t i = base; i < base + kWays; ++i) {
    if (entries_[i].used && entries_[i].key == key) {
      return &entries_[i];
    }
  }
  return nullptr;
}

SourceEntry& SourceTable::find_or_insert(const SourceKey& key, TimePoint now, bool& evicted) {
  evicted = false;
  const std::size_t base = set_of(key);
  SourceEntry* victim = nullptr;
  for (std::size_t i = base; i < base + kWays; ++i) {
    SourceEntry& e = entries_[i];
    if (e.used && e.key == key) {
      return e;
    }
    if (!e.used) {
      if (victim == nullptr || victim->used) {
        victim = &e;
      }
      continue;
    }
    if (victim != nullptr && !victim->used) {
      continue;  // a free way wins over any eviction
    }
    // Keep bans while anything else can go; among equals, the one seen longest ago goes.
    const bool banned = e.banned_until > now;
    const bool victim_banned = victim != nullptr && victim->banned_until > now;
    if (victim == nullptr || (victim_banned && !banned) ||
        (victim_banned == banned && e.last_seen < victim->last_seen)) {
      victim = &e;
    }
  }
  if (victim->used) {
    evicted = true;
  } else {
    ++used_;
  }
  *victim = SourceEntry{};
  victim->key = key;
  victim->used = true;
  victim->last_seen = now;
  return *victim;
}

}  // namespace portico::edge
