// The metric tables (see metric_tables.hpp). Families with several rows share their help text.

#include "metric_tables.hpp"

namespace portico::runtime::metric_tables {
namespace {

// Help texts shared by several rows.
constexpr const char* kParseErrors = "Inbound messages rejected";
constexpr const char* kRetransmissions = "Retransmissions";
constexpr const char* kTxnTimeouts = "Transactions ended by timer";
constexpr const char* kTxnActive = "Open transactions";
constexpr const char* kCarried = "SIP messages carried";
constexpr const char* kTransportDropped = "Bytes refused by the transport";
constexpr const char* kMediaPackets = "RTP/RTCP packets relayed, by realm of the peer";
constexpr const char* kMediaBytes = "RTP/RTCP payload bytes relayed, by realm of the peer";
constexpr const char* kMediaDropped = "Media packets dropped, by reason";
constexpr const char* kLatch = "Symmetric RTP latching (RFC 7362)";
constexpr const char* kSrtpDropped = "SRTP/SRTCP packets dropped by the transform, by reason";
constexpr const char* kSrtpRefused =
    "Offers and answers refused (488) for their SDES crypto, by reason";
constexpr const char* kPings = "OPTIONS pings to registered contacts";
constexpr const char* kHep = "HEPv3 packets sent to the capture server";
constexpr const char* kTraceFiles = "Per-call pcap files finished";
constexpr const char* kTraceMessages = "SIP messages for per-call pcap files";
constexpr const char* kCdrRecords = "Call records";
constexpr const char* kLimited = "Session limits: INVITEs refused, targets skipped";
constexpr const char* kEdgeDropped = "SIP messages dropped unparsed by the source guard";
constexpr const char* kEdgeBans = "Source addresses banned (policy rate_limits)";
constexpr const char* kSipRefused = "Requests answered 503 statelessly at a limits cap";
constexpr const char* kCallsRefused = "New calls refused at a limits cap";
constexpr const char* kUnanswered = "Unanswered calls given up by a timer (408 to the caller)";
constexpr const char* kHeaderLimit =
    "Messages refused before the parse for too many header fields or Via values";
constexpr const char* kUnknownSource =
    "Requests from no trunk or access peer of their realm: one stateless 403, or nothing";
constexpr const char* kConnectionsDropped =
    "TCP connections closed by a policy ingress limit, by limit";
constexpr const char* kTooLong =
    "Values over a headers length limit (display name, URI, header, body)";

}  // namespace

// One row per metric; the rows are kept packed so a table reads as a list of metrics.
// clang-format off
const Table<b2bua::B2buaStats> kCallRows{
    {"portico_calls_attempted_total", "Dialog-creating INVITEs received", Type::Counter, {},
     &b2bua::B2buaStats::calls_attempted},
    {"portico_calls_answered_total", "Calls answered (2xx relayed)", Type::Counter, {},
     &b2bua::B2buaStats::calls_answered},
    {"portico_calls_failed_total", "Calls that ended with a final error response",
     Type::Counter, {}, &b2bua::B2buaStats::calls_failed},
    {"portico_calls_rejected_total", "Calls refused by policy before any target", Type::Counter,
     {}, &b2bua::B2buaStats::calls_rejected},
    {"portico_call_failovers_total", "Route targets abandoned for the next one", Type::Counter,
     {}, &b2bua::B2buaStats::failovers},
    {"portico_calls_timed_out_total", "Calls ended at max_call_duration", Type::Counter, {},
     &b2bua::B2buaStats::calls_timed_out},
    {"portico_sip_unknown_dialog_total", "In-dialog requests answered 481", Type::Counter, {},
     &b2bua::B2buaStats::unknown_dialog},
    {"portico_calls_limited_total", kLimited, Type::Counter, {{"reason", "inbound_call_limit"}},
     &b2bua::B2buaStats::limited_in_calls},
    {"portico_calls_limited_total", kLimited, Type::Counter, {{"reason", "inbound_cps_limit"}},
     &b2bua::B2buaStats::limited_in_cps},
    {"portico_calls_limited_total", kLimited, Type::Counter, {{"reason", "outbound_call_limit"}},
     &b2bua::B2buaStats::limited_out_calls},
    {"portico_calls_limited_total", kLimited, Type::Counter, {{"reason", "outbound_cps_limit"}},
     &b2bua::B2buaStats::limited_out_cps},
    {"portico_calls_paced_total", "INVITEs held for their turn on a target's cps_out",
     Type::Counter, {}, &b2bua::B2buaStats::calls_paced},
    {"portico_calls_limit_refusals_total", kCallsRefused, Type::Counter, {{"limit", "max_calls"}},
     &b2bua::B2buaStats::refused_max_calls},
    {"portico_calls_limit_refusals_total", kCallsRefused, Type::Counter,
     {{"limit", "peer_max_calls"}}, &b2bua::B2buaStats::refused_peer_max_calls},
    {"portico_calls_limit_refusals_total", kCallsRefused, Type::Counter,
     {{"limit", "max_calls_per_source"}}, &b2bua::B2buaStats::refused_source_max_calls},
    {"portico_calls_limit_refusals_total", kCallsRefused, Type::Counter,
     {{"limit", "max_media_streams"}}, &b2bua::B2buaStats::refused_media_streams},
    {"portico_sip_in_dialog_wrong_source_total",
     "In-dialog requests from outside the leg's peer, refused 403 (ACK: dropped)", Type::Counter,
     {}, &b2bua::B2buaStats::in_dialog_wrong_source},
    {"portico_calls_unanswered_timeouts_total", kUnanswered, Type::Counter, {{"timer", "timer_c"}},
     &b2bua::B2buaStats::timer_c_expired},
    {"portico_calls_unanswered_timeouts_total", kUnanswered, Type::Counter,
     {{"timer", "max_ringing"}}, &b2bua::B2buaStats::ringing_expired},
    {"portico_sip_identity_headers_removed_total",
     "Identity headers (P-Asserted-Identity, Diversion...) from untrusted peers, removed",
     Type::Counter, {}, &b2bua::B2buaStats::identity_removed},
    {"portico_sip_too_long_total", kTooLong, Type::Counter, {{"action", "truncated"}},
     &b2bua::B2buaStats::too_long_truncated},
    {"portico_sip_too_long_total", kTooLong, Type::Counter, {{"action", "dropped"}},
     &b2bua::B2buaStats::too_long_dropped},
    {"portico_sip_too_long_total", kTooLong, Type::Counter, {{"action", "refused"}},
     &b2bua::B2buaStats::too_long_refused},
};

const Table<ShardSnapshot> kSnapshotRows{
    {"portico_calls_active", "Calls in progress", Type::Gauge, {}, &ShardSnapshot::calls_active},
    {"portico_sip_transactions_active", kTxnActive, Type::Gauge, {{"side", "server"}},
     &ShardSnapshot::server_txns},
    {"portico_sip_transactions_active", kTxnActive, Type::Gauge, {{"side", "client"}},
     &ShardSnapshot::client_txns},
    {"portico_transport_connections_active", "Open TCP connections", Type::Gauge, {},
     &ShardSnapshot::connections},
    {"portico_log_suppressed_total", "Per-packet log lines held back by the rate limit",
     Type::Counter, {}, &ShardSnapshot::log_suppressed},
};

const Table<InboundStats> kInboundRows{
    {"portico_sip_messages_received_total", "SIP messages received", Type::Counter, {},
     &InboundStats::messages},
    {"portico_sip_parse_errors_total", kParseErrors, Type::Counter, {{"reason", "unparseable"}},
     &InboundStats::unparseable},
    {"portico_sip_parse_errors_total", kParseErrors, Type::Counter, {{"reason", "invalid"}},
     &InboundStats::invalid},
    {nullptr, nullptr, Type::Counter, {}, &InboundStats::dropped},  // in portico_sip_dropped_total
    {"portico_sip_header_limit_total", kHeaderLimit, Type::Counter, {{"limit", "max_headers"}},
     &InboundStats::too_many_headers},
    {"portico_sip_header_limit_total", kHeaderLimit, Type::Counter, {{"limit", "max_vias"}},
     &InboundStats::too_many_vias},
    {"portico_sip_unknown_source_total", kUnknownSource, Type::Counter, {{"action", "rejected"}},
     &InboundStats::unknown_source_rejected},
    {"portico_sip_unknown_source_total", kUnknownSource, Type::Counter, {{"action", "dropped"}},
     &InboundStats::unknown_source_dropped},
};

const Table<sip::TransactionStats> kTransactionRows{
    {"portico_sip_retransmissions_total", kRetransmissions, Type::Counter, {{"direction", "out"}},
     &sip::TransactionStats::retransmissions_sent},
    {"portico_sip_retransmissions_total", kRetransmissions, Type::Counter, {{"direction", "in"}},
     &sip::TransactionStats::retransmissions_absorbed},
    {"portico_sip_transaction_timeouts_total", kTxnTimeouts, Type::Counter, {{"side", "client"}},
     &sip::TransactionStats::client_timeouts},
    {"portico_sip_transaction_timeouts_total", kTxnTimeouts, Type::Counter, {{"side", "server"}},
     &sip::TransactionStats::server_timeouts},
    {"portico_sip_responses_wrong_source_total",
     "Responses matching a client transaction's branch from another flow than its request's, "
     "dropped", Type::Counter, {}, &sip::TransactionStats::responses_wrong_source},
    {"portico_sip_limit_refusals_total", kSipRefused, Type::Counter,
     {{"limit", "max_server_transactions"}}, &sip::TransactionStats::refused_transactions},
    {"portico_sip_limit_refusals_total", kSipRefused, Type::Counter,
     {{"limit", "max_server_transactions_per_source"}},
     &sip::TransactionStats::refused_source_transactions},
    {"portico_sip_limit_refusals_total", kSipRefused, Type::Counter,
     {{"limit", "max_pending_invites"}}, &sip::TransactionStats::refused_invites},
    {"portico_sip_limit_refusals_total", kSipRefused, Type::Counter,
     {{"limit", "max_pending_invites_per_source"}},
     &sip::TransactionStats::refused_source_invites},
};

constexpr const char* kTlsFailed =
    "TLS handshakes that failed, by reason (expired, unknown_ca, name_mismatch, "
    "no_client_certificate, handshake_timeout, protocol)";

const Table<transport::TransportStats> kTransportRows{
    {"portico_transport_messages_total", kCarried, Type::Counter,
     {{"transport", "udp"}, {"direction", "in"}}, &transport::TransportStats::datagrams_in},
    {"portico_transport_messages_total", kCarried, Type::Counter,
     {{"transport", "udp"}, {"direction", "out"}}, &transport::TransportStats::datagrams_out},
    {"portico_transport_messages_total", kCarried, Type::Counter,
     {{"transport", "tcp"}, {"direction", "in"}},
     &transport::TransportStats::stream_messages_in},
    {"portico_transport_messages_total", kCarried, Type::Counter,
     {{"transport", "tcp"}, {"direction", "out"}},
     &transport::TransportStats::stream_messages_out},
    {"portico_transport_dropped_total", kTransportDropped, Type::Counter,
     {{"reason", "oversize"}}, &transport::TransportStats::oversize_dropped},
    {"portico_transport_dropped_total", kTransportDropped, Type::Counter, {{"reason", "framing"}},
     &transport::TransportStats::framing_errors},
    {"portico_transport_send_errors_total", "Sends that failed", Type::Counter, {},
     &transport::TransportStats::send_errors},
    {"portico_transport_keepalives_total", "CRLF keepalives answered", Type::Counter, {},
     &transport::TransportStats::keepalives},
    {"portico_transport_connections_dropped_total", kConnectionsDropped, Type::Counter,
     {{"reason", "max_connections"}}, &transport::TransportStats::refused_max_connections},
    {"portico_transport_connections_dropped_total", kConnectionsDropped, Type::Counter,
     {{"reason", "max_connections_per_source"}},
     &transport::TransportStats::refused_max_per_source},
    {"portico_transport_connections_dropped_total", kConnectionsDropped, Type::Counter,
     {{"reason", "message_deadline"}}, &transport::TransportStats::message_deadline_closed},
    {"portico_transport_connections_dropped_total", kConnectionsDropped, Type::Counter,
     {{"reason", "output_queue"}}, &transport::TransportStats::output_queue_closed},
    {"portico_transport_tls_handshakes_total", "TLS handshakes completed", Type::Counter, {},
     &transport::TransportStats::tls_handshakes},
    {"portico_transport_tls_handshake_failures_total", kTlsFailed, Type::Counter,
     {{"reason", "expired"}}, &transport::TransportStats::tls_failed_expired},
    {"portico_transport_tls_handshake_failures_total", kTlsFailed, Type::Counter,
     {{"reason", "unknown_ca"}}, &transport::TransportStats::tls_failed_unknown_ca},
    {"portico_transport_tls_handshake_failures_total", kTlsFailed, Type::Counter,
     {{"reason", "name_mismatch"}}, &transport::TransportStats::tls_failed_name_mismatch},
    {"portico_transport_tls_handshake_failures_total", kTlsFailed, Type::Counter,
     {{"reason", "no_client_certificate"}},
     &transport::TransportStats::tls_failed_no_client_certificate},
    {"portico_transport_tls_handshake_failures_total", kTlsFailed, Type::Counter,
     {{"reason", "handshake_timeout"}}, &transport::TransportStats::tls_failed_handshake_timeout},
    {"portico_transport_tls_handshake_failures_total", kTlsFailed, Type::Counter,
     {{"reason", "protocol"}}, &transport::TransportStats::tls_failed_protocol},
};

/// Per realm: the realm label comes first, before the row's own.
const Table<b2bua::RealmMediaStats> kRealmMediaRows{
    {"portico_media_packets_total", kMediaPackets, Type::Counter, {{"direction", "in"}},
     &b2bua::RealmMediaStats::packets_received},
    {"portico_media_packets_total", kMediaPackets, Type::Counter, {{"direction", "out"}},
     &b2bua::RealmMediaStats::packets_sent},
    {"portico_media_bytes_total", kMediaBytes, Type::Counter, {{"direction", "in"}},
     &b2bua::RealmMediaStats::bytes_received},
    {"portico_media_bytes_total", kMediaBytes, Type::Counter, {{"direction", "out"}},
     &b2bua::RealmMediaStats::bytes_sent},
    {"portico_media_rtcp_reports_total",
     "RTCP reception report blocks (RFC 3550 6.4) sent by peers in this realm", Type::Counter,
     {}, &b2bua::RealmMediaStats::rtcp_reports},
};

const Table<media::RelayStats> kRelayRows{
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter,
     {{"reason", "no_destination"}}, &media::RelayStats::no_destination},
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter, {{"reason", "hijack"}},
     &media::RelayStats::hijack_dropped},
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter,
     {{"reason", "unexpected_source"}}, &media::RelayStats::source_dropped},
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter,
     {{"reason", "malformed"}}, &media::RelayStats::malformed_rtp},
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter,
     {{"reason", "send_error"}}, &media::RelayStats::send_error},
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter,
     {{"reason", "oversize"}}, &media::RelayStats::oversize},
    {"portico_media_dropped_packets_total", kMediaDropped, Type::Counter,
     {{"reason", "transform"}}, &media::RelayStats::transform_dropped},
    {"portico_srtp_dropped_packets_total", kSrtpDropped, Type::Counter,
     {{"reason", "auth_fail"}}, &media::RelayStats::transform_auth_fail},
    {"portico_srtp_dropped_packets_total", kSrtpDropped, Type::Counter, {{"reason", "replay"}},
     &media::RelayStats::transform_replay},
    {"portico_srtp_dropped_packets_total", kSrtpDropped, Type::Counter, {{"reason", "other"}},
     &media::RelayStats::transform_other},
    {"portico_media_latch_events_total", kLatch, Type::Counter, {{"event", "latched"}},
     &media::RelayStats::latched},
    {"portico_media_latch_events_total", kLatch, Type::Counter, {{"event", "relatched"}},
     &media::RelayStats::relatched},
};

const Table<b2bua::MediaStats> kMediaRows{
    {"portico_media_streams_active", "Relayed media streams (m= lines) open now", Type::Gauge,
     {}, &b2bua::MediaStats::streams_active},
    {"portico_media_sessions_total", "Calls whose media Portico anchored", Type::Counter, {},
     &b2bua::MediaStats::sessions_anchored},
    {"portico_media_ports_exhausted_total", "Offers refused because a port range was full",
     Type::Counter, {}, &b2bua::MediaStats::ports_exhausted},
    {"portico_media_address_refused_total",
     "Offers and answers refused because their media address is outside allowed_networks",
     Type::Counter, {}, &b2bua::MediaStats::address_refused},
    {"portico_media_timeouts_total", "Calls ended because no RTP flowed either way",
     Type::Counter, {}, &b2bua::MediaStats::media_timeouts},
    {"portico_media_dtmf_mismatches_total",
     "Offers with RFC 4733 telephone-event answered without it: RTP DTMF lost", Type::Counter,
     {}, &b2bua::MediaStats::dtmf_mismatches},
    {"portico_srtp_refused_total", kSrtpRefused, Type::Counter, {{"reason", "no_usable_crypto"}},
     &b2bua::MediaStats::srtp_no_usable_crypto},
    {"portico_srtp_refused_total", kSrtpRefused, Type::Counter, {{"reason", "malformed_crypto"}},
     &b2bua::MediaStats::srtp_malformed_crypto},
    {"portico_srtp_refused_total", kSrtpRefused, Type::Counter,
     {{"reason", "unsupported_lifetime"}}, &b2bua::MediaStats::srtp_unsupported_lifetime},
    {"portico_srtp_refused_total", kSrtpRefused, Type::Counter, {{"reason", "unsupported_mki"}},
     &b2bua::MediaStats::srtp_unsupported_mki},
    {"portico_srtp_legs_total", "Call legs whose media Portico protected with SRTP",
     Type::Counter, {}, &b2bua::MediaStats::srtp_legs},
};

const Table<registrar::RegistrarStats> kRegistrarRows{
    {"portico_registrations_expired_total",
     "Bindings removed because the client stopped refreshing", Type::Counter, {},
     &registrar::RegistrarStats::expired},
    {"portico_registration_pings_total", kPings, Type::Counter, {{"result", "answered"}},
     &registrar::RegistrarStats::pings_answered},
    {"portico_registration_pings_total", kPings, Type::Counter, {{"result", "missed"}},
     &registrar::RegistrarStats::pings_missed},
};

constexpr const char* kDigest =
    "Digest credentials checked (REGISTER to Portico as registrar, calls from auth: digest peers)";
const Table<auth::AuthStats> kAuthRows{
    {"portico_auth_digest_total", kDigest, Type::Counter, {{"result", "success"}},
     &auth::AuthStats::successes},
    {"portico_auth_digest_total", kDigest, Type::Counter, {{"result", "failure"}},
     &auth::AuthStats::failures},
    {"portico_auth_digest_total", kDigest, Type::Counter, {{"result", "stale"}},
     &auth::AuthStats::stale},
    {"portico_auth_replayed_total", "Digest credentials refused for a nonce-count seen before",
     Type::Counter, {}, &auth::AuthStats::replayed},
    {"portico_auth_challenges_total", "Digest challenges sent (401 and 407)", Type::Counter, {},
     &auth::AuthStats::challenges},
};

const Table<trace::HepStats> kHepRows{
    {"portico_trace_hep_packets_total", kHep, Type::Counter, {{"result", "sent"}},
     &trace::HepStats::sent},
    {"portico_trace_hep_packets_total", kHep, Type::Counter, {{"result", "send_error"}},
     &trace::HepStats::send_errors},
};

/// Not per shard: the writer's own counters (the gauge of calls traced is per shard, below).
const Table<trace::TraceWriterStats> kTraceWriterRows{
    {"portico_trace_files_total", kTraceFiles, Type::Counter, {{"result", "written"}},
     &trace::TraceWriterStats::files_written},
    {"portico_trace_files_total", kTraceFiles, Type::Counter, {{"result", "pruned"}},
     &trace::TraceWriterStats::files_pruned},
    {"portico_trace_messages_total", kTraceMessages, Type::Counter, {{"result", "written"}},
     &trace::TraceWriterStats::messages_written},
    {"portico_trace_messages_total", kTraceMessages, Type::Counter, {{"result", "dropped"}},
     &trace::TraceWriterStats::messages_dropped},
    {"portico_trace_messages_total", kTraceMessages, Type::Counter, {{"result", "write_error"}},
     &trace::TraceWriterStats::write_errors},
};

const Table<ShardSnapshot> kTracedRows{
    {"portico_trace_calls_active", "Calls whose pcap file is open", Type::Gauge, {},
     &ShardSnapshot::traces_active},
};

/// Not per shard: the CDR writer's counters.
const Table<cdr::CdrStats> kCdrRows{
    {"portico_cdr_records_total", kCdrRecords, Type::Counter, {{"result", "written"}},
     &cdr::CdrStats::written},
    {"portico_cdr_records_total", kCdrRecords, Type::Counter, {{"result", "dropped"}},
     &cdr::CdrStats::dropped},
    {"portico_cdr_records_total", kCdrRecords, Type::Counter, {{"result", "write_error"}},
     &cdr::CdrStats::write_errors},
};
// clang-format on

// clang-format off
const Table<edge::SourceGuardStats> kEdgeRows{
    {"portico_edge_dropped_total", kEdgeDropped, Type::Counter, {{"reason", "banned"}},
     &edge::SourceGuardStats::dropped_banned},
    {"portico_edge_dropped_total", kEdgeDropped, Type::Counter, {{"reason", "rate"}},
     &edge::SourceGuardStats::dropped_rate},
    {"portico_edge_bans_total", kEdgeBans, Type::Counter, {{"reason", "requests_per_second"}},
     &edge::SourceGuardStats::bans_requests},
    {"portico_edge_bans_total", kEdgeBans, Type::Counter, {{"reason", "auth_failures"}},
     &edge::SourceGuardStats::bans_auth},
    {nullptr, nullptr, Type::Counter, {}, &edge::SourceGuardStats::bans_shared},  // copies
    {"portico_edge_auth_failures_total", "Failed authentications reported per source",
     Type::Counter, {}, &edge::SourceGuardStats::auth_failures},
    {"portico_edge_sources_evicted_total",
     "Tracked sources pushed out of a full source table set", Type::Counter, {},
     &edge::SourceGuardStats::evicted},
    {"portico_edge_sources_tracked", "Source addresses in the source tables", Type::Gauge, {},
     &edge::SourceGuardStats::sources},
};
// clang-format on

}  // namespace portico::runtime::metric_tables
