#pragma once
// Policy decides, the B2BUA executes: match() turns an inbound dialog-creating request into a
// CallPlan (a plain value) or a Reject. Pure function of (snapshot, request facts).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "portico/policy/model.hpp"

namespace portico::policy {

/// What the matcher needs to know about a request.
struct RequestFacts {
  std::string realm;                 // realm of the listener it arrived on
  asio::ip::address source;          // observed source address
  std::string ruri_user;             // Request-URI user part (may be empty)
};

/// One next hop, fully resolved.
struct ResolvedTarget {
  PeerKind kind = PeerKind::Trunk;
  std::string name;
  std::string realm;
  Endpoint remote;
  Protocol transport = Protocol::Udp;
  int max_calls = 0;                 // 0 = unlimited
  // A Registered target names only its realm here; the B2BUA fills these from the user's
  // binding when it places the call (and `remote`/`transport` from the binding's flow).
  ConnectionRef connection;          // the stream connection the binding came in on
  std::string request_uri;           // the registered Contact URI; empty = sip:user@remote
  std::string to_uri;                // To header value; empty = <sip:user@remote host>
};

struct CallPlan {
  std::shared_ptr<const PolicySnapshot> policy;  // the snapshot the call keeps for its life
  std::string route;                 // route name
  std::string source_peer;           // trunk / access peer the request came from
  std::string ruri_user;             // after number rewrite
  std::vector<ResolvedTarget> targets;
};

struct Reject {
  int status = 403;
  std::string reason;                // stable token: "unknown_source", "no_route"
  std::string detail;                // human sentence, logged
};

/// Longest Request-URI user a route regex (match.user_regex, rewrite.regex) is run on. libstdc++'s
/// std::regex recurses once per character and overflows the stack on user parts tens of
/// kilobytes long, which a peer controls; real numbers and user names are far shorter. A longer
/// user never matches a user_regex and is not regex-rewritten.
inline constexpr std::size_t kMaxRegexUserLength = 256;

/// Which trunk or access peer on `realm` the address belongs to (first match), or empty.
/// A trunk whose policy names TLS peer identities (`tls.peer_names`) matches only a request
/// that came over TLS with a client certificate naming one of them: `tls_names` are those
/// names (transport::TlsInfo::peer_names), null when the request did not come over TLS.
std::string identify_source(const PolicySnapshot& policy, const std::string& realm,
                            const asio::ip::address& source,
                            const std::vector<std::string>* tls_names);
inline std::string identify_source(const PolicySnapshot& policy, const std::string& realm,
                                   const asio::ip::address& source) {
  return identify_source(policy, realm, source, nullptr);
}

/// The refusal of a request whose source is no trunk or access peer on `realm`: 403
/// "unknown_source", with the address and realm in its detail.
Reject unknown_source(const std::string& realm, const asio::ip::address& source);

/// Unknown source -> 403 "unknown_source"; no route matches -> 404 "no_route".
std::variant<CallPlan, Reject> match(const std::shared_ptr<const PolicySnapshot>& policy,
                                     const RequestFacts& facts);

/// Applies a route's number rewrite to a user part.
std::string rewrite_user(const NumberRewrite& rw, const std::string& user);

}  // namespace portico::policy
