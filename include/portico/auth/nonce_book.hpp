#pragma once
// The nonces one shard hands out in digest challenges, and the nonce-counts it has seen
// (RFC 7616 §3.3 and §5.4-5.5: a nonce expires, and a request with a nonce-count not above the
// last one seen for its nonce is a replay).
//
// A nonce needs no state to be checked: it is hex(issued-at, random, HMAC-SHA-256 of both under
// a key drawn from the CSPRNG when the book is built), so anyone may ask for challenges without
// Portico holding anything. State is kept only for a nonce once it authenticated a request (its
// highest nonce-count), at most `capacity` of them: when full, the entry of the oldest nonce is
// dropped and every nonce issued up to then becomes stale, so a replay never succeeds because
// its nonce was forgotten. A nonce checks only on the shard (book) that issued it.
//
// Shard-local: one book per shard, used on its thread only.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "portico/common/timer_service.hpp"

namespace portico::auth {

class NonceBook {
 public:
  enum class Use {
    Fresh,     // valid, nonce-count above any seen: recorded
    Stale,     // well formed and ours once, but expired or forgotten: challenge again, stale=true
    Unknown,   // not a nonce of this book (forged, or another shard's)
    Replayed,  // nonce-count not above the last one accepted
  };

  NonceBook(Millis lifetime, std::size_t capacity);

  std::string issue(TimePoint now);
  /// Whether `nonce` may be used with `nc` now, without recording anything.
  Use check(std::string_view nonce, std::uint32_t nc, TimePoint now) const;
  /// Records `nc` as the last nonce-count of `nonce` (after check() said Fresh and the response
  /// verified).
  void accept(std::string_view nonce, std::uint32_t nc, TimePoint now);

  std::size_t tracked() const { return counts_.size(); }

 private:
  struct Seen {
    std::uint32_t nc = 0;
    std::int64_t issued = 0;
  };
  /// Issue time (ms on the shard clock) of a nonce this book made, or nullopt.
  std::optional<std::int64_t> issued_at(std::string_view nonce) const;
  void make_room(std::int64_t now_ms);

  Millis lifetime_;
  std::size_t capacity_;
  std::string key_;                                    // RO: HMAC key from the CSPRNG
  std::unordered_map<std::string, Seen> counts_;       // shard-local
  std::multimap<std::int64_t, std::string> by_issue_;  // shard-local: issue time -> nonce
  std::int64_t forgotten_up_to_ = -1;                  // nonces issued at or before: stale
};

}  // namespace portico::auth
