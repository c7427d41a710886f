// `trunks.<name>.register` and `trunks.<name>.auth`: Portico as a digest client of a carrier,
// registering to it and answering its challenges on calls. The password is read here, from a
// file or an environment variable: a policy file is shared, versioned and printed by --check,
// so it never holds one (a `password:` key is refused with that reason).

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "policy_draft.hpp"
#include "portico/common/strings.hpp"

namespace portico::policy::detail {
namespace {

const KeyList kAuthKeys = {"username", "password_file", "password_env", "realm", "password"};
const KeyList kRegisterKeys = {"registrar", "aor",     "username",  "password_file", "password_env",
                               "realm",     "expires", "retry_min", "retry_max",     "password"};

constexpr Millis kMinExpires{std::chrono::seconds(10)};
constexpr Millis kMaxExpires{std::chrono::hours(24)};

// The first line of the password file, without its line end and surrounding white space.
void read_password_file(const Reader& r, const Field& f, DigestSecret& out) {
  const auto name = r.string(f);
  if (!name) {
    return;
  }
  std::filesystem::path path(*name);
  if (path.is_relative()) {
    path = std::filesystem::path(r.file()).parent_path() / path;  // next to the policy file
  }
  out.origin = "password_file " + path.string();
  std::ifstream in(path);
  if (!in.is_open()) {
    r.error(f, "cannot read password file " + quote(path.string()));
    return;
  }
  std::string line;
  std::getline(in, line);
  out.password = std::string(trim(line));
  if (out.password.empty()) {
    r.error(f, "password file " + quote(path.string()) + " is empty");
  }
}

void read_password_env(const Reader& r, const Field& f, DigestSecret& out) {
  const auto name = r.string(f);
  if (!name) {
    return;
  }
  out.origin = "password_env " + *name;
  const char* value = std::getenv(name->c_str());
  if (value == nullptr) {
    r.error(f, "environment variable " + quote(*name) + " is not set");
    return;
  }
  out.password = value;
  if (out.password.empty()) {
    r.error(f, "environment variable " + quote(*name) + " is empty");
  }
}

// username, password_file | password_env, realm: shared by `auth` and `register`.
DigestSecret parse_secret(const Reader& r, const FieldMap& m, const Field& parent) {
  DigestSecret s;
  if (const Field* f = r.require(m, "username", parent)) {
    s.username = r.string(*f).value_or("");
    if (s.username.empty()) {
      r.error(*f, "is empty");
    }
  }
  if (const Field* f = find(m, "realm")) {
    s.realm = r.string(*f).value_or("");
  }
  if (const Field* f = find(m, "password")) {
    r.error(*f, "a password is never written in the policy: use password_file or password_env");
  }
  const Field* file = find(m, "password_file");
  const Field* env = find(m, "password_env");
  if (file != nullptr && env != nullptr) {
    r.error(*env, "give password_file or password_env, not both");
  } else if (file != nullptr) {
    read_password_file(r, *file, s);
  } else if (env != nullptr) {
    read_password_env(r, *env, s);
  } else if (find(m, "password") == nullptr) {
    r.error(parent, "needs password_file or password_env");
  }
  return s;
}

// "1.2.3.4", "1.2.3.4:5080", "[::1]:5080".
void parse_registrar(const Reader& r, const Field& f, TrunkRegistration& out) {
  const auto text = r.string(f);
  if (!text) {
    return;
  }
  std::string_view t = *text;
  std::string_view host = t;
  std::string_view port;
  if (!t.empty() && t.front() == '[') {
    const auto close = t.find(']');
    host = t.substr(1, close == t.npos ? t.npos : close - 1);
    if (close != t.npos && close + 1 < t.size() && t[close + 1] == ':') {
      port = t.substr(close + 2);
    }
  } else if (const auto colon = t.find(':'); colon != t.npos && t.find(':', colon + 1) == t.npos) {
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  asio::error_code ec;
  const auto addr = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    r.error(f, quote(t) + " is not an IP address with an optional port (e.g. 192.0.2.10:5060)");
    return;
  }
  out.registrar_host = addr.to_string();
  if (!port.empty()) {
    const auto p = parse_uint(port);
    if (!p || *p < 1 || *p > 65535) {
      r.error(f, std::string(port) + " is not a port");
      return;
    }
    out.registrar_port = static_cast<std::uint16_t>(*p);
  }
}

Millis duration_in(const Reader& r, const FieldMap& m, const char* key, Millis fallback, Millis lo,
                   Millis hi) {
  const Field* f = find(m, key);
  if (f == nullptr) {
    return fallback;
  }
  const auto d = r.duration(*f);
  if (!d) {
    return fallback;
  }
  if (*d < lo || *d > hi) {
    r.error(*f, "must be between " + std::to_string(lo.count() / 1000) + "s and " +
                    std::to_string(hi.count() / 1000) + "s");
    return fallback;
  }
  return *d;
}

}  // namespace

void parse_trunk_auth(const Reader& r, const Field& f, Trunk& trunk) {
  const auto m = r.map(f, kAuthKeys);
  if (!m) {
    return;
  }
  trunk.auth = parse_secret(r, *m, f);
}

void parse_trunk_register(const Reader& r, const Field& f, Trunk& trunk) {
  const auto m = r.map(f, kRegisterKeys);
  if (!m) {
    return;
  }
  TrunkRegistration reg;
  reg.loc = f.key_loc;
  reg.registrar_host = trunk.host;
  reg.registrar_port = trunk.port;
  if (const Field* g = find(*m, "registrar")) {
    parse_registrar(r, *g, reg);
  }
  reg.credentials = parse_secret(r, *m, f);
  if (const Field* g = find(*m, "aor")) {
    reg.aor = r.string(*g).value_or("");
    if (!reg.aor.starts_with("sip:") && !reg.aor.starts_with("sips:")) {
      r.error(*g, quote(reg.aor) + " is not a SIP URI (e.g. sip:portico@carrier.example)");
    }
  }
  if (reg.aor.empty() && !reg.credentials.username.empty()) {
    const std::string& h = reg.registrar_host;
    reg.aor = "sip:" + reg.credentials.username + "@" +
              (h.find(':') != std::string::npos ? "[" + h + "]" : h);
  }
  reg.expires = duration_in(r, *m, "expires", reg.expires, kMinExpires, kMaxExpires);
  reg.retry_min = duration_in(r, *m, "retry_min", reg.retry_min, Millis{1000}, kMaxExpires);
  reg.retry_max = duration_in(r, *m, "retry_max", reg.retry_max, Millis{1000}, kMaxExpires);
  if (reg.retry_max < reg.retry_min) {
    const Field* g = find(*m, "retry_max");
    r.error(g != nullptr ? *g : f, "retry_max is below retry_min");
  }
  trunk.registration = std::move(reg);
}

}  // namespace portico::policy::detail
