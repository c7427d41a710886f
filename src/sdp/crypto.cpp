// SDES a=crypto parsing and writing, the secure profiles, and key redaction (see crypto.hpp).

#include "portico/sdp/crypto.hpp"

#include <array>
#include <charconv>

#include "portico/common/strings.hpp"

namespace portico::sdp {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint64_t kMaxLifetime = std::uint64_t{1} << 48;  // SRTP's index space (RFC 3711)

int base64_value(char c) {
  const auto pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

Error malformed(std::string detail) { return Error{"crypto_malformed", std::move(detail)}; }

std::optional<std::uint64_t> decimal(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19) {
    return std::nullopt;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

/// "2^31" or "2147483648" (RFC 4568 §9.2 lifetime).
std::optional<std::uint64_t> lifetime_value(std::string_view s) {
  if (s.starts_with("2^")) {
    auto exp = decimal(s.substr(2));
    if (!exp || *exp > 63) {
      return std::nullopt;
    }
    return std::uint64_t{1} << *exp;
  }
  return decimal(s);
}

/// Splits the leading token off `s` at a space or tab; `s` keeps the rest, trimmed.
std::string_view next_token(std::string_view& s) {
  s = trim(s);
  const auto end = s.find_first_of(" \t");
  std::string_view tok = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
  return tok;
}

std::optional<Error> parse_key_info(std::string_view info, CryptoAttribute& out) {
  // <key||salt base64>[|lifetime][|MKI:length]
  std::array<std::string_view, 3> parts{};
  std::size_t n = 0;
  while (true) {
    if (n == parts.size()) {
      return malformed("too many '|' fields in the key parameter");
    }
    const auto bar = info.find('|');
    parts[n++] = info.substr(0, bar);
    if (bar == std::string_view::npos) {
      break;
    }
    info.remove_prefix(bar + 1);
  }
  auto key = base64_decode(parts[0]);
  if (!key || key->empty()) {
    return malformed("the inline key is not base64");
  }
  out.key_salt = std::move(*key);
  for (std::size_t i = 1; i < n; ++i) {
    const std::string_view f = parts[i];
    const auto colon = f.find(':');
    if (colon == std::string_view::npos) {
      if (i != 1) {
        return malformed("the lifetime must come before the MKI");
      }
      auto lt = lifetime_value(f);
      if (!lt || *lt == 0 || *lt > kMaxLifetime) {
        return malformed("bad key lifetime '" + std::string(f) + "'");
      }
      out.lifetime = *lt;
      continue;
    }
    auto value = decimal(f.substr(0, colon));
    auto length = decimal(f.substr(colon + 1));
    if (!value || !length || *length < 1 || *length > 128) {
      return malformed("bad MKI '" + std::string(f) + "'");
    }
    out.mki_length = static_cast<std::uint32_t>(*length);
    if (out.mki_length <= 4 && *value >= (std::uint64_t{1} << (8 * out.mki_length))) {
      return malformed("MKI value " + std::to_string(*value) + " does not fit in " +
                       std::to_string(*length) + " bytes");
    }
    out.mki_value = static_cast<std::uint32_t>(*value & 0xffffffffU);
  }
  return std::nullopt;
}

}  // namespace

Result<CryptoAttribute> parse_crypto(std::string_view value) {
  CryptoAttribute out;
  std::string_view rest = value;
  const std::string_view tag = next_token(rest);
  const auto tag_value = decimal(tag);
  if (!tag_value || tag.size() > 9 || *tag_value == 0) {
    return malformed("bad tag '" + std::string(tag) + "' (1 to 9 digits)");
  }
  out.tag = static_cast<std::uint32_t>(*tag_value);
  out.suite_name = std::string(next_token(rest));
  if (out.suite_name.empty()) {
    return malformed("no crypto suite");
  }
  out.suite = srtp_suite_from_name(out.suite_name);
  const std::string_view key_params = next_token(rest);
  out.session_params = std::string(rest);
  if (key_params.empty()) {
    return malformed("no key parameter");
  }
  if (!key_params.starts_with("inline:")) {
    return malformed("key method is not 'inline:' (RFC 4568 §6.1)");
  }
  // Several keys may follow, separated by ';' (each with its own MKI); Portico uses the first.
  const std::string_view first = key_params.substr(7, key_params.find(';') - 7);
  if (auto err = parse_key_info(first, out)) {
    return *err;
  }
  if (!out.suite) {
    return out;  // unknown suite: the caller skips it; its key format is not ours to judge
  }
  const std::size_t want = srtp_key_length(*out.suite) + srtp_salt_length(*out.suite);
  if (out.key_salt.size() != want) {
    return malformed(out.suite_name + " needs a " + std::to_string(want) +
                     "-byte key and salt, got " + std::to_string(out.key_salt.size()));
  }
  if (out.lifetime && *out.lifetime < kMinSrtpLifetime) {
    return Error{"crypto_unsupported_lifetime",
                 "key lifetime " + std::to_string(*out.lifetime) +
                     " packets: Portico does not re-key within a call and needs at least 2^31"};
  }
  if (out.mki_length > kMaxMkiLength) {
    return Error{"crypto_unsupported_mki",
                 "MKI of " + std::to_string(out.mki_length) + " bytes: Portico supports 1 to 4"};
  }
  return out;
}

Result<std::vector<CryptoAttribute>> crypto_attributes(const Media& m) {
  std::vector<CryptoAttribute> out;
  for (const Attribute& a : m.attributes) {
    if (!iequals(a.name, "crypto")) {
      continue;
    }
    auto c = parse_crypto(a.value.value_or(""));
    if (!c) {
      return c.error();
    }
    out.push_back(std::move(c).value());
  }
  return out;
}

std::string format_crypto(std::uint32_t tag, SrtpSuite suite,
                          const std::vector<std::uint8_t>& key_salt) {
  return std::to_string(tag) + " " + std::string(to_string(suite)) +
         " inline:" + base64_encode(key_salt);
}

bool is_savp(std::string_view proto) {
  return iequals(proto, "RTP/SAVP") || iequals(proto, "RTP/SAVPF");
}

std::string plain_profile(std::string_view proto) {
  if (iequals(proto, "RTP/SAVP")) {
    return "RTP/AVP";
  }
  if (iequals(proto, "RTP/SAVPF")) {
    return "RTP/AVPF";
  }
  return std::string(proto);
}

std::string secure_profile(std::string_view proto) {
  if (iequals(proto, "RTP/AVP")) {
    return "RTP/SAVP";
  }
  if (iequals(proto, "RTP/AVPF")) {
    return "RTP/SAVPF";
  }
  return std::string(proto);
}

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t b0 = bytes[i];
    const std::uint32_t b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0;
    const std::uint32_t b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const std::uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base64_value(c);
    if (v < 0) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace portico::sdp
