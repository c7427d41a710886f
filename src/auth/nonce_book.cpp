#include "portico/auth/nonce_book.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <span>

#include "portico/auth/digest.hpp"
#include "portico/common/random.hpp"

namespace portico::auth {
namespace {

constexpr std::size_t kStampBytes = 8;   // issue time, ms
constexpr std::size_t kRandomBytes = 8;  // so two nonces of one millisecond differ
constexpr std::size_t kMacBytes = 16;    // truncated HMAC-SHA-256
constexpr std::size_t kNonceHex = 2 * (kStampBytes + kRandomBytes + kMacBytes);

std::int64_t ms(TimePoint t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    unsigned v = 0;
    const char* first = text.data() + 2 * i;
    const auto r = std::from_chars(first, first + 2, v, 16);
    if (r.ec != std::errc{} || r.ptr != first + 2) {
      return std::nullopt;
    }
    out[i] = static_cast<char>(v);
  }
  return out;
}

}  // namespace

NonceBook::NonceBook(Millis lifetime, std::size_t capacity)
    : lifetime_(lifetime), capacity_(capacity == 0 ? 1 : capacity) {
  std::array<std::byte, 32> key{};
  random_bytes(key);
  key_.assign(reinterpret_cast<const char*>(key.data()), key.size());
}

std::string NonceBook::issue(TimePoint now) {
  std::string body(kStampBytes + kRandomBytes, '\0');
  const std::int64_t stamp = ms(now);
  std::memcpy(body.data(), &stamp, kStampBytes);
  random_bytes(std::as_writable_bytes(std::span(body.data() + kStampBytes, kRandomBytes)));
  return hex(body) + hex(hmac_sha256(key_, body).substr(0, kMacBytes));
}

std::optional<std::int64_t> NonceBook::issued_at(std::string_view nonce) const {
  if (nonce.size() != kNonceHex) {
    return std::nullopt;
  }
  const auto raw = unhex(nonce);
  if (!raw) {
    return std::nullopt;
  }
  const std::string_view body = std::string_view(*raw).substr(0, kStampBytes + kRandomBytes);
  const std::string mac = hmac_sha256(key_, body).substr(0, kMacBytes);
  // A constant-time comparison: the MAC must not be guessable byte by byte from timing.
  unsigned char diff = mac.size() == kMacBytes ? 0 : 1;
  for (std::size_t i = 0; i < kMacBytes && i < mac.size(); ++i) {
    diff |= static_cast<unsigned char>(mac[i] ^ (*raw)[kStampBytes + kRandomBytes + i]);
  }
  if (diff != 0) {
    return std::nullopt;
  }
  std::int64_t stamp = 0;
  std::memcpy(&stamp, raw->data(), kStampBytes);
  return stamp;
}

NonceBook::Use NonceBook::check(std::string_view nonce, std::uint32_t nc, TimePoint now) const {
  const auto issued = issued_at(nonce);
  if (!issued) {
    return Use::Unknown;
  }
  const std::int64_t now_ms = ms(now);
  if (*issued > now_ms || now_ms - *issued > lifetime_.count()) {
    return Use::Stale;
  }
  const auto it = counts_.find(std::string(nonce));
  if (it == counts_.end()) {
    // Never seen: fine unless entries of its age may have been dropped to make room.
    return *issued <= forgotten_up_to_ ? Use::Stale : Use::Fresh;
  }
  return nc > it->second.nc ? Use::Fresh : Use::Replayed;
}

void NonceBook::accept(std::string_view nonce, std::uint32_t nc, TimePoint now) {
  const auto issued = issued_at(nonce);
  if (!issued) {
    return;
  }
  const std::string key(nonce);
  if (auto it = counts_.find(key); it != counts_.end()) {
    it->second.nc = nc;
    return;
  }
  make_room(ms(now));
  counts_.emplace(key, Seen{nc, *issued});
  by_issue_.emplace(*issued, key);
}

void NonceBook::make_room(std::int64_t now_ms) {
  // Expired nonces are useless anyway; drop them first (oldest first).
  while (!by_issue_.empty() && now_ms - by_issue_.begin()->first > lifetime_.count()) {
    counts_.erase(by_issue_.begin()->second);
    by_issue_.erase(by_issue_.begin());
  }
  while (counts_.size() >= capacity_ && !by_issue_.empty()) {
    forgotten_up_to_ = std::max(forgotten_up_to_, by_issue_.begin()->first);
    counts_.erase(by_issue_.begin()->second);
    by_issue_.erase(by_issue_.begin());
  }
}

}  // namespace portico::auth
