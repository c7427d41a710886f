// Digest as a client: challenge parsing and the Authorization value (RFC 7616 §3.3-3.4).

#include "portico/auth/digest_client.hpp"

#include <array>
#include <cstddef>
#include <cstdio>

#include "auth_params.hpp"
#include "portico/common/random.hpp"
#include "portico/common/strings.hpp"

namespace portico::auth {
namespace {

// Reads "MD5", "SHA-256", "MD5-sess", "SHA-256-sess" (any case). False for anything else.
bool read_algorithm(std::string_view token, Challenge& c) {
  constexpr std::string_view kSess = "-sess";
  if (token.size() > kSess.size() && iequals(token.substr(token.size() - kSess.size()), kSess)) {
    c.session = true;
    token = token.substr(0, token.size() - kSess.size());
  }
  const auto a = algorithm_named(token);
  if (!a) {
    return false;
  }
  c.algorithm = *a;
  return true;
}

// True if the comma-separated qop-options list names "auth".
bool offers_auth(std::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), "auth")) {
      return true;
    }
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

// A quoted-string value: backslash and double quote escaped (RFC 7230 §3.2.6).
void append_quoted(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append("=\"");
  for (char ch : value) {
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
    }
    out.push_back(ch);
  }
  out.push_back('"');
}

}  // namespace

std::optional<Challenge> parse_challenge(std::string_view value) {
  value = trim(value);
  if (value.size() < 7 || !iequals(value.substr(0, 6), "Digest") ||
      std::string_view(" \t\r\n").find(value[6]) == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = value.substr(7);
  Challenge c;
  bool known_algorithm = true;
  bool qop_given = false;
  std::string_view name;
  std::string v;
  bool bad = false;
  while (next_auth_param(rest, name, v, bad)) {
    if (iequals(name, "realm")) {
      c.realm = v;
    } else if (iequals(name, "nonce")) {
      c.nonce = v;
    } else if (iequals(name, "opaque")) {
      c.opaque = v;
    } else if (iequals(name, "algorithm")) {
      known_algorithm = read_algorithm(v, c);
    } else if (iequals(name, "qop")) {
      qop_given = true;
      c.qop_auth = offers_auth(v);
    } else if (iequals(name, "stale")) {
      c.stale = iequals(v, "true");
    }
  }
  if (bad || !known_algorithm || c.nonce.empty() || c.realm.empty() || (qop_given && !c.qop_auth)) {
    return std::nullopt;
  }
  return c;
}

std::optional<Challenge> best_challenge(std::span<const std::string> values) {
  std::optional<Challenge> best;
  for (const auto& v : values) {
    auto c = parse_challenge(v);
    if (c &&
        (!best || (c->algorithm == Algorithm::Sha256 && best->algorithm != Algorithm::Sha256))) {
      best = std::move(c);
    }
  }
  return best;
}

std::string authorization(const Challenge& c, const ClientRequest& r) {
  std::string h1 = ha1(c.algorithm, r.username, c.realm, r.password);
  if (c.session) {
    std::string s;
    s.append(h1).append(":").append(c.nonce).append(":").append(r.cnonce);
    h1 = hash_hex(c.algorithm, s);
  }
  std::array<char, 9> nc{};
  std::snprintf(nc.data(), nc.size(), "%08x", r.nc);
  Credentials creds;
  creds.algorithm = c.algorithm;
  creds.nonce = c.nonce;
  creds.uri = std::string(r.uri);
  if (c.qop_auth) {
    creds.qop = "auth";
    creds.nc = nc.data();
    creds.cnonce = std::string(r.cnonce);
  }
  const std::string response = expected_response(creds, h1, r.method);

  std::string out = "Digest ";
  append_quoted(out, "username", r.username);
  out.append(", ");
  append_quoted(out, "realm", c.realm);
  out.append(", ");
  append_quoted(out, "nonce", c.nonce);
  out.append(", ");
  append_quoted(out, "uri", r.uri);
  out.append(", response=\"").append(response).append("\", algorithm=");
  out.append(to_string(c.algorithm));
  if (c.session) {
    out.append("-sess");
  }
  if (c.qop_auth) {
    out.append(", qop=auth, nc=").append(nc.data()).append(", ");
    append_quoted(out, "cnonce", r.cnonce);
  }
  if (!c.opaque.empty()) {
    out.append(", ");
    append_quoted(out, "opaque", c.opaque);
  }
  return out;
}

std::string new_cnonce() {
  std::array<std::byte, 16> bytes{};
  random_bytes(bytes);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out.push_back(kDigits[v >> 4]);
    out.push_back(kDigits[v & 0x0f]);
  }
  return out;
}

}  // namespace portico::auth
