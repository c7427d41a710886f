// Metrics at scrape time: the exposer's HTTP thread asks every shard for a copy of its
// counters by posting to it (shards stay single-writer and lock-free), waits a bounded time,
// sums the copies and names them. A shard that does not answer within the bound is left out of
// that scrape and counted in portico_metrics_shards_missing.

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "portico/runtime/server.hpp"

namespace portico::runtime {
namespace {

using metrics::Sample;
using metrics::Type;
using Labels = std::vector<std::pair<std::string, std::string>>;

constexpr auto kScrapeWait = std::chrono::milliseconds(1000);

void sum_registration(registrar::RegistrarStats& t, const registrar::RegistrarStats& s) {
  for (std::size_t i = 0; i < t.outcomes.size(); ++i) {
    t.outcomes[i] += s.outcomes[i];
  }
  t.expired += s.expired;
  t.pings_answered += s.pings_answered;
  t.pings_missed += s.pings_missed;
  for (const auto& [realm, n] : s.active) {
    t.active[realm] += n;
  }
  for (const auto& [realm, n] : s.unreachable) {
    t.unreachable[realm] += n;
  }
}

void sum_into(ShardSnapshot& t, const ShardSnapshot& s) {
  t.inbound.messages += s.inbound.messages;
  t.inbound.unparseable += s.inbound.unparseable;
  t.inbound.invalid += s.inbound.invalid;
  t.inbound.answered_400 += s.inbound.answered_400;
  t.inbound.dropped += s.inbound.dropped;
  t.transport.datagrams_in += s.transport.datagrams_in;
  t.transport.datagrams_out += s.transport.datagrams_out;
  t.transport.stream_messages_in += s.transport.stream_messages_in;
  t.transport.stream_messages_out += s.transport.stream_messages_out;
  t.transport.oversize_dropped += s.transport.oversize_dropped;
  t.transport.framing_errors += s.transport.framing_errors;
  t.transport.send_errors += s.transport.send_errors;
  t.transport.connections_opened += s.transport.connections_opened;
  t.transport.keepalives += s.transport.keepalives;
  t.transactions.retransmissions_sent += s.transactions.retransmissions_sent;
  t.transactions.retransmissions_absorbed += s.transactions.retransmissions_absorbed;
  t.transactions.client_timeouts += s.transactions.client_timeouts;
  t.transactions.server_timeouts += s.transactions.server_timeouts;
  t.transactions.transport_errors += s.transactions.transport_errors;
  t.calls.calls_attempted += s.calls.calls_attempted;
  t.calls.calls_answered += s.calls.calls_answered;
  t.calls.calls_failed += s.calls.calls_failed;
  t.calls.calls_rejected += s.calls.calls_rejected;
  t.calls.failovers += s.calls.failovers;
  t.calls.calls_timed_out += s.calls.calls_timed_out;
  t.calls.unknown_dialog += s.calls.unknown_dialog;
  t.calls.to_progress += s.calls.to_progress;
  t.calls.to_answer += s.calls.to_answer;
  for (const auto& [key, n] : s.messages) {
    t.messages[key] += n;
  }
  for (const auto& [key, n] : s.calls.attempts) {
    t.calls.attempts[key] += n;
  }
  for (const auto& [realm, r] : s.media.realms) {
    auto& x = t.media.realms[realm];
    x.packets_received += r.packets_received;
    x.bytes_received += r.bytes_received;
    x.packets_sent += r.packets_sent;
    x.bytes_sent += r.bytes_sent;
    x.rtcp_reports += r.rtcp_reports;
    x.jitter_ms += r.jitter_ms;
    x.loss_percent += r.loss_percent;
  }
  t.hep.sent += s.hep.sent;
  t.hep.send_errors += s.hep.send_errors;
  t.traces_active += s.traces_active;
  t.media.relay += s.media.relay;
  t.media.sessions_anchored += s.media.sessions_anchored;
  t.media.ports_exhausted += s.media.ports_exhausted;
  t.media.media_timeouts += s.media.media_timeouts;
  for (std::size_t d = 0; d < 2; ++d) {
    t.media.one_way_calls[d] += s.media.one_way_calls[d];
  }
  t.media.dtmf_mismatches += s.media.dtmf_mismatches;
  t.media.streams_active += s.media.streams_active;
  t.calls_active += s.calls_active;
  for (const auto& [key, n] : s.active_by_route) {
    t.active_by_route[key] += n;
  }
  t.server_txns += s.server_txns;
  t.client_txns += s.client_txns;
  t.connections += s.connections;
  sum_registration(t.registration, s.registration);
}

void add(std::vector<Sample>& out, std::string name, std::string help, Type type, double v,
         Labels labels = {}) {
  out.push_back(Sample{std::move(name), std::move(help), type, std::move(labels), v});
}

/// `scale` converts the histogram's unit to the metric's base unit (ms -> s: 0.001).
template <class Bounds>
Sample histogram_sample(std::string name, std::string help, Labels labels,
                        const Histogram<Bounds>& h, double scale) {
  Sample s{std::move(name), std::move(help), Type::Histogram, std::move(labels), 0, {}};
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i];
    s.histogram.buckets.emplace_back(Histogram<Bounds>::kUpper[i] * scale, cumulative);
  }
  s.histogram.count = h.count;
  s.histogram.sum = h.sum * scale;
  return s;
}

Sample setup_histogram(const b2bua::SetupHistogram& h, const char* stage) {
  return histogram_sample("portico_call_setup_seconds",
                          "Time from the caller's INVITE to the first 18x (stage=progress) or the "
                          "2xx (stage=answer) relayed back",
                          {{"stage", stage}}, h, 0.001);
}

void call_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  o.push_back(setup_histogram(t.calls.to_progress, "progress"));
  o.push_back(setup_histogram(t.calls.to_answer, "answer"));
  for (const auto& [key, n] : t.calls.attempts) {
    add(o, "portico_call_attempts_total",
        "Ended calls by source realm, route, last target and final status class", Type::Counter,
        static_cast<double>(n),
        {{"realm", key.realm}, {"route", key.route}, {"target", key.target},
         {"status_class", key.status_class}});
  }
  add(o, "portico_calls_active", "Calls in progress", Type::Gauge, t.calls_active);
  for (const auto& [key, n] : t.active_by_route) {
    const auto& [realm, route, target] = key;
    add(o, "portico_calls_active_by_route",
        "Calls in progress by realm they came from, route and current target (trunk/peer)",
        Type::Gauge, static_cast<double>(n),
        {{"realm", realm}, {"route", route}, {"target", target}});
  }
  add(o, "portico_calls_attempted_total", "Dialog-creating INVITEs received", Type::Counter,
      t.calls.calls_attempted);
  add(o, "portico_calls_answered_total", "Calls answered (2xx relayed)", Type::Counter,
      t.calls.calls_answered);
  add(o, "portico_calls_failed_total", "Calls that ended with a final error response",
      Type::Counter, t.calls.calls_failed);
  add(o, "portico_calls_rejected_total", "Calls refused by policy before any target",
      Type::Counter, t.calls.calls_rejected);
  add(o, "portico_call_failovers_total", "Route targets abandoned for the next one",
      Type::Counter, t.calls.failovers);
  add(o, "portico_calls_timed_out_total", "Calls ended at max_call_duration", Type::Counter,
      t.calls.calls_timed_out);
}

void sip_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  add(o, "portico_sip_messages_received_total", "SIP messages received", Type::Counter,
      t.inbound.messages);
  add(o, "portico_sip_parse_errors_total", "Inbound messages rejected", Type::Counter,
      t.inbound.unparseable, {{"reason", "unparseable"}});
  add(o, "portico_sip_parse_errors_total", "Inbound messages rejected", Type::Counter,
      t.inbound.invalid, {{"reason", "invalid"}});
  add(o, "portico_sip_dropped_total", "Inbound messages dropped without an answer",
      Type::Counter, t.inbound.dropped + t.transport.oversize_dropped +
                         t.transport.framing_errors);
  add(o, "portico_sip_unknown_dialog_total", "In-dialog requests answered 481", Type::Counter,
      t.calls.unknown_dialog);
  add(o, "portico_sip_retransmissions_total", "Retransmissions", Type::Counter,
      t.transactions.retransmissions_sent, {{"direction", "out"}});
  add(o, "portico_sip_retransmissions_total", "Retransmissions", Type::Counter,
      t.transactions.retransmissions_absorbed, {{"direction", "in"}});
  add(o, "portico_sip_transaction_timeouts_total", "Transactions ended by timer",
      Type::Counter, t.transactions.client_timeouts, {{"side", "client"}});
  add(o, "portico_sip_transaction_timeouts_total", "Transactions ended by timer",
      Type::Counter, t.transactions.server_timeouts, {{"side", "server"}});
  add(o, "portico_sip_transactions_active", "Open transactions", Type::Gauge, t.server_txns,
      {{"side", "server"}});
  add(o, "portico_sip_transactions_active", "Open transactions", Type::Gauge, t.client_txns,
      {{"side", "client"}});
}

void message_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  for (const auto& [key, n] : t.messages) {
    const auto& [realm, direction, method, status] = key;
    add(o, "portico_sip_messages_total",
        "SIP messages by realm, direction, method (CSeq method for responses) and status",
        Type::Counter, static_cast<double>(n),
        {{"realm", realm}, {"direction", direction}, {"method", method},
         {"status", status == 0 ? "" : std::to_string(status)}});
  }
}

void media_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  const auto& m = t.media;
  for (const auto& [realm, r] : m.realms) {
    add(o, "portico_media_packets_total", "RTP/RTCP packets relayed, by realm of the peer",
        Type::Counter, r.packets_received, {{"realm", realm}, {"direction", "in"}});
    add(o, "portico_media_packets_total", "RTP/RTCP packets relayed, by realm of the peer",
        Type::Counter, r.packets_sent, {{"realm", realm}, {"direction", "out"}});
    add(o, "portico_media_bytes_total", "RTP/RTCP payload bytes relayed, by realm of the peer",
        Type::Counter, r.bytes_received, {{"realm", realm}, {"direction", "in"}});
    add(o, "portico_media_bytes_total", "RTP/RTCP payload bytes relayed, by realm of the peer",
        Type::Counter, r.bytes_sent, {{"realm", realm}, {"direction", "out"}});
    add(o, "portico_media_rtcp_reports_total",
        "RTCP reception report blocks (RFC 3550 6.4) sent by peers in this realm", Type::Counter,
        r.rtcp_reports, {{"realm", realm}});
    o.push_back(histogram_sample(
        "portico_media_jitter_seconds",
        "Highest interarrival jitter a receiving peer in this realm reported by RTCP, one per "
        "ended stream and direction",
        {{"realm", realm}}, r.jitter_ms, 0.001));
    o.push_back(histogram_sample(
        "portico_media_loss_ratio",
        "Packets lost / expected as a receiving peer in this realm reported by RTCP, one per "
        "ended stream and direction",
        {{"realm", realm}}, r.loss_percent, 0.01));
  }
  const char* dropped = "Media packets dropped, by reason";
  const auto& r = m.relay;
  for (const auto& [reason, n] :
       {std::pair<const char*, std::uint64_t>{"no_destination", r.no_destination},
        {"hijack", r.hijack_dropped}, {"malformed", r.malformed_rtp},
        {"send_error", r.send_error}, {"oversize", r.oversize},
        {"transform", r.transform_dropped}}) {
    add(o, "portico_media_dropped_packets_total", dropped, Type::Counter, n,
        {{"reason", reason}});
  }
  add(o, "portico_media_latch_events_total", "Symmetric RTP latching (RFC 7362)",
      Type::Counter, r.latched, {{"event", "latched"}});
  add(o, "portico_media_latch_events_total", "Symmetric RTP latching (RFC 7362)",
      Type::Counter, r.relatched, {{"event", "relatched"}});
  add(o, "portico_media_streams_active", "Relayed media streams (m= lines) open now",
      Type::Gauge, m.streams_active);
  add(o, "portico_media_sessions_total", "Calls whose media Portico anchored", Type::Counter,
      m.sessions_anchored);
  add(o, "portico_media_ports_exhausted_total", "Offers refused because a port range was full",
      Type::Counter, m.ports_exhausted);
  add(o, "portico_media_timeouts_total", "Calls ended because no RTP flowed either way",
      Type::Counter, m.media_timeouts);
  for (auto [silent, dir] : {std::pair{"caller", media::Direction::AtoB},
                             std::pair{"callee", media::Direction::BtoA}}) {
    add(o, "portico_media_one_way_calls_total",
        "Answered calls that ended with RTP from one side only (one-way audio), by the silent side",
        Type::Counter, m.one_way_calls[static_cast<std::size_t>(dir)], {{"silent", silent}});
  }
  add(o, "portico_media_dtmf_mismatches_total",
      "Offers with RFC 4733 telephone-event answered without it: RTP DTMF lost", Type::Counter,
      m.dtmf_mismatches);
}

// Only with a registration section (the shards then report its realm's gauges, even at 0).
void registration_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  const auto& r = t.registration;
  if (r.active.empty()) {
    return;
  }
  for (const auto& [realm, n] : r.active) {
    add(o, "portico_registrations_active", "Bindings accepted by the registrar, not expired",
        Type::Gauge, static_cast<double>(n), {{"realm", realm}});
  }
  for (const auto& [realm, n] : r.unreachable) {
    add(o, "portico_registrations_unreachable", "Active bindings whose contact missed its pings",
        Type::Gauge, static_cast<double>(n), {{"realm", realm}});
  }
  for (std::size_t i = 0; i < r.outcomes.size(); ++i) {
    add(o, "portico_register_requests_total", "REGISTER requests from clients by outcome",
        Type::Counter, static_cast<double>(r.outcomes[i]),
        {{"outcome", registrar::to_string(static_cast<registrar::RegisterOutcome>(i))}});
  }
  add(o, "portico_registrations_expired_total", "Bindings removed because the client stopped "
      "refreshing", Type::Counter, static_cast<double>(r.expired));
  add(o, "portico_registration_pings_total", "OPTIONS pings to registered contacts",
      Type::Counter, static_cast<double>(r.pings_answered), {{"result", "answered"}});
  add(o, "portico_registration_pings_total", "OPTIONS pings to registered contacts",
      Type::Counter, static_cast<double>(r.pings_missed), {{"result", "missed"}});
}

// Only for the outputs the policy configured (a missing series says "not configured").
void trace_samples(std::vector<Sample>& o, const ShardSnapshot& t, const trace::TraceWriter* w,
                   bool hep) {
  if (hep) {
    add(o, "portico_trace_hep_packets_total", "HEPv3 packets sent to the capture server",
        Type::Counter, static_cast<double>(t.hep.sent), {{"result", "sent"}});
    add(o, "portico_trace_hep_packets_total", "HEPv3 packets sent to the capture server",
        Type::Counter, static_cast<double>(t.hep.send_errors), {{"result", "send_error"}});
  }
  if (w == nullptr) {
    return;
  }
  const auto s = w->stats();
  add(o, "portico_trace_files_total", "Per-call pcap files finished", Type::Counter,
      static_cast<double>(s.files_written), {{"result", "written"}});
  add(o, "portico_trace_files_total", "Per-call pcap files finished", Type::Counter,
      static_cast<double>(s.files_pruned), {{"result", "pruned"}});
  const char* help = "SIP messages for per-call pcap files";
  add(o, "portico_trace_messages_total", help, Type::Counter,
      static_cast<double>(s.messages_written), {{"result", "written"}});
  add(o, "portico_trace_messages_total", help, Type::Counter,
      static_cast<double>(s.messages_dropped), {{"result", "dropped"}});
  add(o, "portico_trace_messages_total", help, Type::Counter,
      static_cast<double>(s.write_errors), {{"result", "write_error"}});
  add(o, "portico_trace_calls_active", "Calls whose pcap file is open", Type::Gauge,
      static_cast<double>(t.traces_active));
}

void transport_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  const char* help = "SIP messages carried";
  add(o, "portico_transport_messages_total", help, Type::Counter, t.transport.datagrams_in,
      {{"transport", "udp"}, {"direction", "in"}});
  add(o, "portico_transport_messages_total", help, Type::Counter, t.transport.datagrams_out,
      {{"transport", "udp"}, {"direction", "out"}});
  add(o, "portico_transport_messages_total", help, Type::Counter,
      t.transport.stream_messages_in, {{"transport", "tcp"}, {"direction", "in"}});
  add(o, "portico_transport_messages_total", help, Type::Counter,
      t.transport.stream_messages_out, {{"transport", "tcp"}, {"direction", "out"}});
  add(o, "portico_transport_dropped_total", "Bytes refused by the transport", Type::Counter,
      t.transport.oversize_dropped, {{"reason", "oversize"}});
  add(o, "portico_transport_dropped_total", "Bytes refused by the transport", Type::Counter,
      t.transport.framing_errors, {{"reason", "framing"}});
  add(o, "portico_transport_send_errors_total", "Sends that failed", Type::Counter,
      t.transport.send_errors);
  add(o, "portico_transport_connections_active", "Open TCP connections", Type::Gauge,
      t.connections);
  add(o, "portico_transport_keepalives_total", "CRLF keepalives answered", Type::Counter,
      t.transport.keepalives);
}

}  // namespace

std::vector<metrics::Sample> Server::collect_samples() {
  struct Gather {
    std::mutex mu;  // scrape path only: the control plane, never a shard's hot path
    std::condition_variable cv;
    std::vector<ShardSnapshot> snaps;
    std::size_t done = 0;
  };
  auto g = std::make_shared<Gather>();
  g->snaps.resize(shards_.size());
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    Shard* s = shards_[i].get();
    s->post([g, s, i] {
      ShardSnapshot snap = s->snapshot();
      std::lock_guard<std::mutex> lock(g->mu);
      g->snaps[i] = snap;
      ++g->done;
      g->cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(g->mu);
  g->cv.wait_for(lock, kScrapeWait, [&] { return g->done == g->snaps.size(); });
  ShardSnapshot total;
  for (const auto& s : g->snaps) {
    sum_into(total, s);
  }
  std::vector<Sample> out;
  call_samples(out, total);
  sip_samples(out, total);
  message_samples(out, total);
  transport_samples(out, total);
  media_samples(out, total);
  registration_samples(out, total);
  trace_samples(out, total, traces_.get(), hep_);
  add(out, "portico_metrics_shards_missing", "Shards that did not answer this scrape in time",
      Type::Gauge, static_cast<double>(g->snaps.size() - g->done));
  add(out, "portico_policy_reloads_total", "Policy reloads", Type::Counter,
      static_cast<double>(reloads_ok_.load()), {{"result", "ok"}});
  add(out, "portico_policy_reloads_total", "Policy reloads", Type::Counter,
      static_cast<double>(reloads_failed_.load()), {{"result", "failed"}});
  if (cdr_) {
    auto c = cdr_->stats();
    add(out, "portico_cdr_records_total", "Call records", Type::Counter,
        static_cast<double>(c.written), {{"result", "written"}});
    add(out, "portico_cdr_records_total", "Call records", Type::Counter,
        static_cast<double>(c.dropped), {{"result", "dropped"}});
    add(out, "portico_cdr_records_total", "Call records", Type::Counter,
        static_cast<double>(c.write_errors), {{"result", "write_error"}});
  }
  auto hash = policy_hash_.load();
  add(out, "portico_policy_info", "The policy in force (hash of its files)", Type::Gauge, 1,
      {{"hash", hash ? *hash : ""}});
  add(out, "portico_process_start_time_seconds", "Start time since the Unix epoch", Type::Gauge,
      start_time_);
  return out;
}

}  // namespace portico::runtime
