// The matcher: which peer sent a request, which route takes it, where the call goes. A pure
// function of (snapshot, facts) with no I/O and no locks, so any shard may call it.

#include "portico/policy/matcher.hpp"

#include <algorithm>

#include "portico/common/strings.hpp"

namespace portico::policy {

namespace {

bool any_contains(const std::vector<Cidr>& cidrs, const asio::ip::address& a) {
  for (const auto& c : cidrs) {
    if (c.contains(a)) {
      return true;
    }
  }
  return false;
}

// Route regexes run on peer-controlled input on a shard thread, where nothing may throw or
// crash: bounded input length (see kMaxRegexUserLength) and any regex_error (libstdc++ reports
// runaway backtracking as error_complexity) count as "no match".
bool regex_full_match(const std::regex& re, const std::string& user) {
  if (user.size() > kMaxRegexUserLength) {
    return false;
  }
  try {
    return std::regex_match(user, re);
  } catch (const std::regex_error&) {
    return false;
  }
}

bool route_matches(const Route& r, const RequestFacts& facts, const std::string& source) {
  if (r.from_realm && *r.from_realm != facts.realm) {
    return false;
  }
  if (r.from_peer && *r.from_peer != source) {
    return false;
  }
  if (r.user_prefix && facts.ruri_user.compare(0, r.user_prefix->size(), *r.user_prefix) != 0) {
    return false;
  }
  return !r.user_regex || regex_full_match(*r.user_regex, facts.ruri_user);
}

// The loader guarantees that every target names an existing trunk, or an access peer with a
// host, and that hosts are IP literals. A snapshot built by hand (tests, future admin APIs) may
// not: such a target is left out of the plan rather than dereferenced, and make_address uses
// the error_code overload, so this shard-side path never throws.
std::optional<ResolvedTarget> resolve(const PolicySnapshot& policy, const RouteTarget& t) {
  ResolvedTarget out;
  out.kind = t.kind;
  out.name = t.name;
  std::string host;
  std::uint16_t port = 0;
  if (t.kind == PeerKind::Registered) {
    // Where the user is registered is shard state, not policy: the B2BUA resolves it.
    out.name = "registered:" + t.name;
    out.realm = t.name;
    return out;
  }
  if (t.kind == PeerKind::Trunk) {
    const Trunk* trunk = policy.find_trunk(t.name);
    if (trunk == nullptr) {
      return std::nullopt;
    }
    out.realm = trunk->realm;
    host = trunk->host;
    port = trunk->port;
    out.transport = trunk->transport;
    out.max_calls = trunk->max_calls;
  } else {
    const AccessPeer* peer = policy.find_access_peer(t.name);
    if (peer == nullptr || !peer->host) {
      return std::nullopt;
    }
    out.realm = peer->realm;
    host = *peer->host;
    port = peer->port;
    out.transport = peer->transport;
    out.max_calls = peer->max_calls;
  }
  asio::error_code ec;
  out.remote = Endpoint{asio::ip::make_address(host, ec), port};
  if (ec) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

namespace {

// RFC 5922 §7.4: a TLS peer is who its certificate says, checked against the names the policy
// expects; an address alone does not make a request the trunk's when the policy names them.
bool tls_identity_matches(const Trunk& t, const std::vector<std::string>* tls_names) {
  if (t.tls.peer_names.empty()) {
    return true;
  }
  if (tls_names == nullptr) {
    return false;
  }
  for (const auto& want : t.tls.peer_names) {
    for (const auto& have : *tls_names) {
      if (iequals(want, have)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string identify_source(const PolicySnapshot& policy, const std::string& realm,
                            const asio::ip::address& source,
                            const std::vector<std::string>* tls_names) {
  // Trunks first: a carrier's signalling addresses are exact, while access peers often cover
  // whole subnets that a trunk's address may fall inside.
  for (const auto& t : policy.trunks) {
    if (t.realm == realm && any_contains(t.sources, source) && tls_identity_matches(t, tls_names)) {
      return t.name;
    }
  }
  // Then peers trusted by address, before those that authenticate each request: an
  // `auth: digest` peer may cover the whole internet and must not swallow a PBX's subnet.
  for (const auto auth : {AccessPeer::Auth::None, AccessPeer::Auth::Digest}) {
    for (const auto& p : policy.access_peers) {
      if (p.auth == auth && p.realm == realm && any_contains(p.sources, source)) {
        return p.name;
      }
    }
  }
  return {};
}

Reject unknown_source(const std::string& realm, const asio::ip::address& source) {
  return Reject{
      403, "unknown_source",
      "source " + source.to_string() + " on realm \"" + realm + "\" is no trunk or access peer"};
}

std::variant<CallPlan, Reject> match(const std::shared_ptr<const PolicySnapshot>& policy,
                                     const RequestFacts& facts) {
  const std::string source = identify_source(*policy, facts.realm, facts.source);
  if (source.empty()) {
    return unknown_source(facts.realm, facts.source);
  }
  for (const auto& route : policy->routes) {
    if (!route_matches(route, facts, source)) {
      continue;
    }
    CallPlan plan;
    plan.policy = policy;
    plan.route = route.name;
    plan.source_peer = source;
    plan.ruri_user = rewrite_user(route.rewrite, facts.ruri_user);
    for (const auto& t : route.targets) {
      if (auto target = resolve(*policy, t)) {
        plan.targets.push_back(std::move(*target));
      }
    }
    return plan;
  }
  return Reject{404, "no_route",
                "no route takes user \"" + facts.ruri_user + "\" from \"" + source +
                    "\" on realm \"" + facts.realm + "\""};
}

std::string rewrite_user(const NumberRewrite& rw, const std::string& user) {
  std::string out = user;
  // Order: regex, then strip, then prepend, so "regex: ^00(.*)$ / replace: $1 / prepend: +"
  // reads left to right the way it is applied.
  if (rw.regex && out.size() <= kMaxRegexUserLength) {
    try {
      if (std::regex_search(out, *rw.regex)) {
        out =
            std::regex_replace(out, *rw.regex, rw.replace, std::regex_constants::format_first_only);
      }
    } catch (const std::regex_error&) {
      // Same rule as matching: a regex that fails at run time leaves the user unchanged.
    }
  }
  const auto strip = static_cast<std::size_t>(std::max(rw.strip_digits, 0));
  out.erase(0, std::min(strip, out.size()));
  return rw.prepend + out;
}

}  // namespace portico::policy
