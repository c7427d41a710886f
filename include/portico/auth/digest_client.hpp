#pragma once
// The client side of HTTP digest for SIP (RFC 7616, RFC 2617, RFC 3261 §22.2-22.3): reading a
// WWW-Authenticate or Proxy-Authenticate challenge and answering it with an Authorization or
// Proxy-Authorization value, for Portico registering to a carrier or placing a call through a
// trunk that challenges it. Pure functions; any thread.
//
//   HA1      = H(username ":" realm ":" password)
//              -sess: H(H(username ":" realm ":" password) ":" nonce ":" cnonce)
//   HA2      = H(method ":" digest-uri)                     (qop=auth or none)
//   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" "auth" ":" HA2)   (qop=auth)
//              H(HA1 ":" nonce ":" HA2)                                  (no qop, RFC 2069)
//
// The answer carries the password only through the hash; callers never log it (nor the
// response, which is a dictionary-attack target).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "portico/auth/digest.hpp"

namespace portico::auth {

/// One Digest challenge (RFC 7616 §3.3).
struct Challenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  Algorithm algorithm = Algorithm::Md5;  // absent = MD5
  bool session = false;                  // MD5-sess / SHA-256-sess
  bool qop_auth = false;                 // qop offered and includes "auth" (else RFC 2069)
  bool stale = false;                    // the previous nonce expired, the credentials were good
};

/// nullopt when `value` is not a Digest challenge Portico can answer: another scheme, no
/// nonce or realm, an unknown algorithm, a qop list without "auth" (auth-int only), or a
/// quoted string left open.
std::optional<Challenge> parse_challenge(std::string_view value);

/// The challenge to answer among a response's challenge values: SHA-256 before MD5 (RFC 7616
/// §3.7: the client uses the strongest it supports), the first of equals. nullopt if none.
std::optional<Challenge> best_challenge(std::span<const std::string> values);

/// What answering takes besides the challenge.
struct ClientRequest {
  std::string_view username;
  std::string_view password;
  std::string_view method;  // "REGISTER", "INVITE"...
  std::string_view uri;     // the digest-uri: the Request-URI as sent
  std::uint32_t nc = 1;     // nonce count: 1 for a fresh nonce, +1 per reuse
  std::string_view cnonce;  // from new_cnonce()
};

/// The Authorization / Proxy-Authorization value ("Digest username=..., response=...").
std::string authorization(const Challenge& c, const ClientRequest& r);

/// A client nonce: 16 bytes from the kernel CSPRNG as 32 hex digits.
std::string new_cnonce();

}  // namespace portico::auth
