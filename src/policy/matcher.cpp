// The matcher: which peer sent a request, which route takes it, where the call goes. A pure
// function of (snapshot, facts) with no I/O and no locks, so any shard may call it.

#include "portico/policy/matcher.hpp"

#include <algorithm>

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
  return !r.user_regex || std::regex_match(facts.ruri_user, *r.user_regex);
}

// Hosts were validated as IP literals at load time, so make_address cannot fail here; the
// error_code overload keeps this path free of exceptions all the same.
transport::Endpoint endpoint_of(const std::string& host, std::uint16_t port) {
  asio::error_code ec;
  return transport::Endpoint{asio::ip::make_address(host, ec), port};
}

ResolvedTarget resolve(const PolicySnapshot& policy, const RouteTarget& t) {
  ResolvedTarget out;
  out.kind = t.kind;
  out.name = t.name;
  if (t.kind == PeerKind::Trunk) {
    const Trunk* trunk = policy.find_trunk(t.name);
    out.realm = trunk->realm;
    out.remote = endpoint_of(trunk->host, trunk->port);
    out.transport = trunk->transport;
    out.max_calls = trunk->max_calls;
  } else {
    const AccessPeer* peer = policy.find_access_peer(t.name);
    out.realm = peer->realm;
    out.remote = endpoint_of(peer->host.value_or(""), peer->port);
    out.transport = peer->transport;
    out.max_calls = peer->max_calls;
  }
  return out;
}

}  // namespace

std::string identify_source(const PolicySnapshot& policy, const std::string& realm,
                            const asio::ip::address& source) {
  // Trunks first: a carrier's signalling addresses are exact, while access peers often cover
  // whole subnets that a trunk's address may fall inside.
  for (const auto& t : policy.trunks) {
    if (t.realm == realm && any_contains(t.sources, source)) {
      return t.name;
    }
  }
  for (const auto& p : policy.access_peers) {
    if (p.realm == realm && any_contains(p.sources, source)) {
      return p.name;
    }
  }
  return {};
}

std::variant<CallPlan, Reject> match(const std::shared_ptr<const PolicySnapshot>& policy,
                                     const RequestFacts& facts) {
  const std::string source = identify_source(*policy, facts.realm, facts.source);
  if (source.empty()) {
    return Reject{403, "unknown_source",
                  "source " + facts.source.to_string() + " on realm \"" + facts.realm +
                      "\" is no trunk or access peer"};
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
      plan.targets.push_back(resolve(*policy, t));
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
  if (rw.regex && std::regex_search(out, *rw.regex)) {
    out = std::regex_replace(out, *rw.regex, rw.replace, std::regex_constants::format_first_only);
  }
  const auto strip = static_cast<std::size_t>(std::max(rw.strip_digits, 0));
  out.erase(0, std::min(strip, out.size()));
  return rw.prepend + out;
}

}  // namespace portico::policy
