#pragma once
// SDES (RFC 4568): the a=crypto attribute that carries an SRTP master key in SDP, and the
// secure RTP profiles (RTP/SAVP, RTP/SAVPF) that announce it.
//
//   a=crypto:<tag> <crypto-suite> inline:<base64(key||salt)>[|<lifetime>][|<MKI>:<length>] [params]
//
// Parsing never throws: a malformed line is an Error whose reason is a stable token
// ("crypto_malformed", "crypto_unsupported_lifetime", "crypto_unsupported_mki"); a suite Portico
// does not implement parses (suite == nullopt), since an offer may list several and the answerer
// picks one (RFC 4568 §7.1.1). Pure functions: any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portico/common/result.hpp"
#include "portico/common/sdes_redact.hpp"  // redact_crypto_keys, for whoever logs SDP
#include "portico/common/srtp_suite.hpp"
#include "portico/sdp/session.hpp"

namespace portico::sdp {

/// Shortest key lifetime Portico accepts, in packets. Portico does not re-key inside a call, so
/// a key that must be replaced after fewer packets (RFC 4568 §6.1) is refused; 2^31 packets is
/// about 16 months of 20 ms audio.
inline constexpr std::uint64_t kMinSrtpLifetime = std::uint64_t{1} << 31;
/// Longest MKI Portico accepts, in bytes (RFC 4568 allows 1-128; carriers use 1-4).
inline constexpr std::uint32_t kMaxMkiLength = 4;

/// One parsed a=crypto value (only its first key parameter: Portico uses one master key).
struct CryptoAttribute {
  std::uint32_t tag = 0;                  // 1-999999999 (RFC 4568 §9.1)
  std::string suite_name;                 // as written
  std::optional<SrtpSuite> suite;         // nullopt: a suite Portico does not implement
  std::vector<std::uint8_t> key_salt;     // decoded master key || salt, suite length
  std::optional<std::uint64_t> lifetime;  // packets; nullopt = the suite's maximum
  std::uint32_t mki_value = 0;            // with mki_length > 0
  std::uint32_t mki_length = 0;           // bytes; 0 = no MKI
  std::string session_params;             // after the key parameters, kept verbatim
};

/// Parses the value of an a=crypto line (what follows "a=crypto:").
Result<CryptoAttribute> parse_crypto(std::string_view value);
/// Every a=crypto of `m`, parsed, in order; the first malformed one is the error.
Result<std::vector<CryptoAttribute>> crypto_attributes(const Media& m);
/// Renders the value of an a=crypto line for `tag`, `suite` and `key_salt` (no lifetime, no MKI).
std::string format_crypto(std::uint32_t tag, SrtpSuite suite,
                          const std::vector<std::uint8_t>& key_salt);

/// RTP/SAVP or RTP/SAVPF (RFC 3711 §12, RFC 5124), case-insensitive.
bool is_savp(std::string_view proto);
/// RTP/AVP(F) for a secure profile and the reverse; other protos unchanged.
std::string plain_profile(std::string_view proto);
std::string secure_profile(std::string_view proto);

/// Base64 (RFC 4648 §4) for SDES keys; decoding accepts missing padding and fails on any
/// character outside the alphabet.
std::string base64_encode(const std::vector<std::uint8_t>& bytes);
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace portico::sdp
