// Metrics at scrape time: the exposer's HTTP thread asks every shard for a copy of its
// counters by posting to it (shards stay single-writer and lock-free), waits a bounded time,
// sums the copies and names them. A shard that does not answer within the bound is left out of
// that scrape and counted in portico_metrics_shards_missing.
//
// Every plain counter and gauge is one row of its stats struct's table (metric_tables.hpp):
// both the sum over the shards and the sample come from it. Keyed counters (maps by realm or
// labels, fixed arrays, histograms) have a small sum and samples pair each, here.

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "metric_tables.hpp"
#include "portico/runtime/server.hpp"

namespace portico::runtime {
namespace {

using namespace metric_tables;

constexpr auto kScrapeWait = std::chrono::milliseconds(1000);

void add(std::vector<Sample>& out, std::string name, std::string help, Type type, double v,
         Labels labels = {}) {
  out.push_back(Sample{std::move(name), std::move(help), type, std::move(labels), v, {}});
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

// ---------------------------------------------------------------------------------------------
// Keyed counters: maps, fixed arrays and histograms, each a sum and its samples.

void sum_keyed(ShardSnapshot& t, const ShardSnapshot& s) {
  t.calls.to_progress += s.calls.to_progress;
  t.calls.to_answer += s.calls.to_answer;
  for (const auto& [key, n] : s.calls.attempts) {
    t.calls.attempts[key] += n;
  }
  for (const auto& [key, n] : s.active_by_route) {
    t.active_by_route[key] += n;
  }
  for (const auto& [key, n] : s.messages) {
    t.messages[key] += n;
  }
  for (const auto& [realm, r] : s.media.realms) {
    auto& x = t.media.realms[realm];
    sum_rows(x, r, kRealmMediaRows);
    x.jitter_ms += r.jitter_ms;
    x.loss_percent += r.loss_percent;
  }
  for (std::size_t d = 0; d < 2; ++d) {
    t.media.one_way_calls[d] += s.media.one_way_calls[d];
  }
  auto& reg = t.registration;
  for (std::size_t i = 0; i < reg.outcomes.size(); ++i) {
    reg.outcomes[i] += s.registration.outcomes[i];
  }
  for (const auto& [realm, n] : s.registration.active) {
    reg.active[realm] += n;
  }
  for (const auto& [realm, n] : s.registration.unreachable) {
    reg.unreachable[realm] += n;
  }
  sum_trunks(t, s);
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
  for (const auto& [key, n] : t.active_by_route) {
    const auto& [realm, route, target] = key;
    add(o, "portico_calls_active_by_route",
        "Calls in progress by realm they came from, route and current target (trunk/peer)",
        Type::Gauge, static_cast<double>(n),
        {{"realm", realm}, {"route", route}, {"target", target}});
  }
}

void sip_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  // One family over three layers' drops: the shard's, and the transport's before parsing.
  add(o, "portico_sip_dropped_total", "Inbound messages dropped without an answer", Type::Counter,
      static_cast<double>(t.inbound.dropped + t.transport.oversize_dropped +
                          t.transport.framing_errors));
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
    const Labels by_realm{{"realm", realm}};
    sample_rows(o, r, kRealmMediaRows, by_realm);
    o.push_back(histogram_sample(
        "portico_media_jitter_seconds",
        "Highest interarrival jitter a receiving peer in this realm reported by RTCP, one per "
        "ended stream and direction",
        by_realm, r.jitter_ms, 0.001));
    o.push_back(histogram_sample(
        "portico_media_loss_ratio",
        "Packets lost / expected as a receiving peer in this realm reported by RTCP, one per "
        "ended stream and direction",
        by_realm, r.loss_percent, 0.01));
  }
  for (auto [silent, dir] : {std::pair{"caller", media::Direction::AtoB},
                             std::pair{"callee", media::Direction::BtoA}}) {
    add(o, "portico_media_one_way_calls_total",
        "Answered calls that ended with RTP from one side only (one-way audio), by the silent side",
        Type::Counter, static_cast<double>(m.one_way_calls[static_cast<std::size_t>(dir)]),
        {{"silent", silent}});
  }
}

void registration_samples(std::vector<Sample>& o, const ShardSnapshot& t) {
  const auto& r = t.registration;
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
  for (std::uint16_t i = 0; i < shards_.size(); ++i) {
    shards_.invoke_on(i, [g, i](Shard& s) {
      ShardSnapshot snap = s.snapshot();
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
    for_each_table(
        [&](const auto& rows, auto part, Shown) { sum_rows(part(total), part(s), rows); });
    sum_keyed(total, s);
  }
  // The registrar reports its realm's gauges, even at 0, only with a registration section.
  const bool registration = !total.registration.active.empty();
  const auto shown = [&](Shown when) {
    switch (when) {
      case Shown::WithRegistration:
        return registration;
      case Shown::WithHep:
        return hep_;
      case Shown::WithTraces:
        return traces_ != nullptr;
      case Shown::Always:
        break;
    }
    return true;
  };
  std::vector<Sample> out;
  call_samples(out, total);
  sip_samples(out, total);
  media_samples(out, total);
  if (registration) {
    registration_samples(out, total);
  }
  trunk_samples(out, total);
  for_each_table([&](const auto& rows, auto part, Shown when) {
    if (shown(when)) {
      sample_rows(out, part(total), rows);
    }
  });
  if (traces_) {
    sample_rows(out, traces_->stats(), kTraceWriterRows);
  }
  add(out, "portico_metrics_shards_missing", "Shards that did not answer this scrape in time",
      Type::Gauge, static_cast<double>(g->snaps.size() - g->done));
  add(out, "portico_policy_reloads_total", "Policy reloads", Type::Counter,
      static_cast<double>(reloads_ok_.load()), {{"result", "ok"}});
  add(out, "portico_policy_reloads_total", "Policy reloads", Type::Counter,
      static_cast<double>(reloads_failed_.load()), {{"result", "failed"}});
  if (cdr_) {
    sample_rows(out, cdr_->stats(), kCdrRows);
  }
  auto hash = policy_hash_.load();
  add(out, "portico_policy_info", "The policy in force (hash of its files)", Type::Gauge, 1,
      {{"hash", hash ? *hash : ""}});
  add(out, "portico_process_start_time_seconds", "Start time since the Unix epoch", Type::Gauge,
      start_time_);
  return out;
}

}  // namespace portico::runtime
