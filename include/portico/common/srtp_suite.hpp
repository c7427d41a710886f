#pragma once
// The SRTP crypto suites Portico speaks (RFC 4568 §6.2, RFC 6188, RFC 7714), named as SDES
// a=crypto lines name them. Shared by the SDP model (parsing and writing a=crypto), the policy
// (`srtp_suites`) and the media relay (libsrtp contexts), which do not depend on each other.
// Plain values and pure functions: any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace portico {

enum class SrtpSuite : std::uint8_t {
  AesCm128HmacSha1_80,  // RFC 4568 §6.2.1, the mandatory-to-implement suite
  AesCm128HmacSha1_32,  // RFC 4568 §6.2.2: 32-bit tag on RTP, 80-bit on RTCP
  Aes256CmHmacSha1_80,  // RFC 6188
  AeadAes128Gcm,        // RFC 7714
  AeadAes256Gcm,        // RFC 7714
};

inline constexpr std::array<SrtpSuite, 5> kAllSrtpSuites = {
    SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32, SrtpSuite::Aes256CmHmacSha1_80,
    SrtpSuite::AeadAes128Gcm, SrtpSuite::AeadAes256Gcm};

/// The name as in a=crypto ("AES_CM_128_HMAC_SHA1_80").
std::string_view to_string(SrtpSuite s);
/// The suite of an a=crypto name (exact, upper case as the RFCs register them).
std::optional<SrtpSuite> srtp_suite_from_name(std::string_view name);
/// Master key and master salt lengths in bytes (the inline: key is their concatenation).
std::size_t srtp_key_length(SrtpSuite s);
std::size_t srtp_salt_length(SrtpSuite s);

/// Longest master key || salt of any suite (AES-256-CM: 32 + 14).
inline constexpr std::size_t kMaxSrtpKeySalt = 46;

}  // namespace portico
