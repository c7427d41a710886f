// Digest hashes (OpenSSL's EVP digests and HMAC) and the parser of digest credentials
// (RFC 7616 §3.4, RFC 7235 §2.1 auth-param syntax: token=token / token=quoted-string).

#include "portico/auth/digest.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>

#include "auth_params.hpp"
#include "portico/common/strings.hpp"

namespace portico::auth {
namespace {

std::string to_hex(const unsigned char* data, unsigned size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (unsigned i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

}  // namespace

// The auth-param reader (auth_params.hpp).
bool next_auth_param(std::string_view& in, std::string_view& name, std::string& value, bool& bad) {
  in = trim(in);
  while (!in.empty() && in.front() == ',') {
    in = trim(in.substr(1));
  }
  if (in.empty()) {
    return false;
  }
  const auto eq = in.find('=');
  if (eq == std::string_view::npos) {
    bad = true;
    return false;
  }
  name = trim(in.substr(0, eq));
  in = trim(in.substr(eq + 1));
  value.clear();
  if (!in.empty() && in.front() == '"') {
    std::size_t i = 1;
    for (; i < in.size() && in[i] != '"'; ++i) {
      if (in[i] == '\\' && i + 1 < in.size()) {
        ++i;  // quoted-pair
      }
      value.push_back(in[i]);
    }
    if (i >= in.size()) {
      bad = true;
      return false;  // unterminated quoted string
    }
    in = in.substr(i + 1);
  } else {
    const auto comma = in.find(',');
    value = std::string(trim(in.substr(0, comma)));
    in = comma == std::string_view::npos ? std::string_view{} : in.substr(comma);
  }
  return true;
}

const char* to_string(Algorithm a) { return a == Algorithm::Sha256 ? "SHA-256" : "MD5"; }

std::optional<Algorithm> algorithm_named(std::string_view token) {
  if (iequals(token, "SHA-256")) {
    return Algorithm::Sha256;
  }
  if (iequals(token, "MD5")) {
    return Algorithm::Md5;
  }
  return std::nullopt;
}

std::string hash_hex(Algorithm a, std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned size = 0;
  const EVP_MD* type = a == Algorithm::Sha256 ? EVP_sha256() : EVP_md5();
  if (EVP_Digest(text.data(), text.size(), md.data(), &size, type, nullptr) != 1) {
    return {};  // never equal to a client's response
  }
  return to_hex(md.data(), size);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(),
           &size) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md.data()), size);
}

std::optional<Credentials> parse_credentials(std::string_view value) {
  value = trim(value);
  if (value.size() < 7 || !iequals(value.substr(0, 6), "Digest") || value[6] != ' ') {
    return std::nullopt;
  }
  std::string_view rest = value.substr(7);
  Credentials c;
  bool algorithm_ok = true;
  std::string_view name;
  std::string v;
  bool bad = false;
  while (next_auth_param(rest, name, v, bad)) {
    if (iequals(name, "username")) {
      c.username = v;
    } else if (iequals(name, "realm")) {
      c.realm = v;
    } else if (iequals(name, "nonce")) {
      c.nonce = v;
    } else if (iequals(name, "uri")) {
      c.uri = v;
    } else if (iequals(name, "response")) {
      c.response = to_lower(v);
    } else if (iequals(name, "algorithm")) {
      algorithm_ok = iequals(v, "MD5") || iequals(v, "SHA-256");
      c.algorithm = iequals(v, "SHA-256") ? Algorithm::Sha256 : Algorithm::Md5;
    } else if (iequals(name, "qop")) {
      c.qop = to_lower(v);
    } else if (iequals(name, "nc")) {
      c.nc = v;
    } else if (iequals(name, "cnonce")) {
      c.cnonce = v;
    } else if (iequals(name, "opaque")) {
      c.opaque = v;
    }
  }
  if (bad) {
    return std::nullopt;
  }
  if (!algorithm_ok || c.username.empty() || c.realm.empty() || c.nonce.empty() || c.uri.empty() ||
      c.response.empty()) {
    return std::nullopt;
  }
  if (!c.qop.empty()) {
    if (c.qop != "auth" || c.cnonce.empty() || c.nc.size() != 8 ||
        c.nc.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return std::nullopt;
    }
    std::from_chars(c.nc.data(), c.nc.data() + c.nc.size(), c.nc_value, 16);
  }
  return c;
}

std::string ha1(Algorithm a, std::string_view user, std::string_view realm,
                std::string_view password) {
  std::string s;
  s.append(user).append(":").append(realm).append(":").append(password);
  return hash_hex(a, s);
}

std::string expected_response(const Credentials& c, std::string_view ha1_hex,
                              std::string_view method) {
  std::string a2;
  a2.append(method).append(":").append(c.uri);
  const std::string ha2 = hash_hex(c.algorithm, a2);
  std::string kd;
  kd.append(ha1_hex).append(":").append(c.nonce).append(":");
  if (!c.qop.empty()) {
    kd.append(c.nc).append(":").append(c.cnonce).append(":").append(c.qop).append(":");
  }
  kd.append(ha2);
  return hash_hex(c.algorithm, kd);
}

}  // namespace portico::auth
