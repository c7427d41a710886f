#pragma once
// Private to the policy module. The loader works in three steps:
//   1. parse_document(): each file's YAML into a PolicyDraft (typed values plus the source
//      positions that later checks need to point at);
//   2. validate(): cross-references and conflicts over the merged draft;
//   3. the loader moves the draft's typed values into an immutable PolicySnapshot.
// Each step reports into the same Diagnostics, so one run shows every problem.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "yaml_reader.hpp"

namespace portico::policy::detail {

struct RealmDraft {
  Realm realm;
  std::string path;                         // "realms.access"
  std::vector<std::string> listener_paths;  // parallel to realm.listeners
};

struct TrunkDraft {
  Trunk trunk;
  std::string path;
  SourceLoc realm_loc;
  SourceLoc transport_loc;  // the trunk's own position when transport is defaulted
  bool transport_given = false;
};

struct PeerDraft {
  AccessPeer peer;
  std::string path;
  SourceLoc realm_loc;
  SourceLoc transport_loc;
  bool transport_given = false;
  SourceLoc auth_loc;
};

struct RouteDraft {
  Route route;
  std::string path;  // "routes[3]", numbered across all files in load order
  SourceLoc name_loc;
  SourceLoc realm_loc;
  SourceLoc peer_loc;
  std::vector<std::string> target_paths;  // parallel to route.targets: "routes[0].targets[1].peer"
};

/// Everything read so far, merged across files.
struct PolicyDraft {
  // Where each single-file section was given, to report a second one.
  std::optional<SourceLoc> server_at;
  std::optional<SourceLoc> timers_at;
  std::optional<SourceLoc> headers_at;
  std::optional<SourceLoc> metrics_at;
  MetricsConfig metrics;
  std::optional<SourceLoc> cdr_at;
  CdrConfig cdr;
  std::optional<SourceLoc> traces_at;
  TraceConfig traces;
  std::optional<SourceLoc> registration_at;
  RegistrationConfig registration;
  std::optional<SourceLoc> rate_limits_at;
  RateLimits rate_limits;
  std::optional<SourceLoc> ingress_at;
  Ingress ingress;
  SourceLoc registration_realm_loc;  // for reference errors found after every file is read
  SourceLoc registrar_loc;
  Server server;
  Timers timers;
  std::optional<SourceLoc> limits_at;
  Limits limits;
  HeaderRules headers;
  std::map<std::string, RealmDraft> realms;  // by name: snapshot vectors come out in name order
  std::map<std::string, TrunkDraft> trunks;
  std::map<std::string, PeerDraft> peers;
  std::vector<RouteDraft> routes;  // file order
};

/// Reads one file's top-level document into `draft`.
/// The keys of a name-keyed map, for "(known: a, b)" hints in diagnostics.
template <class Map>
std::vector<std::string> names_of(const Map& m) {
  std::vector<std::string> out;
  for (const auto& [name, unused] : m) {
    out.push_back(name);
  }
  return out;
}

void parse_document(const Reader& r, const YAML::Node& doc, PolicyDraft& draft);
/// "udp://127.0.0.1:5060" as a protocol and an address:port; reported and nullopt if it is not
/// one (peers.cpp).
std::optional<Listener> parse_listener(const Reader& r, const Field& f);
/// Reads the `traces` section (traces.cpp).
void parse_traces(const Reader& r, const Field& f, TraceConfig& out);
/// Reads the `ingress` section (ingress.cpp).
void parse_ingress(const Reader& r, const Field& f, Ingress& out);
/// Reads `realms.<name>.tls` and `trunks.<name>.tls`; checks their files (tls.cpp).
void parse_realm_tls(const Reader& r, const Field& f, RealmTls& out);
void parse_trunk_tls(const Reader& r, const Field& f, TrunkTls& out);
/// TLS cross-checks: tls listeners have a realm tls block, trunk tls blocks a tls transport.
void check_tls(const PolicyDraft& draft, Diagnostics& diags);
/// Reads `realms.<name>.media` (media.cpp).
void parse_realm_media(const Reader& r, const Field& f, RealmMedia& out);
/// Reads `media_security` and `srtp_suites` of a realm, trunk or access peer
/// (media_security.cpp).
void parse_media_security(const Reader& r, const FieldMap& m, MediaSecuritySetting& out);

// Section readers (sections.cpp, peers.cpp, routes.cpp).
void parse_server(const Reader& r, const Field& f, Server& out);
void parse_timers(const Reader& r, const Field& f, Timers& out);
void parse_headers(const Reader& r, const Field& f, HeaderRules& out);
void parse_metrics(const Reader& r, const Field& f, MetricsConfig& out);
void parse_cdr(const Reader& r, const Field& f, CdrConfig& out);
/// Reads the `limits` section (limits.cpp).
void parse_limits(const Reader& r, const Field& f, Limits& out);
/// Reads the `registration` section (registration.cpp).
void parse_registration(const Reader& r, const Field& f, PolicyDraft& draft);
/// Reads the `rate_limits` section (rate_limits.cpp).
void parse_rate_limits(const Reader& r, const Field& f, RateLimits& out);
/// The session limits of a trunk or access peer entry (session_limits.cpp).
void parse_session_limits(const Reader& r, const FieldMap& m, SessionLimits& out);
void parse_realms(const Reader& r, const Field& f, PolicyDraft& draft);
void parse_trunks(const Reader& r, const Field& f, PolicyDraft& draft);
void parse_access_peers(const Reader& r, const Field& f, PolicyDraft& draft);
void parse_routes(const Reader& r, const Field& f, PolicyDraft& draft);
/// `trunks.<name>.register` and `.auth`, after the trunk's host and port (trunk_registration.cpp).
void parse_trunk_register(const Reader& r, const Field& f, Trunk& trunk);
void parse_trunk_auth(const Reader& r, const Field& f, Trunk& trunk);

/// Reads `registration.users_file` into out.users (users_file.cpp); errors name file:line.
void read_users_file(const Reader& r, const Field& f, RegistrationConfig& out);
/// The registration section's references: its realm and registrar (registration.cpp).
void check_registration(const PolicyDraft& draft, Diagnostics& diags);

/// A route's references: unique name, known realm/peer/targets (route_checks.cpp).
void check_routes(const PolicyDraft& draft, Diagnostics& diags);

/// Cross-reference and conflict checks over the merged draft. `first_file` is where a policy
/// with no realms at all is reported.
void validate(const PolicyDraft& draft, const std::string& first_file, Diagnostics& diags);

}  // namespace portico::policy::detail
