// The `registration` section: which realm's endpoints register through Portico, where their
// registrations are relayed, and the expiries and keepalives that keep NAT pinholes open
// (see RegistrationConfig in model.hpp and docs/policies.md#registration).

#include <chrono>

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kRegistrationKeys = {"realm",           "registrar",    "client_expires",
                                   "upstream_expires", "options_ping", "ping_failures"};

constexpr Millis kSecond{1000};
constexpr Millis kMaxExpires{std::chrono::hours(24 * 7)};
constexpr std::int64_t kMaxPingFailures = 100;

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
