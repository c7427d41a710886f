#pragma once
// The typed policy model: what `policies/*.yaml` say, validated and compiled into an immutable
// PolicySnapshot. No stringly-typed value survives past loading: ports are numbers, CIDRs are
// parsed, regexes compiled, durations in milliseconds, and references (a route naming a trunk)
// are checked. Shared between shards as shared_ptr<const PolicySnapshot>.

#include <asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "portico/common/endpoint.hpp"
#include "portico/common/result.hpp"
#include "portico/common/srtp_suite.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/common/token_bucket.hpp"

namespace portico::policy {

/// Where a value came from, for diagnostics. Kept on every object that can be named in an error.
struct SourceLoc {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

struct Cidr {
  asio::ip::address network;
  int prefix = 0;
  bool contains(const asio::ip::address& a) const;
  std::string to_string() const;
};

/// Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (taken as /32 or /128). Host bits
/// set below the prefix are an error, so a typo cannot silently widen a rule. Any thread.
Result<Cidr> parse_cidr(std::string_view text);

/// Parses a duration with a unit: "500ms", "4s", "2m", "4h", "7d". A bare number is an error. Any
/// thread.
Result<Millis> parse_duration(std::string_view text);

struct Listener {
  Protocol protocol = Protocol::Udp;
  Endpoint bind;  // "udp://127.0.0.1:5060", "tcp://[::1]:5060"
  SourceLoc loc;
};

/// Media anchoring on one realm (policy `realms.<name>.media`): where Portico's RTP/RTCP sockets
/// bind and how it treats the peers' media there. A call is anchored only when both of its
/// realms have a media section; otherwise its SDP is relayed unchanged.
struct RealmMedia {
  bool enabled = false;
  asio::ip::address address;        // RTP/RTCP sockets bind here
  std::string advertised_address;   // what the SDP toward this realm says; empty = address
  std::uint16_t port_min = 20000;   // inclusive, even: RTP even, RTCP odd (RFC 3550 §11)
  std::uint16_t port_max = 29999;   // inclusive
  bool nat = false;                 // peers sit behind NAT: latch onto where their RTP comes
                                    // from (RFC 7362), expected from the SIP source address
  bool latch_any_ip = false;        // with nat: latch onto any source address, not only the
                                    // signalling peer's
  /// Where this realm's SDP may point media (c= addresses). Empty = the built-in rule:
  /// anywhere but multicast, broadcast and, unless `address` is loopback, loopback (see
  /// media_address_allowed). An SDP naming another address is refused with 488.
  std::vector<Cidr> allowed_networks;
  /// Without nat: packets are accepted only from the SDP address (true: and its port too,
  /// for peers known to send symmetric RTP, RFC 4961).
  bool strict_source_port = false;
  SourceLoc loc;
};

/// Whether media may be sent to `a` under `m`'s allowed_networks (any thread).
bool media_address_allowed(const RealmMedia& m, const asio::ip::address& a);

/// Media security of a leg (policy `media_security`, docs/policies.md#media-security): plain
/// RTP, SRTP with SDES keys (RFC 4568), or SRTP offered best effort and either answer accepted.
enum class MediaSecurity : std::uint8_t { Rtp, Srtp, Optional };
std::string_view to_string(MediaSecurity m);

/// `media_security` and `srtp_suites` as one realm, trunk or access peer gives them; unset
/// fields inherit (peer, then realm, then the default of the leg's transport).
struct MediaSecuritySetting {
  std::optional<MediaSecurity> mode;
  std::vector<SrtpSuite> suites;  // preference order; empty = inherit
};

/// The conservative TLS 1.2 cipher list used unless a `tls.ciphers` says otherwise: forward
/// secrecy and AEAD only (TLS 1.3 suites are OpenSSL's, all AEAD).
inline constexpr const char* kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// What both ends of a TLS link share in policy: protocol floor, ciphers, handshake bound.
struct TlsCommon {
  int min_version = 12;  // 12 = TLS 1.2, 13 = TLS 1.3 (1.3 is always preferred when offered)
  std::string ciphers = kDefaultTlsCiphers;
  Millis handshake_timeout{std::chrono::seconds(5)};
};

/// `realms.<name>.tls`: the server side of the realm's tls:// listeners (docs/tls.md). Paths
/// are absolute (relative ones are taken from the policy file's directory) and were checked
/// readable, and the key to match the certificate, when the policy was loaded.
struct RealmTls {
  bool enabled = false;
  std::string certificate;  // PEM: the server certificate, then its chain
  std::string private_key;  // PEM
  std::string ca_file;      // CAs trusted for client certificates; empty = the system store
  enum class VerifyClient { None, Optional, Required } verify_client = VerifyClient::None;
  TlsCommon common;
  SourceLoc loc;
};

/// `trunks.<name>.tls`: how Portico connects to (and recognises) a TLS trunk.
struct TrunkTls {
  bool given = false;       // a tls block was written (else defaults apply)
  std::string server_name;  // SNI and the name verified; empty = the host's IP is verified
  std::string ca_file;      // CAs trusted for the trunk's certificate; empty = the system store
  bool verify = true;       // verify the trunk's certificate chain and name
  std::string certificate;  // client certificate for mutual TLS (with private_key); optional
  std::string private_key;
  std::vector<std::string> alpn;        // offered ALPN protocols, e.g. ["sip/2"]; none by default
  std::vector<std::string> peer_names;  // inbound: a request on a TLS connection is the trunk's
                                        // only if the client certificate names one of these
  TlsCommon common;
  SourceLoc loc;
};

struct Realm {
  std::string name;
  std::vector<Listener> listeners;
  std::string advertised_address;  // host Portico puts in Via/Contact on this realm; empty =
                                   // each listener's bind address
  RealmMedia media;
  MediaSecuritySetting security;  // media_security, srtp_suites
  RealmTls tls;
  SourceLoc loc;
};

/// What a route target (or a source) names. Registered only appears in route targets: the
/// Request-URI user is looked up among the registrations of the realm the target names.
enum class PeerKind { Trunk, AccessPeer, Registered };

/// Oracle-style session-agent limits of one trunk or access peer, per direction ("in": calls
/// from it, "out": calls to it). 0 = unlimited throughout. See docs/policies.md#session-limits.
struct SessionLimits {
  int max_calls_in = 0;         // concurrent calls from it (max_calls stays the total)
  int max_calls_out = 0;        // concurrent calls to it
  std::uint32_t cps_in = 0;     // new calls per second from it; over: 503 + Retry-After
  std::uint32_t cps_out = 0;    // new calls per second to it; over: queued (paced)
  std::uint32_t cps_burst = 1;  // calls that may come back to back, both directions
  Millis pacing_wait{2000};     // longest an outbound call waits for its turn
  int pacing_queue = 50;        // calls waiting for one target, all shards together
  RateSpec in_rate() const { return RateSpec::per_second(cps_in, cps_burst); }
  RateSpec out_rate() const { return RateSpec::per_second(cps_out, cps_burst); }
};

/// A SIP trunk on the carrier side (or any next hop reached by host:port).
/// What Portico answers a digest challenge with (RFC 7616 as a client). The password is read
/// from a file or an environment variable when the policy loads, never written in the policy;
/// it is held only here and never logged.
struct DigestSecret {
  std::string username;
  std::string password;
  std::string realm;   // answer only challenges of this realm; empty: any
  std::string origin;  // "password_file /path" or "password_env NAME", for logs
};

/// `trunks.<name>.register`: Portico registers itself to the trunk (RFC 3261 §10) as a peer.
struct TrunkRegistration {
  std::string registrar_host;  // IP literal; default: the trunk's host
  std::uint16_t registrar_port = 5060;
  std::string aor;  // "sip:user@domain"; default sip:<username>@<trunk host>
  DigestSecret credentials;
  Millis expires{std::chrono::hours(1)};
  Millis retry_min{std::chrono::seconds(5)};
  Millis retry_max{std::chrono::minutes(5)};
  SourceLoc loc;
};

struct Trunk {
  std::string name;
  std::string realm;
  std::string host;                 // IP literal (DNS names come with a later issue)
  std::uint16_t port = 5060;
  Protocol transport = Protocol::Udp;
  int max_calls = 0;                // concurrent calls, 0 = unlimited
  std::vector<Cidr> sources;        // where its requests come from; default host/32
  SessionLimits limits;
  bool trusted = false;  // RFC 3325 trust domain: its identity headers pass
  std::optional<TrunkRegistration> registration;  // `register:`
  /// `auth:` what Portico answers the trunk's 401/407 on calls with; default: the `register`
  /// block's credentials. Neither: challenges on calls fail as before.
  std::optional<DigestSecret> auth;
  MediaSecuritySetting security;  // media_security, srtp_suites
  TrunkTls tls;
  SourceLoc loc;
};

/// A PBX, phone or Voice-AI app on the access side, identified by source address.
struct AccessPeer {
  std::string name;
  std::string realm;
  std::vector<Cidr> sources;
  std::optional<std::string> host;  // static address for calls routed to it
  std::uint16_t port = 5060;
  Protocol transport = Protocol::Udp;
  int max_calls = 0;
  SessionLimits limits;
  /// How its requests are trusted. None: its source address is enough. Digest: every
  /// out-of-dialog request must also carry digest credentials from the registration users file
  /// (RFC 7616; challenged with 407), so its sources may be wide (roaming phones).
  enum class Auth { None, Digest } auth = Auth::None;
  bool trusted = false;           // RFC 3325 trust domain: its identity headers pass
  MediaSecuritySetting security;  // media_security, srtp_suites
  SourceLoc loc;
};

struct RouteTarget {
  PeerKind kind = PeerKind::Trunk;
  std::string name;                 // trunk or access peer; for Registered, the realm
  SourceLoc loc;
};

struct NumberRewrite {
  int strip_digits = 0;             // remove this many leading characters of the user part
  std::string prepend;              // then prepend this
  std::optional<std::regex> regex;  // or: replace the user part by regex ...
  std::string regex_text;
  std::string replace;              // ... with this format ($1, $2)
};

struct Route {
  std::string name;
  // match (all given conditions must hold)
  std::optional<std::string> from_realm;
  std::optional<std::string> from_peer;      // trunk or access peer name
  std::optional<std::string> user_prefix;    // Request-URI user starts with
  std::optional<std::regex> user_regex;      // Request-URI user matches (whole)
  std::string user_regex_text;
  NumberRewrite rewrite;
  std::vector<RouteTarget> targets;          // tried in order; failover on 408/5xx/503
  SourceLoc loc;
};

struct Timers {
  Millis t1{500};
  Millis t2{4000};
  Millis t4{5000};
  Millis max_call_duration{std::chrono::hours(4)};
  Millis tcp_idle_timeout{std::chrono::seconds(120)};
  Millis media_timeout{std::chrono::seconds(60)};  // no RTP either way (hold excluded) ends
                                                   // the call; 0 = never
  Millis drain_timeout{std::chrono::seconds(30)};  // SIGTERM: calls in progress may finish for
                                                   // this long; 0 = end them at once
  // RFC 3261 §16.6 Timer C: B's INVITE with no final and no provisional for this long is
  // CANCELled on B and answered 408 on A (a provisional restarts it). More than 3 minutes.
  Millis timer_c{std::chrono::seconds(180)};
  Millis max_ringing{std::chrono::minutes(5)};  // an unanswered call ends (408) after this,
                                                // provisionals or not
};

/// Caps on what senders can make Portico hold (policy `limits`); 0 = no cap. The transaction
/// and call caps are shared equally among the shards (each enforces its share); over a cap a
/// request gets a stateless 503 with Retry-After (src/policy/limits.cpp documents each).
struct Limits {
  std::size_t max_server_transactions = 50000;
  std::size_t max_server_transactions_per_source = 10000;
  std::size_t max_pending_invites = 10000;  // INVITEs not yet answered with a final
  std::size_t max_pending_invites_per_source = 2000;
  std::size_t max_calls = 20000;            // calls in progress, all peers together
  std::size_t max_calls_per_source = 5000;  // calls in progress from one source IP address
  std::size_t max_media_streams = 8;        // m= lines per offer; more: 488
  int retry_after = 5;                      // seconds, in every 503 a cap sends
};

struct HeaderRules {
  /// Headers copied from one leg to the other (case-insensitive). Everything else is dropped.
  std::vector<std::string> pass{"P-Asserted-Identity", "P-Preferred-Identity", "Privacy",
                                "Diversion", "History-Info", "Identity", "Reason",
                                "Subject", "Priority", "Organization"};
  bool pass_user_agent = false;     // relay User-Agent / Server of the other leg
  std::string server_name;          // Portico's own User-Agent/Server value; empty = none sent
  bool expose_version = false;      // append "/<version>" to server_name
  bool relay_reason_phrases = false;  // false: the standard phrase replaces the other leg's
  // What may cross to the other realm (bytes). A longer display name is truncated (or, with
  // on_too_long: refuse, refused 400); a longer passed header is dropped (refused 400); a
  // longer URI is refused 414/400, a longer body 413.
  std::size_t max_display_name = 128;
  std::size_t max_uri = 1024;
  std::size_t max_header_value = 2048;  // a STIR/SHAKEN Identity header is ~1 KB
  std::size_t max_body = 16384;
  bool refuse_too_long = false;  // on_too_long: refuse (true) | truncate (false)
};

/// RFC 3325 identity headers (P-Asserted-Identity and its kin, Diversion, Remote-Party-ID):
/// they cross only from peers marked `trusted`.
bool is_identity_header(std::string_view name);

/// What Portico calls itself in Server/User-Agent: server_name, "/<version>" with
/// expose_version; empty (no header) when server_name is empty.
std::string product_token(const HeaderRules& h, std::string_view version);

struct Server {
  int shards = 0;                   // 0 = one per CPU
  std::string log_level = "info";
  bool trace = false;               // log every SIP message in full
  std::size_t max_message_size = 65535;
  /// How the media relay reads and writes: "auto" (the default: io_uring where the kernel
  /// allows it, else epoll), "io_uring" (the shard sleeps in the ring; start-up fails where the
  /// kernel refuses it), or "epoll" (recvmmsg/sendmmsg per ready socket). io_uring measured
  /// cheaper per packet, docs/performance.md. Read at start-up only.
  std::string media_io = "auto";
  /// Each shard thread stays on one CPU of those the process may use (shard i on the i-th,
  /// wrapping). Read at start-up only.
  bool pin_shards = true;
  /// How many shards relay media: shard i's calls are relayed on shard i % media_shards, so
  /// fewer threads wake per burst of packets. 0 = half the shards, rounded up. Read at start-up.
  int media_shards = 0;
};

/// Where Prometheus scrapes /metrics. Absent section = no metrics endpoint.
struct MetricsConfig {
  bool enabled = false;
  asio::ip::address address = asio::ip::make_address("127.0.0.1");
  std::uint16_t port = 9090;
  SourceLoc loc;
};

/// Where Call Detail Records go (one JSON object per line). Absent section = no CDRs.
struct CdrConfig {
  bool enabled = false;
  std::string path;
  std::uint64_t max_size = 0;  // bytes; the file is rotated when it reaches this; 0 = never
  int keep = 10;               // rotated files kept: path.1 (newest) .. path.<keep>
  SourceLoc loc;
};

/// Per-call SIP traces (policy `traces`): a pcap file per call in `directory`, and/or every
/// SIP message sent to a Homer collector as HEPv3 over UDP. Absent section = neither.
/// Read at start-up (a change needs a restart, like the CDR path).
struct TraceConfig {
  bool pcap = false;                // `directory` given
  std::string directory;            // one <start>_<call>.pcap per call here
  std::size_t max_files = 10000;    // finished trace files kept; the oldest go first
  Millis max_age{std::chrono::hours(24 * 7)};  // older finished files are deleted; 0 = no limit
  bool hep = false;                 // `hep` given
  Endpoint hep_address;             // the collector (udp://host:port)
  std::uint32_t hep_id = 2001;      // capture agent id in every HEP packet
  std::string hep_password;         // HEP auth key chunk; empty = none sent
  SourceLoc loc;
};

/// One line of the registration users file: a user's HA1 hashes (RFC 7616 §3.4.2:
/// H(username ":" realm ":" password)), never the password. Lower-case hex; empty = absent.
struct DigestUser {
  std::string user;
  std::string domain;
  std::string realm;
  std::string ha1_md5;
  std::string ha1_sha256;
};

/// REGISTER handling (policy `registration`): endpoints on `realm` register through Portico,
/// which keeps their binding (the flow their REGISTER came from) and relays the registration to
/// `registrar` with its own Contact. Absent section = REGISTER is answered 405 as before.
struct RegistrationConfig {
  bool enabled = false;
  std::string realm;                // REGISTER is accepted here, from its known access peers
  std::string registrar;            // trunk or access peer (with host); empty = Portico answers
  PeerKind registrar_kind = PeerKind::Trunk;
  Millis client_expires{std::chrono::seconds(60)};     // granted to the client (NAT pinhole)
  Millis upstream_expires{std::chrono::seconds(3600)}; // asked of the registrar
  Millis options_ping{0};           // OPTIONS to each registered contact this often; 0 = off
  int ping_failures = 3;            // consecutive unanswered pings: contact unreachable
  /// Domains served (lower case): a REGISTER's To host must be one of them. Empty = Portico's
  /// own domain, named by any IP literal (docs/policies.md#registration).
  std::vector<std::string> domains;
  std::size_t max_bindings = 10000;          // bindings held at once, all sources
  std::size_t max_bindings_per_source = 20;  // bindings registered from one source address
  /// Digest users (registration.users_file), by "user@domain"; empty file name = none.
  std::string users_file;
  std::map<std::string, DigestUser> users;
  /// Digest algorithms offered, one challenge each in this order ("SHA-256", "MD5").
  std::vector<std::string> digest_algorithms{"SHA-256", "MD5"};
  SourceLoc loc;
};

/// Per source address limits (policy `rate_limits`), applied before a message is parsed. Absent
/// section = none. See docs/policies.md#rate_limits.
struct RateLimits {
  bool enabled = false;
  std::uint32_t requests_per_second = 200;  // sustained, per source address and shard
  std::uint32_t burst = 400;                // back to back above the sustained rate
  std::uint32_t auth_failures = 10;         // failed authentications per auth_window
  Millis auth_window{std::chrono::seconds(60)};
  Millis ban_time{std::chrono::seconds(60)};  // 0 = no ban: only the excess is dropped
  std::uint32_t max_sources = 16384;          // sources tracked per shard; read at start-up
  std::vector<Cidr> allow;                    // never limited nor banned
  SourceLoc loc;
};

/// What an unidentified or unauthenticated sender can make Portico spend before any call
/// exists (policy `ingress`, docs/policies.md#ingress). Each bound is counted when it refuses.
struct Ingress {
  enum class UnknownSource { Reject, Drop };
  /// Header fields (and Via values) a message may carry; more are refused before the full
  /// parse (a stateless 513 to the source for a request, else dropped).
  std::size_t max_headers = 128;
  std::size_t max_vias = 16;
  /// A request from no trunk or access peer of its realm: one stateless 403 (Reject) or
  /// nothing (Drop); either way no transaction, no call, no CDR.
  UnknownSource unknown_source = UnknownSource::Reject;
  /// Open TCP connections, in all and per remote address. Shared out over the shards (each
  /// holds at most its share, rounded up); over it a new connection is closed at once.
  /// Read at start-up.
  std::size_t max_tcp_connections = 4096;
  std::size_t max_tcp_connections_per_source = 64;
  /// A TCP connection must deliver its first message, and finish any message it started,
  /// within this long, else it is closed (slowloris). Read at start-up.
  Millis tcp_message_deadline{std::chrono::seconds(10)};
  /// Bytes queued for writing on one TCP connection; over it the connection is closed (the
  /// peer does not read). Read at start-up.
  std::size_t tcp_max_queued_output = 1 << 20;
  SourceLoc loc;
};

/// The whole validated policy. Immutable once built.
struct PolicySnapshot {
  Server server;
  Timers timers;
  Limits limits;
  HeaderRules headers;
  MetricsConfig metrics;
  CdrConfig cdr;
  TraceConfig traces;
  RegistrationConfig registration;
  RateLimits rate_limits;
  Ingress ingress;
  std::vector<Realm> realms;
  std::vector<Trunk> trunks;
  std::vector<AccessPeer> access_peers;
  std::vector<Route> routes;        // first match wins, file order
  std::string hash;                 // hex digest of the source texts (metrics label later)

  const Realm* find_realm(const std::string& name) const;
  const Trunk* find_trunk(const std::string& name) const;
  const AccessPeer* find_access_peer(const std::string& name) const;
  /// The session limits of the trunk or access peer `name`, or null (a `registered` target).
  const SessionLimits* session_limits(const std::string& name) const;
};

/// What one leg's media uses, resolved: the most specific setting wins (trunk or access peer,
/// then realm, then default_media_security of the leg's signalling transport).
struct LegMediaSecurity {
  MediaSecurity mode = MediaSecurity::Rtp;
  std::vector<SrtpSuite> suites;  // never empty
};

/// The default when neither peer nor realm says: SRTP over TLS signalling (keys in SDP are
/// only as safe as the SIP that carries them), plain RTP otherwise.
MediaSecurity default_media_security(Protocol transport);
/// The default `srtp_suites`: all five, AES_CM_128_HMAC_SHA1_80 first (RFC 4568's mandatory one).
const std::vector<SrtpSuite>& default_srtp_suites();
/// The media security of a leg in `realm` with the trunk or access peer `peer` (empty or unknown:
/// realm only) whose signalling runs over `transport`. Any thread.
LegMediaSecurity media_security_for(const PolicySnapshot& policy, const std::string& realm,
                                    const std::string& peer, Protocol transport);

}  // namespace portico::policy
