// `registration.users_file`: the digest users Portico authenticates when it is the registrar
// itself. One user a line, HA1 hashes only (never a password), in the spirit of htdigest:
//
//   # user[@domain]       [realm]         hashes (one or both)
//   alice@corp.example    corp.example    md5:<32 hex> sha256:<64 hex>
//   bob                                   sha256:<64 hex>
//
// A user without @domain is in the default domain (policy/registration_domains.hpp); the digest
// realm of a domain is the domain itself, so a realm column, when given, must name it. HA1 is
// H(user ":" realm ":" password) (RFC 7616 §3.4.2), with H = MD5 or SHA-256.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy_draft.hpp"
#include "portico/common/strings.hpp"
#include "portico/policy/registration_domains.hpp"

namespace portico::policy::detail {
namespace {

bool lower_hex(std::string_view s, std::size_t size) {
  return s.size() == size && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// One line's fields into `u`; the problem, or empty.
std::string parse_user_line(const RegistrationConfig& reg, std::istringstream& words,
                            DigestUser& u) {
  std::string first;
  words >> first;
  const auto at = first.rfind('@');
  u.user = first.substr(0, at);
  u.domain = at == std::string::npos ? default_domain(reg) : to_lower(first.substr(at + 1));
  if (u.user.empty() || u.domain.empty()) {
    return "\"" + first + "\" is not user or user@domain";
  }
  if (at != std::string::npos && !reg.domains.empty() &&
      std::find(reg.domains.begin(), reg.domains.end(), u.domain) == reg.domains.end()) {
    return "domain \"" + u.domain + "\" is not in registration.domains";
  }
  u.realm = u.domain;  // a domain's digest realm is its own name
  for (std::string w; words >> w;) {
    if (w.starts_with("md5:")) {
      u.ha1_md5 = to_lower(w.substr(4));
      if (!lower_hex(u.ha1_md5, 32)) {
        return "md5 HA1 must be 32 hex digits";
      }
    } else if (w.starts_with("sha256:")) {
      u.ha1_sha256 = to_lower(w.substr(7));
      if (!lower_hex(u.ha1_sha256, 64)) {
        return "sha256 HA1 must be 64 hex digits";
      }
    } else if (u.ha1_md5.empty() && u.ha1_sha256.empty() && w == u.realm) {
      // the optional realm column
    } else if (u.ha1_md5.empty() && u.ha1_sha256.empty()) {
      return "realm \"" + w + "\" is not the digest realm of domain \"" + u.domain +
             "\" (which is \"" + u.realm + "\")";
    } else {
      return "unexpected \"" + w + "\" (hashes are md5:<hex> or sha256:<hex>)";
    }
  }
  if (u.ha1_md5.empty() && u.ha1_sha256.empty()) {
    return "no HA1 hash (md5:<hex> and/or sha256:<hex>)";
  }
  return {};
}

}  // namespace

void read_users_file(const Reader& r, const Field& f, RegistrationConfig& out) {
  const auto name = r.string(f);
  if (!name || name->empty()) {
    if (name) {
      r.error(f, "is empty (a file of digest users)");
    }
    return;
  }
  std::filesystem::path path(*name);
  if (path.is_relative()) {
    path = std::filesystem::path(r.file()).parent_path() / path;  // next to the policy file
  }
  out.users_file = path.string();
  std::ifstream in(path);
  if (!in.is_open()) {
    r.error(f, "cannot open users file " + quote(out.users_file));
    return;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string_view text = trim(std::string_view(line).substr(0, line.find('#')));
    if (text.empty()) {
      continue;
    }
    std::istringstream words{std::string(text)};
    DigestUser u;
    const SourceLoc at{out.users_file, n, 1};
    if (std::string problem = parse_user_line(out, words, u); !problem.empty()) {
      r.error(at, "registration.users_file", std::move(problem));
      continue;
    }
    const std::string key = u.user + "@" + u.domain;
    if (out.users.contains(key)) {
      r.error(at, "registration.users_file", "user " + quote(key) + " is listed twice");
      continue;
    }
    out.users.emplace(key, std::move(u));
  }
}

}  // namespace portico::policy::detail
