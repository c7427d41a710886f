#include "portico/common/srtp_suite.hpp"

namespace portico {

std::string_view to_string(SrtpSuite s) {
  switch (s) {
    case SrtpSuite::AesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpSuite::AesCm128HmacSha1_32:
      return "AES_CM_128_HMAC_SHA1_32";
    case SrtpSuite::Aes256CmHmacSha1_80:
      return "AES_256_CM_HMAC_SHA1_80";
    case SrtpSuite::AeadAes128Gcm:
      return "AEAD_AES_128_GCM";
    case SrtpSuite::AeadAes256Gcm:
      return "AEAD_AES_256_GCM";
  }
  return "unknown";
}

std::optional<SrtpSuite> srtp_suite_from_name(std::string_view name) {
  for (SrtpSuite s : kAllSrtpSuites) {
    if (to_string(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

std::size_t srtp_key_length(SrtpSuite s) {
  return s == SrtpSuite::Aes256CmHmacSha1_80 || s == SrtpSuite::AeadAes256Gcm ? 32 : 16;
}

std::size_t srtp_salt_length(SrtpSuite s) {
  // RFC 7714 §12: the AEAD suites use a 96-bit salt; the counter-mode suites 112 bits.
  return s == SrtpSuite::AeadAes128Gcm || s == SrtpSuite::AeadAes256Gcm ? 12 : 14;
}

}  // namespace portico
