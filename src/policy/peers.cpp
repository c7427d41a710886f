// Named sections: realms (where Portico listens), trunks and access peers (who it talks to).
// Each entry is read as far as it is valid and always recorded, so that a route naming a trunk
// with one bad field reports only that field, not a cascade of "unknown trunk" errors.

#include "policy_draft.hpp"
#include "portico/common/strings.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kRealmKeys = {"listeners",      "advertised_address", "media",
                            "media_security", "srtp_suites",        "tls"};
// From max_calls_in on: the session limits (session_limits.cpp).
const KeyList kTrunkKeys = {"realm",          "host",         "port",     "transport",
                            "max_calls",      "sources",      "trusted",  "max_calls_in",
                            "max_calls_out",  "cps_in",       "cps_out",  "cps_burst",
                            "pacing_wait",    "pacing_queue", "register", "auth",
                            "media_security", "srtp_suites",  "tls"};
const KeyList kPeerKeys = {
    "realm",     "sources",     "host",         "port",           "transport",  "max_calls",
    "auth",      "trusted",     "max_calls_in", "max_calls_out",  "cps_in",     "cps_out",
    "cps_burst", "pacing_wait", "pacing_queue", "media_security", "srtp_suites"};

constexpr std::int64_t kMaxCalls = 1'000'000;

const char* const kListenerForm = "expected scheme://address:port, e.g. udp://127.0.0.1:5060";

const SourceLoc& defined_at(const RealmDraft& d) { return d.realm.loc; }
const SourceLoc& defined_at(const TrunkDraft& d) { return d.trunk.loc; }
const SourceLoc& defined_at(const PeerDraft& d) { return d.peer.loc; }

/// Calls `fn(name, entry)` for each well-named, first-defined entry of a name-keyed section.
template <class Drafts, class Fn>
void for_each_named(const Reader& r, const Field& f, const char* kind, const Drafts& existing,
                    Fn&& fn) {
  const auto entries = r.map(f, {});
  if (!entries) {
    return;
  }
  for (const auto& [name, entry] : *entries) {
    if (!r.check_name(name, entry.key_loc, entry.path)) {
      continue;
    }
    if (const auto it = existing.find(name); it != existing.end()) {
      r.error(entry.key_loc, entry.path,
              std::string(kind) + " " + quote(name) + " is defined twice (first at " +
                  where(defined_at(it->second)) + ")");
      continue;
    }
    fn(name, entry);
  }
}

struct HostPort {
  std::string_view host;
  std::string_view port;  // empty when missing
  bool unbracketed_v6 = false;
};

// Splits "address:port" after the scheme. RFC 3986 §3.2.2: an IPv6 literal is bracketed so that
// its colons are not taken for the port separator.
HostPort split_host_port(std::string_view rest) {
  HostPort out;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    out.host = rest.substr(1, close == rest.npos ? rest.npos : close - 1);
    rest = close == rest.npos ? std::string_view{} : rest.substr(close + 1);
    out.port = rest.empty() || rest.front() != ':' ? std::string_view{} : rest.substr(1);
    return out;
  }
  const auto colon = rest.find(':');
  out.host = rest.substr(0, colon);
  out.port = colon == rest.npos ? std::string_view{} : rest.substr(colon + 1);
  out.unbracketed_v6 = colon != rest.npos && out.port.find(':') != rest.npos;
  return out;
}

}  // namespace

std::optional<Listener> parse_listener(const Reader& r, const Field& f) {
  const auto text = r.string(f);
  if (!text) {
    return std::nullopt;
  }
  const std::string_view t = *text;
  const auto scheme_end = t.find("://");
  if (scheme_end == t.npos) {
    r.error(f, quote(t) + " is not a listener (" + kListenerForm + ")");
    return std::nullopt;
  }
  const auto protocol = portico::parse_protocol(t.substr(0, scheme_end));
  if (!protocol) {
    r.error(f, quote(t.substr(0, scheme_end)) + " is not a transport (expected udp, tcp or tls)");
    return std::nullopt;
  }
  const auto [host, port, unbracketed_v6] = split_host_port(t.substr(scheme_end + 3));
  if (unbracketed_v6) {
    r.error(f, quote(t) + ": an IPv6 address must be in brackets, e.g. udp://[::1]:5060");
    return std::nullopt;
  }
  asio::error_code ec;
  const auto addr = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    r.error(f, quote(t) + ": " + quote(host) + " is not an IP address");
    return std::nullopt;
  }
  if (port.empty()) {
    r.error(f, quote(t) + " has no port (" + kListenerForm + ")");
    return std::nullopt;
  }
  const auto p = parse_uint(port);
  if (!p || *p < 1 || *p > 65535) {
    r.error(f, quote(t) + ": " + std::string(port) + " is not a port");
    return std::nullopt;
  }
  return Listener{*protocol, Endpoint{addr, static_cast<std::uint16_t>(*p)}, f.loc};
}

namespace {

void parse_realm(const Reader& r, const std::string& name, const Field& entry, RealmDraft& d) {
  Realm& realm = d.realm;
  realm.name = name;
  realm.loc = entry.key_loc;
  const auto m = r.map(entry, kRealmKeys);
  if (!m) {
    return;
  }
  if (const Field* f = r.require(*m, "listeners", entry)) {
    if (const auto items = r.list(*f)) {
      if (items->empty()) {
        r.error(*f, "a realm needs at least one listener");
      }
      for (const auto& item : *items) {
        if (auto l = parse_listener(r, item)) {
          realm.listeners.push_back(std::move(*l));
          d.listener_paths.push_back(item.path);
        }
      }
    }
  }
  if (const Field* f = find(*m, "advertised_address")) {
    if (const auto ip = r.ip(*f)) {
      realm.advertised_address = ip->to_string();
    }
  }
  if (const Field* f = find(*m, "media")) {
    parse_realm_media(r, *f, realm.media);
  }
  parse_media_security(r, *m, realm.security);
  if (const Field* f = find(*m, "tls")) {
    parse_realm_tls(r, *f, realm.tls);
  }
}

// Fields trunks and access peers share: where they are and how Portico reaches them.
template <class Peer>
void parse_reachability(const Reader& r, const FieldMap& m, const Field& entry, Peer& peer,
                        SourceLoc& transport_loc, bool& transport_given) {
  transport_loc = entry.key_loc;
  if (const Field* f = find(m, "port")) {
    peer.port = r.port(*f).value_or(peer.port);
  }
  if (const Field* f = find(m, "transport")) {
    transport_loc = f->loc;
    transport_given = true;
    peer.transport = r.protocol(*f).value_or(peer.transport);
  }
  if (const Field* f = find(m, "max_calls")) {
    const auto n = r.integer_in(
        *f, 0, kMaxCalls,
        "is not a call limit (0 = unlimited, at most " + std::to_string(kMaxCalls) + ")");
    peer.max_calls = static_cast<int>(n.value_or(peer.max_calls));
  }
  parse_session_limits(r, m, peer.limits);
  if (const Field* f = find(m, "trusted")) {
    peer.trusted = r.boolean(*f).value_or(peer.trusted);
  }
  parse_media_security(r, m, peer.security);
}

std::optional<std::vector<Cidr>> parse_sources(const Reader& r, const Field& f) {
  auto cidrs = r.cidrs(f);
  if (cidrs && cidrs->empty()) {
    r.error(f, "at least one CIDR is required");
    return std::nullopt;
  }
  return cidrs;
}

void parse_trunk(const Reader& r, const std::string& name, const Field& entry, TrunkDraft& d) {
  d.trunk.name = name;
  d.trunk.loc = entry.key_loc;
  d.path = entry.path;
  const auto m = r.map(entry, kTrunkKeys);
  if (!m) {
    return;
  }
  if (const Field* f = r.require(*m, "realm", entry)) {
    d.realm_loc = f->loc;
    d.trunk.realm = r.string(*f).value_or("");
  }
  std::optional<asio::ip::address> host;
  if (const Field* f = r.require(*m, "host", entry)) {
    host = r.ip(*f);
    d.trunk.host = host ? host->to_string() : "";
  }
  parse_reachability(r, *m, entry, d.trunk, d.transport_loc, d.transport_given);
  if (const Field* f = find(*m, "sources")) {
    d.trunk.sources = parse_sources(r, *f).value_or(std::vector<Cidr>{});
  } else if (host) {
    // A trunk's requests come from the host we send to unless it says otherwise.
    d.trunk.sources = {Cidr{*host, host->is_v4() ? 32 : 128}};
  }
  if (const Field* f = find(*m, "register")) {
    parse_trunk_register(r, *f, d.trunk);  // after host and port: its defaults
  }
  if (const Field* f = find(*m, "auth")) {
    parse_trunk_auth(r, *f, d.trunk);
  }
  if (const Field* f = find(*m, "tls")) {
    parse_trunk_tls(r, *f, d.trunk.tls);
  }
}

void parse_peer(const Reader& r, const std::string& name, const Field& entry, PeerDraft& d) {
  d.peer.name = name;
  d.peer.loc = entry.key_loc;
  d.path = entry.path;
  const auto m = r.map(entry, kPeerKeys);
  if (!m) {
    return;
  }
  if (const Field* f = r.require(*m, "realm", entry)) {
    d.realm_loc = f->loc;
    d.peer.realm = r.string(*f).value_or("");
  }
  if (const Field* f = r.require(*m, "sources", entry)) {
    d.peer.sources = parse_sources(r, *f).value_or(std::vector<Cidr>{});
  }
  if (const Field* f = find(*m, "host")) {
    if (const auto ip = r.ip(*f)) {
      d.peer.host = ip->to_string();
    }
  }
  parse_reachability(r, *m, entry, d.peer, d.transport_loc, d.transport_given);
  if (const Field* f = find(*m, "auth")) {
    d.auth_loc = f->loc;
    if (const auto a = r.string(*f); a && (*a == "none" || *a == "digest")) {
      d.peer.auth = *a == "digest" ? AccessPeer::Auth::Digest : AccessPeer::Auth::None;
    } else if (a) {
      r.error(*f, quote(*a) + " is not an authentication (none or digest)");
    }
  }
}

}  // namespace

void parse_realms(const Reader& r, const Field& f, PolicyDraft& draft) {
  for_each_named(r, f, "realm", draft.realms, [&](const std::string& name, const Field& entry) {
    RealmDraft& d = draft.realms[name];
    d.path = entry.path;
    parse_realm(r, name, entry, d);
  });
}

void parse_trunks(const Reader& r, const Field& f, PolicyDraft& draft) {
  for_each_named(r, f, "trunk", draft.trunks, [&](const std::string& name, const Field& entry) {
    parse_trunk(r, name, entry, draft.trunks[name]);
  });
}

void parse_access_peers(const Reader& r, const Field& f, PolicyDraft& draft) {
  for_each_named(r, f, "access peer", draft.peers,
                 [&](const std::string& name, const Field& entry) {
                   parse_peer(r, name, entry, draft.peers[name]);
                 });
}

}  // namespace portico::policy::detail
