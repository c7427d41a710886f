// Checks that need the whole merged policy: references between sections (a trunk's realm, a
// route's targets), and conflicts between entries that are each fine alone (two realms binding
// one socket). Runs after every file is parsed, so the order of files never matters here.

#include <algorithm>
#include <tuple>

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

struct BoundListener {
  const Listener* listener;
  const std::string* path;
};

// UDP and stream sockets live in separate port spaces; TCP and TLS both bind a TCP socket.
bool same_socket(const Listener& a, const Listener& b) {
  const bool a_udp = a.protocol == Protocol::Udp;
  const bool b_udp = b.protocol == Protocol::Udp;
  if (a_udp != b_udp || a.bind.port != b.bind.port) {
    return false;
  }
  const auto& x = a.bind.address;
  const auto& y = b.bind.address;
  // A wildcard bind (0.0.0.0, ::) takes the port on every address of its family.
  return x == y || (x.is_v4() == y.is_v4() && (x.is_unspecified() || y.is_unspecified()));
}

void check_listeners(const PolicyDraft& d, Diagnostics& diags) {
  std::vector<BoundListener> all;
  for (const auto& [name, realm] : d.realms) {
    for (std::size_t i = 0; i < realm.realm.listeners.size(); ++i) {
      all.push_back({&realm.realm.listeners[i], &realm.listener_paths[i]});
    }
  }
  // Report the later one (in file order) as the conflicting one, as a reader would.
  std::stable_sort(all.begin(), all.end(), [](const BoundListener& a, const BoundListener& b) {
    const auto& x = a.listener->loc;
    const auto& y = b.listener->loc;
    return std::tie(x.file, x.line, x.column) < std::tie(y.file, y.line, y.column);
  });
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (same_socket(*all[i].listener, *all[j].listener)) {
        diags.add(all[i].listener->loc, *all[i].path,
                  listener_uri(*all[i].listener) + " binds the same socket as " + *all[j].path +
                      " (" + listener_uri(*all[j].listener) + " at " + where(all[j].listener->loc) +
                      ")");
        break;
      }
    }
  }
}

// Two realms taking ports from overlapping ranges on one address would fight over sockets.
void check_media_ranges(const PolicyDraft& d, Diagnostics& diags) {
  std::vector<const RealmDraft*> with_media;
  for (const auto& [name, realm] : d.realms) {
    if (realm.realm.media.enabled) {
      with_media.push_back(&realm);
    }
  }
  for (std::size_t i = 0; i < with_media.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const RealmMedia& x = with_media[i]->realm.media;
      const RealmMedia& y = with_media[j]->realm.media;
      if (x.address == y.address && x.port_min <= y.port_max && y.port_min <= x.port_max) {
        diags.add(x.loc, with_media[i]->path + ".media.ports",
                  "port range " + std::to_string(x.port_min) + "-" + std::to_string(x.port_max) +
                      " on " + x.address.to_string() + " overlaps " + with_media[j]->path +
                      ".media.ports (" + std::to_string(y.port_min) + "-" +
                      std::to_string(y.port_max) + ")");
      }
    }
  }
}

// A peer sends from, and is sent to from, a listener of its transport in its realm.
void check_transport(const Realm& realm, Protocol p, bool given, const SourceLoc& loc,
                     const std::string& path, Diagnostics& diags) {
  std::vector<std::string> uris;
  for (const auto& l : realm.listeners) {
    if (l.protocol == p) {
      return;
    }
    uris.push_back(listener_uri(l));
  }
  if (uris.empty()) {
    return;  // the realm's own listener errors are already reported
  }
  diags.add(loc, path + ".transport",
            "realm " + quote(realm.name) + " has no " + std::string(portico::to_string(p)) +
                " listener" + (given ? "" : " (udp is the default)") +
                "; its listeners: " + join(uris));
}

const Realm* check_realm_ref(const PolicyDraft& d, const std::string& name, const SourceLoc& loc,
                             const std::string& path, Diagnostics& diags) {
  if (name.empty()) {
    return nullptr;  // missing or malformed: reported while parsing
  }
  const auto it = d.realms.find(name);
  if (it == d.realms.end()) {
    diags.add(loc, path,
              "unknown realm " + quote(name) + " (known: " + join(names_of(d.realms)) + ")");
    return nullptr;
  }
  return &it->second.realm;
}

void check_peers(const PolicyDraft& d, Diagnostics& diags) {
  for (const auto& [name, t] : d.trunks) {
    const Realm* realm = check_realm_ref(d, t.trunk.realm, t.realm_loc, t.path + ".realm", diags);
    if (realm != nullptr) {
      check_transport(*realm, t.trunk.transport, t.transport_given, t.transport_loc, t.path, diags);
    }
  }
  for (const auto& [name, p] : d.peers) {
    const Realm* realm = check_realm_ref(d, p.peer.realm, p.realm_loc, p.path + ".realm", diags);
    // Without a host Portico never opens a call toward the peer, so only a stated transport
    // (or a host) needs a matching listener.
    if (realm != nullptr && (p.peer.host || p.transport_given)) {
      check_transport(*realm, p.peer.transport, p.transport_given, p.transport_loc, p.path, diags);
    }
    // Routes match on the source's name, so one name must not mean two things.
    if (const auto t = d.trunks.find(name); t != d.trunks.end()) {
      diags.add(p.peer.loc, p.path,
                "name " + quote(name) + " is already used by trunk " + t->second.path + " (at " +
                    where(t->second.trunk.loc) + "); trunks and access peers need distinct names");
    }
    // Digest credentials are checked against the registration users file.
    if (p.peer.auth == AccessPeer::Auth::Digest &&
        (!d.registration.enabled || d.registration.users_file.empty())) {
      diags.add(p.auth_loc, p.path + ".auth",
                "digest needs registration.users_file (the users it authenticates)");
    }
  }
}

}  // namespace

void validate(const PolicyDraft& d, const std::string& first_file, Diagnostics& diags) {
  if (d.realms.empty()) {
    diags.add(SourceLoc{first_file, 1, 1}, "realms",
              "no realm is defined; a policy needs at least one realm with a listener");
  }
  check_listeners(d, diags);
  check_media_ranges(d, diags);
  check_peers(d, diags);
  check_registration(d, diags);
  check_routes(d, diags);
  check_tls(d, diags);
}

}  // namespace portico::policy::detail
