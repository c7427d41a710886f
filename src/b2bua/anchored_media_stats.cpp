// AnchoredMedia, the counters: what a call's media did, for the shard's metrics (add_stats),
// the CDR (summary) and the per-realm quality histograms and one-way report when its relay is
// dropped (see anchored_media.hpp).

#include "portico/b2bua/anchored_media.hpp"
#include "portico/common/log.hpp"

namespace portico::b2bua {

void AnchoredMedia::add_stats(MediaStats& out) const {
  if (!relay_) {
    return;
  }
  const media::RelayStats st = relay_->stats();
  out.relay += st;
  out.streams_active += relay_->open_streams();
  const auto ab = static_cast<std::size_t>(media::Direction::AtoB);
  const auto ba = static_cast<std::size_t>(media::Direction::BtoA);
  RealmMediaStats& a = out.realms[legs_[0].realm];
  RealmMediaStats& b = out.realms[legs_[1].realm];
  a.packets_received += st.packets[ab];
  a.bytes_received += st.bytes[ab];
  b.packets_sent += st.packets[ab];
  b.bytes_sent += st.bytes[ab];
  b.packets_received += st.packets[ba];
  b.bytes_received += st.bytes[ba];
  a.packets_sent += st.packets[ba];
  a.bytes_sent += st.bytes[ba];
  a.rtcp_reports += st.rtcp_reports[ab];  // A's peer sent them
  b.rtcp_reports += st.rtcp_reports[ba];
}

media::ReceptionQuality AnchoredMedia::reception(Side s) const {
  const media::RelayStream* st = relay_ ? relay_->stream(0) : nullptr;
  return st != nullptr && st->reception(s).reports > 0 ? st->reception(s)
                                                       : kept_reception_[index_of(s)];
}

MediaSummary AnchoredMedia::summary() const {
  MediaSummary m;
  m.anchored = relayed_;
  m.codec = codec_;
  m.packets_a_to_b = closed_packets_[0];
  m.packets_b_to_a = closed_packets_[1];
  if (relay_) {
    const media::RelayStats st = relay_->stats();
    m.packets_a_to_b += st.packets[static_cast<std::size_t>(media::Direction::AtoB)];
    m.packets_b_to_a += st.packets[static_cast<std::size_t>(media::Direction::BtoA)];
  }
  auto quality = [this](Side receiver) {
    const media::ReceptionQuality q = reception(receiver);
    DirectionQuality d;
    d.reported = q.reports > 0;
    d.lost = q.cumulative_lost;
    d.jitter_ms = 1000.0 * q.max_jitter / clock_rate_;
    return d;
  };
  m.quality_a_to_b = quality(Side::B);
  m.quality_b_to_a = quality(Side::A);
  return m;
}

void AnchoredMedia::drop_relay() {
  if (!relay_) {
    return;
  }
  // Quality first: it reads stream 0, which close() is about to drop.
  const media::RelayStats st = relay_->stats();
  for (Side receiver : {Side::A, Side::B}) {
    const media::ReceptionQuality q = reception(receiver);
    kept_reception_[index_of(receiver)] = q;
    if (q.reports == 0) {
      continue;
    }
    // Lost as a share of what should have arrived: lost + what Portico relayed toward it.
    const auto toward = static_cast<std::size_t>(receiver == Side::B ? media::Direction::AtoB
                                                                     : media::Direction::BtoA);
    const double expected =
        static_cast<double>(q.cumulative_lost) + static_cast<double>(st.packets[toward]);
    RealmMediaStats& realm = factory_.closed_.realms[legs_[index_of(receiver)].realm];
    realm.jitter_ms.observe(1000.0 * q.max_jitter / clock_rate_);
    realm.loss_percent.observe(expected > 0 ? 100.0 * q.cumulative_lost / expected : 0.0);
  }
  relay_->close();  // no stream open any more: the fold below counts none as active
  add_stats(factory_.closed_);
  for (std::size_t d = 0; d < 2; ++d) {
    closed_packets_[d] += st.packets[d];
  }
  relay_.reset();
}

// Media flowed one way only for the whole answered call: the classic NAT/firewall failure. The
// media timeout cannot catch it (packets keep flowing the other way), so it is named here,
// with what the drop counters say about the cause.
void AnchoredMedia::report_one_way() {
  constexpr auto kMinTalk = std::chrono::seconds(3);  // shorter calls may not have sent RTP yet
  if (!answered_ || !relay_ || factory_.timers_.now() - answered_at_ < kMinTalk) {
    return;
  }
  const MediaSummary m = summary();
  if ((m.packets_a_to_b == 0) == (m.packets_b_to_a == 0)) {
    return;  // both flowed, or neither (the media timeout's case)
  }
  const bool a_silent = m.packets_a_to_b == 0;
  const media::RelayStats st = relay_->stats();
  factory_.closed_.one_way_calls[static_cast<std::size_t>(a_silent ? media::Direction::AtoB
                                                                   : media::Direction::BtoA)] += 1;
  const LegState& silent = legs_[a_silent ? 0 : 1];
  log::warn("media.one_way",
            {{"call", log_id_},
             {"silent", a_silent ? "caller" : "callee"},
             {"silent_realm", silent.realm},
             {"silent_peer", silent.signalling_address.to_string()},
             {"dropped_hijack", st.hijack_dropped},
             {"dropped_unexpected_source", st.source_dropped},
             {"dropped_no_destination", st.no_destination},
             {"detail", std::string("no RTP arrived from the ") + (a_silent ? "caller" : "callee") +
                            "'s side; check its NAT/firewall and the realm's media.nat setting"}});
}

}  // namespace portico::b2bua
