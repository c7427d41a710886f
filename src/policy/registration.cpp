// The `registration` section: which realm's endpoints register through Portico, where their
// registrations are relayed, and the expiries and keepalives that keep NAT pinholes open
// (see RegistrationConfig in model.hpp and docs/policies.md#registration).

#include <algorithm>
#include <chrono>

#include "portico/common/strings.hpp"

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kRegistrationKeys = {"realm",
                                   "registrar",
                                   "client_expires",
                                   "upstream_expires",
                                   "options_ping",
                                   "ping_failures",
                                   "domains",
                                   "max_bindings",
                                   "max_bindings_per_source",
                                   "users_file",
                                   "digest_algorithms"};

constexpr Millis kSecond{1000};
constexpr Millis kMaxExpires{std::chrono::hours(24 * 7)};
constexpr std::int64_t kMaxPingFailures = 100;
constexpr std::int64_t kMaxBindings = 10'000'000;

void read_domains(const Reader& r, const Field& f, RegistrationConfig& out) {
  const auto items = r.list(f);
  if (!items) {
    return;
  }
  for (const auto& item : *items) {
    const auto d = r.string(item);
    if (!d) {
      continue;
    }
    const std::string lower = to_lower(*d);
    const bool usable = !lower.empty() && lower.find_first_of(" \t@;<>\"") == std::string::npos;
    if (!usable) {
      r.error(item, "is not a domain (a host name or IP literal, as in sip:user@<domain>)");
    } else if (std::find(out.domains.begin(), out.domains.end(), lower) != out.domains.end()) {
      r.error(item, "domain " + quote(lower) + " is listed twice");
    } else {
      out.domains.push_back(lower);
    }
  }
}

// Expires values travel in whole seconds (RFC 3261 §20.19), so "1500ms" could not be granted.
void read_expires(const Reader& r, const FieldMap& m, const std::string& key, Millis& out) {
  const Field* f = find(m, key);
  if (f == nullptr) {
    return;
  }
  const auto d = r.duration(*f);
  if (!d) {
    return;
  }
  if (*d < kSecond || *d > kMaxExpires || d->count() % 1000 != 0) {
    r.error(*f, "must be a whole number of seconds from 1s to 168h (SIP expiries are seconds)");
    return;
  }
  out = *d;
}

// RFC 7616 §3.7: one challenge per algorithm, the preferred first.
void read_algorithms(const Reader& r, const Field& f, RegistrationConfig& out) {
  const auto items = r.list(f);
  if (!items) {
    return;
  }
  std::vector<std::string> algorithms;
  for (const auto& item : *items) {
    const auto a = r.string(item);
    if (!a) {
      continue;
    }
    const std::string upper = *a == "md5" ? "MD5" : *a == "sha-256" ? "SHA-256" : *a;
    if (upper != "SHA-256" && upper != "MD5") {
      r.error(item, quote(*a) + " is not a digest algorithm (SHA-256 or MD5)");
    } else if (std::find(algorithms.begin(), algorithms.end(), upper) != algorithms.end()) {
      r.error(item, quote(upper) + " is listed twice");
    } else {
      algorithms.push_back(upper);
    }
  }
  if (algorithms.empty()) {
    r.error(f, "at least one digest algorithm is required (SHA-256, MD5)");
    return;
  }
  out.digest_algorithms = std::move(algorithms);
}

}  // namespace

void parse_registration(const Reader& r, const Field& f, PolicyDraft& draft) {
  RegistrationConfig& out = draft.registration;
  out.loc = f.key_loc;
  const auto m = r.map(f, kRegistrationKeys);
  if (!m) {
    return;
  }
  out.enabled = true;
  draft.registration_realm_loc = f.key_loc;
  if (const Field* v = r.require(*m, "realm", f)) {
    draft.registration_realm_loc = v->loc;
    out.realm = r.string(*v).value_or("");
  }
  if (const Field* v = find(*m, "registrar")) {
    draft.registrar_loc = v->loc;
    out.registrar = r.string(*v).value_or("");
  }
  read_expires(r, *m, "client_expires", out.client_expires);
  read_expires(r, *m, "upstream_expires", out.upstream_expires);
  if (const Field* v = find(*m, "options_ping")) {
    if (const auto d = r.duration(*v)) {
      // 0s turns pings off; anything faster than a second would be a flood, not a keepalive.
      if (d->count() != 0 && *d < kSecond) {
        r.error(*v, "must be 0s (off) or at least 1s");
      } else {
        out.options_ping = *d;
      }
    }
  }
  if (const Field* v = find(*m, "ping_failures")) {
    const auto n = r.integer_in(*v, 1, kMaxPingFailures,
                                "is not a number of missed pings (1.." +
                                    std::to_string(kMaxPingFailures) + ")");
    out.ping_failures = static_cast<int>(n.value_or(out.ping_failures));
  }
  if (const Field* v = find(*m, "domains")) {
    read_domains(r, *v, out);
  }
  if (const Field* v = find(*m, "max_bindings")) {
    const auto n =
        r.integer_in(*v, 1, kMaxBindings,
                     "is not a number of bindings (1.." + std::to_string(kMaxBindings) + ")");
    out.max_bindings = static_cast<std::size_t>(n.value_or(10000));
  }
  if (const Field* v = find(*m, "max_bindings_per_source")) {
    const auto n =
        r.integer_in(*v, 1, kMaxBindings,
                     "is not a number of bindings (1.." + std::to_string(kMaxBindings) + ")");
    out.max_bindings_per_source = static_cast<std::size_t>(n.value_or(20));
  }
  if (const Field* v = find(*m, "digest_algorithms")) {
    read_algorithms(r, *v, out);
  }
  if (const Field* v = find(*m, "users_file")) {
    read_users_file(r, *v, out);
  }
  // The upstream registration is refreshed only when a client refresh finds it past half its
  // life; shorter than the client's own interval, it would lapse between two refreshes.
  if (out.upstream_expires < out.client_expires) {
    const Field* at = find(*m, "upstream_expires");
    r.error(at != nullptr ? *at : f,
            "upstream_expires (" + std::to_string(out.upstream_expires.count() / 1000) +
                "s) must not be shorter than client_expires (" +
                std::to_string(out.client_expires.count() / 1000) + "s)");
  }
}

void check_registration(const PolicyDraft& d, Diagnostics& diags) {
  if (!d.registration_at || !d.registration.enabled) {
    return;
  }
  const RegistrationConfig& reg = d.registration;
  if (!reg.realm.empty() && d.realms.count(reg.realm) == 0) {
    diags.add(d.registration_realm_loc, "registration.realm",
              "unknown realm " + quote(reg.realm) + " (known: " + join(names_of(d.realms)) + ")");
  }
  if (reg.registrar.empty()) {
    return;  // Portico answers REGISTER itself
  }
  if (!reg.users_file.empty()) {
    diags.add(d.registrar_loc, "registration.users_file",
              "is for Portico as the registrar: with a registrar, it authenticates REGISTER "
              "itself (leave out one of users_file and registrar)");
  }
  if (d.trunks.count(reg.registrar) != 0) {
    return;
  }
  const auto p = d.peers.find(reg.registrar);
  if (p == d.peers.end()) {
    std::vector<std::string> known = names_of(d.trunks);
    for (const auto& n : names_of(d.peers)) {
      known.push_back(n);
    }
    diags.add(d.registrar_loc, "registration.registrar",
              "unknown trunk or access peer " + quote(reg.registrar) + " (known: " + join(known) +
                  ")");
  } else if (!p->second.peer.host) {
    diags.add(d.registrar_loc, "registration.registrar",
              "access peer " + quote(reg.registrar) +
                  " has no host, so REGISTER cannot be relayed to it (" + p->second.path + " at " +
                  where(p->second.peer.loc) + ")");
  }
}

}  // namespace portico::policy::detail
