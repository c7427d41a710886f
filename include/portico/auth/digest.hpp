#pragma once
// HTTP digest authentication for SIP (RFC 7616, with RFC 3261 §22.4 and RFC 2617): the
// credentials a client sends, and the hashes both sides compute. Pure functions; any thread.
//
//   HA1      = H(username ":" realm ":" password)          (the users file keeps only this)
//   HA2      = H(method ":" digest-uri)                     (qop=auth)
//   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
//
// H is MD5 or SHA-256 (RFC 7616 §3.2: algorithm=MD5 | SHA-256; the -sess variants and
// qop=auth-int are not offered).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::auth {

enum class Algorithm { Md5, Sha256 };
const char* to_string(Algorithm a);  // "MD5", "SHA-256" (the token on the wire)
/// The algorithm a token names (case-insensitive), or nullopt.
std::optional<Algorithm> algorithm_named(std::string_view token);

/// Lower-case hex of H(text).
std::string hash_hex(Algorithm a, std::string_view text);
/// HMAC-SHA-256 of `data` under `key`, 32 bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// The fields of an Authorization or Proxy-Authorization value ("Digest username=..., ...").
struct Credentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;
  std::string response;                  // lower-case hex
  Algorithm algorithm = Algorithm::Md5;  // absent = MD5 (RFC 7616 §3.4)
  std::string qop;                       // "auth", or empty
  std::string nc;                        // 8 hex digits as sent (part of the hash)
  std::uint32_t nc_value = 0;
  std::string cnonce;
  std::string opaque;
};
/// nullopt when the value is not a Digest credential Portico can check: another scheme, a
/// missing field, an unknown algorithm, a malformed nc, or a quoted string left open.
std::optional<Credentials> parse_credentials(std::string_view value);

/// H(user:realm:password): how a users file line is made (and test vectors).
std::string ha1(Algorithm a, std::string_view user, std::string_view realm,
                std::string_view password);
/// The expected `response` for credentials `c` of a request `method` (qop=auth, or none as in
/// RFC 2069 when c.qop is empty), given the user's HA1.
std::string expected_response(const Credentials& c, std::string_view ha1_hex,
                              std::string_view method);

}  // namespace portico::auth
