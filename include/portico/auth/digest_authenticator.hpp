#pragma once
// Digest authentication of requests by one shard (RFC 7616, RFC 3261 §22): checks the
// credentials of a REGISTER (401/WWW-Authenticate) or an out-of-dialog request from an access
// peer marked `auth: digest` (407/Proxy-Authenticate), and writes the challenges.
//
// Enumeration learns nothing: an unknown user and a wrong password get the same answer (a
// fresh challenge, stale=false) after the same work (the response is computed against a
// random HA1 for an unknown user). Every failed check is counted and reported once through
// `on_failure` with the source address, for per-source bans.
//
// Shard-local: each Shard owns one, used on its thread by its Registrar and B2BUA.

#include <asio/ip/address.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "portico/auth/digest.hpp"
#include "portico/auth/nonce_book.hpp"
#include "portico/common/timer_service.hpp"

namespace portico::auth {

/// Counters of one shard's digest checks (plain fields, summed at scrape time).
struct AuthStats {
  std::uint64_t challenges = 0;  // challenges sent (no, stale or failed credentials)
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;  // wrong password, unknown user, replayed nonce-count
  std::uint64_t replayed = 0;  // of which: nonce-count not above the last one
  std::uint64_t stale = 0;     // expired or unknown nonce: challenged again with stale=true
};

class DigestAuthenticator {
 public:
  enum class Outcome {
    Authenticated,
    Missing,  // no credentials for this realm (or unusable ones): challenge
    Stale,    // credentials on an expired or foreign nonce: challenge with stale=true
    Failed,   // wrong password, unknown user or replay: challenge, counted, on_failure
  };
  struct Result {
    Outcome outcome = Outcome::Missing;
    std::string username;  // Authenticated: who
  };
  /// The user's HA1 (lower-case hex) for `algorithm`, or nullptr (no such user or hash).
  using Ha1Lookup =
      std::function<const std::string*(std::string_view user, std::string_view realm, Algorithm)>;
  /// Called once per failed check, on the shard's thread; may be empty.
  using FailureHook = std::function<void(const asio::ip::address& source)>;
  /// Algorithms offered, in order of preference (RFC 7616 §3.7).
  using Algorithms = std::vector<Algorithm>;
  /// SHA-256 then MD5.
  static const Algorithms& default_algorithms();

  static constexpr Millis kNonceLifetime{std::chrono::minutes(5)};
  static constexpr std::size_t kTrackedNonces = 4096;

  explicit DigestAuthenticator(Millis nonce_lifetime = kNonceLifetime,
                               std::size_t tracked_nonces = kTrackedNonces);

  /// Checks the credentials among `values` (the request's Authorization or
  /// Proxy-Authorization values) whose realm is `realm`, for a request `method`.
  /// Credentials with an algorithm not in `offered` are Missing (challenged again).
  /// The digest-uri is covered by the response but need not equal the Request-URI: phones and
  /// test tools differ there (sipp hashes sip:host:port), and qop=auth with a nonce-count that
  /// must grow already stops a captured response from being used again.
  Result check(std::string_view method, std::string_view realm,
               const std::vector<std::string>& values, const Ha1Lookup& lookup,
               const asio::ip::address& source, TimePoint now,
               const Algorithms& offered = default_algorithms());
  /// Challenge header lines, one per algorithm of `offered` in that order (RFC 7616 §3.7: in
  /// order of preference), under `header` ("WWW-Authenticate" or "Proxy-Authenticate"), each
  /// ending in CRLF. All carry the same nonce.
  std::string challenge(std::string_view header, std::string_view realm, bool stale, TimePoint now,
                        const Algorithms& offered = default_algorithms());

  void set_failure_hook(FailureHook hook) { on_failure_ = std::move(hook); }
  const AuthStats& stats() const { return stats_; }

 private:
  Result fail(const asio::ip::address& source);

  NonceBook nonces_;        // shard-local
  std::string decoy_ha1_;   // RO: an unknown user's HA1, so its check costs the same
  FailureHook on_failure_;  // set at wiring, before the shard runs
  AuthStats stats_;         // shard-local
};

}  // namespace portico::auth
