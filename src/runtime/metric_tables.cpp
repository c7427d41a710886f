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
constexpr const char* kPings = "OPTIONS pings to registered contacts";
constexpr const char* kHep = "HEPv3 packets sent to the capture server";
constexpr const char* kTraceFiles = "Per-call pcap files finished";
constexpr const char* kTraceMessages = "SIP messages for per-call pcap files";
constexpr const char* kCdrRecords = "Call records";
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
};

const Table<InboundStats> kInboundRows{
    {"portico_sip_messages_received_total", "SIP messages received", Type::Counter, {},
     &InboundStats::messages},
    {"portico_sip_parse_errors_total", kParseErrors, Type::Counter, {{"reason", "unparseable"}},
     &InboundStats::unparseable},
    {"portico_sip_parse_errors_total", kParseErrors, Type::Counter, {{"reason", "invalid"}},
     &InboundStats::invalid},
    {nullptr, nullptr, Type::Counter, {}, &InboundStats::dropped},  // in portico_sip_dropped_total
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
};

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

}  // namespace portico::runtime::metric_tables
