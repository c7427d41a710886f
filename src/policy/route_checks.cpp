// Route references, checked once every file is merged: a route may name a trunk defined in a
// file that sorts after its own.

#include <map>

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

// The realm a trunk or access peer named `name` belongs to, or nullptr if there is none.
const std::string* realm_of_source(const PolicyDraft& d, const std::string& name) {
  if (const auto t = d.trunks.find(name); t != d.trunks.end()) {
    return &t->second.trunk.realm;
  }
  if (const auto p = d.peers.find(name); p != d.peers.end()) {
    return &p->second.peer.realm;
  }
  return nullptr;
}

void check_match(const PolicyDraft& d, const RouteDraft& r, Diagnostics& diags) {
  const Route& route = r.route;
  if (route.from_realm && d.realms.count(*route.from_realm) == 0) {
    diags.add(
        r.realm_loc, r.path + ".match.realm",
        "unknown realm " + quote(*route.from_realm) + " (known: " + join(names_of(d.realms)) + ")");
  }
  if (!route.from_peer) {
    return;
  }
  const std::string* realm = realm_of_source(d, *route.from_peer);
  if (realm == nullptr) {
    std::vector<std::string> known = names_of(d.trunks);
    for (const auto& n : names_of(d.peers)) {
      known.push_back(n);
    }
    diags.add(r.peer_loc, r.path + ".match.peer",
              "unknown trunk or access peer " + quote(*route.from_peer) +
                  " (known: " + join(known) + ")");
  } else if (route.from_realm && !realm->empty() && *realm != *route.from_realm) {
    // Both conditions must hold, and a source only ever arrives on its own realm.
    diags.add(r.peer_loc, r.path + ".match.peer",
              quote(*route.from_peer) + " is in realm " + quote(*realm) + " but match.realm is " +
                  quote(*route.from_realm) + ", so this route can never match");
  }
}

// `registered: <realm>` finds users among the registrations Portico accepts on that realm.
void check_registered_target(const PolicyDraft& d, const RouteTarget& t, const std::string& path,
                             Diagnostics& diags) {
  if (d.realms.count(t.name) == 0) {
    diags.add(t.loc, path,
              "unknown realm " + quote(t.name) + " (known: " + join(names_of(d.realms)) + ")");
  } else if (!d.registration_at) {
    diags.add(t.loc, path,
              "no registration section, so nobody can be registered on realm " + quote(t.name) +
                  " (add registration: {realm: " + t.name + ", ...})");
  } else if (!d.registration.realm.empty() && d.registration.realm != t.name) {
    diags.add(t.loc, path,
              "realm " + quote(t.name) + " accepts no REGISTER (registration.realm is " +
                  quote(d.registration.realm) + " at " + where(*d.registration_at) + ")");
  }
}

void check_target(const PolicyDraft& d, const RouteTarget& t, const std::string& path,
                  Diagnostics& diags) {
  if (t.kind == PeerKind::Registered) {
    check_registered_target(d, t, path, diags);
    return;
  }
  if (t.kind == PeerKind::Trunk) {
    if (d.trunks.count(t.name) == 0) {
      diags.add(t.loc, path,
                "unknown trunk " + quote(t.name) + " (known: " + join(names_of(d.trunks)) + ")");
    }
    return;
  }
  const auto p = d.peers.find(t.name);
  if (p == d.peers.end()) {
    diags.add(t.loc, path,
              "unknown access peer " + quote(t.name) + " (known: " + join(names_of(d.peers)) + ")");
  } else if (!p->second.peer.host) {
    diags.add(t.loc, path,
              "access peer " + quote(t.name) + " has no host, so calls cannot be sent to it (" +
                  p->second.path + " at " + where(p->second.peer.loc) + ")");
  }
}

}  // namespace

void check_routes(const PolicyDraft& d, Diagnostics& diags) {
  std::map<std::string, const RouteDraft*> seen;
  for (const RouteDraft& r : d.routes) {
    const std::string& name = r.route.name;
    if (!name.empty()) {
      const auto [it, fresh] = seen.emplace(name, &r);
      if (!fresh) {
        diags.add(r.name_loc, r.path + ".name",
                  "route " + quote(name) + " is defined twice (first as " + it->second->path +
                      " at " + where(it->second->name_loc) + ")");
      }
    }
    check_match(d, r, diags);
    for (std::size_t i = 0; i < r.route.targets.size(); ++i) {
      check_target(d, r.route.targets[i], r.target_paths[i], diags);
    }
  }
}

}  // namespace portico::policy::detail
