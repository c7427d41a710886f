// AnchoredMedia: SDP rewriting and relay streams of one call (see anchored_media.hpp).

#include "portico/b2bua/anchored_media.hpp"

#include <algorithm>
#include <random>

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {

namespace {

using transport::Endpoint;


bool is_sdp(std::string_view content_type) {
  return to_lower(trim(content_type.substr(0, content_type.find(';')))) == "application/sdp";
}

// Datagram media Portico can relay: RTP in all its profiles (RTP/AVP, RTP/SAVP,
// UDP/TLS/RTP/SAVPF...) and T.38 over UDPTL. TCP-based media (MSRP, BFCP over TCP) is refused
// with port 0 rather than relayed to a UDP socket.
bool datagram_proto(std::string_view proto) {
  const std::string p = to_lower(proto);
  return p.starts_with("rtp/") || p.starts_with("udp/") || p == "udptl" || p == "udp";
}

std::optional<asio::ip::address> parse_ip(std::string_view text) {
  text = text.substr(0, text.find('/'));  // multicast "/ttl" suffix
  asio::error_code ec;
  auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) {
    return std::nullopt;
  }
  return a;
}

/// The address the peer's RTP for `m` is signalled at: media-level c=, else session-level.
std::optional<asio::ip::address> media_address(const sdp::Session& s, const sdp::Media& m) {
  const auto& c = m.connection ? m.connection : s.connection;
  return c ? parse_ip(c->address) : std::nullopt;
}

std::uint64_t random_session_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // RFC 4566 §5.2 suggests an NTP timestamp; any number that fits 63 bits is valid.
  return rng() >> 2;
}

Millis until(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<Millis>(to - from);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MediaPorts

MediaPorts::MediaPorts(asio::io_context& io, TimerService& timers, std::uint16_t shard,
                       std::uint16_t shard_count)
    : io_(io), timers_(timers), shard_(shard), shard_count_(std::max<std::uint16_t>(1, shard_count)) {}

std::optional<media::PortRange> MediaPorts::slice(std::uint16_t min, std::uint16_t max,
                                                  std::uint16_t shard, std::uint16_t shard_count) {
  const std::uint32_t lo = min + (min % 2u);
  if (max < lo || shard_count == 0 || shard >= shard_count) {
    return std::nullopt;
  }
  const std::uint32_t total = max - lo + 1;
  const std::uint32_t per = (total / shard_count) & ~1u;  // even: RTP/RTCP pairs stay together
  if (per < 4) {
    return std::nullopt;
  }
  const std::uint32_t first = lo + per * shard;
  return media::PortRange{static_cast<std::uint16_t>(first),
                          static_cast<std::uint16_t>(first + per - 1)};
}

void MediaPorts::update(const policy::PolicySnapshot& policy) {
  std::map<std::string, Entry> next;
  for (const auto& realm : policy.realms) {
    const auto& m = realm.media;
    if (!m.enabled) {
      continue;
    }
    auto old = by_realm_.find(realm.name);
    if (old != by_realm_.end() && old->second.address == m.address && old->second.min == m.port_min &&
        old->second.max == m.port_max) {
      next.emplace(realm.name, std::move(old->second));
      continue;
    }
    Entry e{m.address, m.port_min, m.port_max, nullptr};
    if (auto range = slice(m.port_min, m.port_max, shard_, shard_count_)) {
      e.ports = std::make_shared<media::PortAllocator>(
          io_, timers_, media::PortAllocatorConfig{*range, Millis{2000}, 16});
      log::debug("media.ports", {{"realm", realm.name}, {"address", m.address.to_string()},
                                 {"first", range->lo}, {"last", range->hi}});
    } else {
      log::error("media.range_too_small",
                 {{"realm", realm.name}, {"min", m.port_min}, {"max", m.port_max},
                  {"shards", shard_count_},
                  {"detail", "each shard needs at least 4 ports; widen media.ports"}});
    }
    next.emplace(realm.name, std::move(e));
  }
  by_realm_ = std::move(next);
}

std::shared_ptr<media::PortAllocator> MediaPorts::find(const std::string& realm) const {
  auto it = by_realm_.find(realm);
  return it == by_realm_.end() ? nullptr : it->second.ports;
}

// ---------------------------------------------------------------------------------------------
// AnchoredMediaFactory

AnchoredMediaFactory::AnchoredMediaFactory(asio::io_context& io, TimerService& timers,
                                           MediaPorts& ports, media::UringEngine* uring,
                                           media::EpollSet* epoll)
    : io_(io), timers_(timers), ports_(ports), relay_io_(&io), relay_timers_(&timers),
      uring_(uring), epoll_(epoll) {}

void AnchoredMediaFactory::relay_on(asio::io_context& io, TimerService& timers,
                                    media::UringEngine* uring, media::EpollSet* epoll) {
  relay_io_ = &io;
  relay_timers_ = &timers;
  uring_ = uring;
  epoll_ = epoll;
  remote_ = true;
}

AnchoredMediaFactory::~AnchoredMediaFactory() = default;

SessionMediaPtr AnchoredMediaFactory::create(
    const std::string& call_log_id, const std::shared_ptr<const policy::PolicySnapshot>& policy) {
  return std::make_unique<AnchoredMedia>(*this, call_log_id, policy);
}

MediaStats AnchoredMediaFactory::stats() const {
  MediaStats out = closed_;
  for (const AnchoredMedia* s : live_) {
    s->add_stats(out);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// AnchoredMedia

AnchoredMedia::AnchoredMedia(AnchoredMediaFactory& factory, std::string log_id,
                             std::shared_ptr<const policy::PolicySnapshot> policy)
    : factory_(factory), log_id_(std::move(log_id)), policy_(std::move(policy)) {
  timeout_timer_.bind(factory_.timers_);
  factory_.live_.insert(this);
}

AnchoredMedia::~AnchoredMedia() { close(); }

bool AnchoredMedia::anchored() const {
  return legs_[0].media != nullptr && legs_[1].media != nullptr;
}

void AnchoredMedia::set_leg(Side s, const LegPeer& peer) {
  LegState& leg = legs_[index_of(s)];
  if (s == Side::B && relay_) {
    if (peer.realm != leg.realm) {
      drop_relay();  // the new target is in another realm: B-side sockets must move
      streams_.clear();
    } else {
      // Same realm, new peer (failover): forget the previous target's media address.
      for (std::size_t i = 0; i < streams_.size(); ++i) {
        if (media::RelayStream* st = relay_->stream(i)) {
          st->set_peer(Side::B, std::nullopt, std::nullopt);
        }
        streams_[i].rtp[1].reset();
        streams_[i].rtcp[1].reset();
        streams_[i].held[1] = false;
      }
    }
  }
  leg.realm = peer.realm;
  leg.signalling_address = peer.signalling_address;
  leg.origin.reset();  // a new dialog on this side: a new o= session
  const policy::Realm* realm = policy_ ? policy_->find_realm(peer.realm) : nullptr;
  leg.media = realm != nullptr && realm->media.enabled ? &realm->media : nullptr;
  leg.ports = leg.media != nullptr ? factory_.ports_.find(peer.realm) : nullptr;
}

void AnchoredMedia::set_failure_handler(FailureHandler handler) { on_failure_ = std::move(handler); }

void AnchoredMedia::call_answered() {
  answered_ = true;
  answered_at_ = factory_.timers_.now();
  arm_timeout_check();
}

Result<std::string> AnchoredMedia::relay_body(Side from, SdpRole role,
                                              std::string_view content_type,
                                              std::string_view body) {
  if (!anchored()) {
    return std::string(body);
  }
  if (closed_) {
    return Error{"media_closed", "the call's media is already released"};
  }
  if (!is_sdp(content_type)) {
    return Error{"unsupported_body", "only application/sdp bodies can be anchored (got " +
                                         std::string(content_type) + ")"};
  }
  for (const LegState& leg : legs_) {
    if (!leg.ports) {
      ++factory_.closed_.ports_exhausted;
      return Error{"ports_exhausted", "realm " + leg.realm + " has no media ports on this shard"};
    }
  }
  answered_at_ = factory_.timers_.now();  // renegotiation: give the new media time to start
  return rewrite(from, role, body);
}

Result<std::string> AnchoredMedia::rewrite(Side from, SdpRole role, std::string_view body) {
  auto parsed = sdp::parse(body);
  if (!parsed) {
    return Error{"sdp_syntax", parsed.error().detail};
  }
  sdp::Session s = std::move(parsed).value();
  const Side to = other(from);
  const LegState& src = legs_[index_of(from)];
  LegState& dst = legs_[index_of(to)];
  if (!relay_) {
    relay_ = std::make_unique<media::MediaRelay>(
        media::RelayDeps{*factory_.relay_io_, *factory_.relay_timers_, *legs_[0].ports,
                         *legs_[1].ports, factory_.uring_, factory_.epoll_, factory_.remote_});
    ++factory_.closed_.sessions_anchored;
    relayed_ = true;
    log::info("media.anchored", {{"call", log_id_}, {"a_realm", legs_[0].realm},
                                 {"b_realm", legs_[1].realm}});
  }
  if (streams_.size() < s.media.size()) {
    streams_.resize(s.media.size());
  }
  for (std::size_t i = 0; i < s.media.size(); ++i) {
    sdp::Media& m = s.media[i];
    if (m.disabled() || !datagram_proto(m.proto) || m.port_count) {
      // Removed, rejected, or not relayable (RFC 3264 §6: refuse a stream with port 0).
      relay_->close_stream(i);
      streams_[i] = StreamState{};
      sdp::set_media_port(m, 0, std::nullopt);
      continue;
    }
    const auto addr = media_address(s, m);
    std::optional<Endpoint> rtp;
    std::optional<Endpoint> rtcp;
    const bool on_hold_address = !addr || addr->is_unspecified();  // RFC 2543 c=0.0.0.0 hold
    if (!on_hold_address) {
      // Behind NAT the SDP names a private address the peer never sends from; its packets
      // come from its SIP source address, on a port only latching will reveal.
      const bool use_signalling = src.media->nat && !src.signalling_address.is_unspecified();
      const asio::ip::address peer_ip = use_signalling ? src.signalling_address : *addr;
      rtp = Endpoint{peer_ip, m.port};
      if (auto rc = m.rtcp()) {
        auto rc_ip = rc->connection ? parse_ip(rc->connection->address) : addr;
        rtcp = Endpoint{use_signalling || !rc_ip ? peer_ip : *rc_ip, rc->port};
      }
    }
    streams_[i].held[index_of(from)] =
        on_hold_address || sdp::direction(s, m) != sdp::Direction::SendRecv;
    auto stream = stream_for(i, from, rtp, rtcp);
    if (!stream) {
      if (stream.error().reason == "ports_exhausted") {
        ++factory_.closed_.ports_exhausted;
      }
      log::warn("media.refused", {{"call", log_id_}, {"stream", i},
                                  {"reason", stream.error().reason},
                                  {"detail", stream.error().detail}});
      return stream.error();
    }
    const media::RelayStream& st = **stream;
    const auto rtcp_port = m.rtcp_mux() ? std::nullopt
                                        : std::optional<std::uint16_t>(st.local_rtcp(to).port);
    sdp::set_media_port(m, st.local_rtp(to).port, rtcp_port);
  }
  check_dtmf(from, role, s);
  if (role == SdpRole::Answer && !s.media.empty() && !s.media[0].disabled() &&
      !s.media[0].formats.empty()) {
    codec_ = sdp::encoding_name(s.media[0], s.media[0].formats[0]);
    // Static payload types without a=rtpmap (PCMU, PCMA, G729, G722...) all use 8000 Hz.
    const auto map = s.media[0].rtpmap(s.media[0].formats[0]);
    clock_rate_ = map && map->clock_rate > 0 ? map->clock_rate : 8000;
  }
  const std::string& advertised = dst.media->advertised_address.empty()
                                      ? dst.media->address.to_string()
                                      : dst.media->advertised_address;
  sdp::set_connection(s, advertised);
  sdp::strip_ice(s);
  if (!dst.origin) {
    const std::uint64_t id = random_session_id();
    dst.origin.emplace(id, id);
  }
  dst.origin->apply(s);
  return sdp::serialize(s);
}

Result<media::RelayStream*> AnchoredMedia::stream_for(std::size_t index, Side from,
                                                      const std::optional<Endpoint>& rtp,
                                                      const std::optional<Endpoint>& rtcp) {
  StreamState& state = streams_[index];
  const std::size_t f = index_of(from);
  media::RelayStream* stream = relay_->stream(index);
  if (stream == nullptr) {
    media::StreamConfig cfg;
    cfg.a = side_config(Side::A);
    cfg.b = side_config(Side::B);
    media::SideConfig& mine = from == Side::A ? cfg.a : cfg.b;
    mine.peer_rtp = rtp;
    mine.peer_rtcp = rtcp;
    // Always an RTP/RTCP pair: whether the answer accepts rtcp-mux (RFC 5761) is not known
    // yet, and with mux both peers simply send everything to the RTP ports.
    cfg.rtcp_mux = false;
    auto opened = relay_->open_stream(index, std::move(cfg));
    if (!opened) {
      return opened.error();
    }
    const bool held = state.held[f];
    state = StreamState{};
    state.held[f] = held;
    state.rtp[f] = rtp;
    state.rtcp[f] = rtcp;
    return *opened;
  }
  // Only a changed address resets latching: a re-offer of the same SDP (session refresh, hold)
  // must not make a NATed stream lose the port it latched onto.
  if (state.rtp[f] != rtp || state.rtcp[f] != rtcp) {
    stream->set_peer(from, rtp, rtcp);
    state.rtp[f] = rtp;
    state.rtcp[f] = rtcp;
  }
  return stream;
}

media::SideConfig AnchoredMedia::side_config(Side s) const {
  const policy::RealmMedia& m = *legs_[index_of(s)].media;
  media::SideConfig c;
  c.local = m.address;
  c.latch = m.nat;  // symmetric RTP only where peers sit behind NAT; elsewhere SDP is the truth
  c.latch_any_ip = m.nat && m.latch_any_ip;
  return c;
}

void AnchoredMedia::arm_timeout_check() {
  const Millis timeout = policy_ ? policy_->timers.media_timeout : Millis{0};
  if (closed_ || !answered_ || timeout.count() <= 0) {
    return;
  }
  timeout_timer_.start(timeout, [this] {
    timeout_timer_.fired();
    check_timeout();
  });
}

void AnchoredMedia::check_timeout() {
  if (closed_ || !relay_) {
    return;
  }
  const Millis timeout = policy_->timers.media_timeout;
  const TimePoint now = factory_.timers_.now();
  TimePoint latest = answered_at_;
  bool any_stream = false;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const media::RelayStream* st = relay_->stream(i);
    if (st == nullptr) {
      continue;
    }
    if (streams_[i].held[0] || streams_[i].held[1]) {
      // On hold the held party may legitimately send nothing for as long as the hold lasts.
      timeout_timer_.start(timeout, [this] {
        timeout_timer_.fired();
        check_timeout();
      });
      return;
    }
    any_stream = true;
    latest = std::max({latest, st->last_rx(Side::A), st->last_rx(Side::B)});
  }
  if (!any_stream) {
    return;  // every stream was removed: nothing to watch
  }
  const Millis silent = until(latest, now);
  if (silent < timeout) {
    timeout_timer_.start(timeout - silent, [this] {
      timeout_timer_.fired();
      check_timeout();
    });
    return;
  }
  ++factory_.closed_.media_timeouts;
  log::warn("media.timeout", {{"call", log_id_}, {"silent_ms", silent.count()},
                              {"a_realm", legs_[0].realm}, {"b_realm", legs_[1].realm},
                              {"detail", "no RTP from either side; ending the call"}});
  if (on_failure_) {
    FailureHandler handler = on_failure_;  // the handler may destroy this session
    handler("media_timeout");
  }
}

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

const media::RelayStream* AnchoredMedia::stream(std::size_t index) const {
  return relay_ ? relay_->stream(index) : nullptr;
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
    const double expected = static_cast<double>(q.cumulative_lost) + st.packets[toward];
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

namespace {

bool offers_telephone_event(const sdp::Media& m) {
  return std::any_of(m.formats.begin(), m.formats.end(), [&m](const std::string& pt) {
    return iequals(sdp::encoding_name(m, pt), "telephone-event");
  });
}

}  // namespace

// RFC 4733 DTMF needs telephone-event on both ends. An offer with it answered without it means
// every keypad digit sent in RTP is lost: the DTMF-method mismatch, named at answer time.
void AnchoredMedia::check_dtmf(Side from, SdpRole role, const sdp::Session& s) {
  if (s.media.empty() || s.media[0].disabled()) {
    return;
  }
  const bool te = offers_telephone_event(s.media[0]);
  if (role == SdpRole::Offer) {
    offered_te_ = te;
    return;
  }
  if (!offered_te_ || te || dtmf_mismatch_) {
    return;
  }
  dtmf_mismatch_ = true;
  ++factory_.closed_.dtmf_mismatches;
  const Side offerer = other(from);
  log::warn("media.dtmf_mismatch",
            {{"call", log_id_}, {"offered_by", offerer == Side::A ? "caller" : "callee"},
             {"offer_realm", legs_[index_of(offerer)].realm}, {"answer_realm", legs_[index_of(from)].realm},
             {"detail", "the offer has telephone-event (RFC 4733) and the answer does not: DTMF "
                        "sent as RTP events will not reach the answerer; use SIP INFO or in-band "
                        "DTMF on both ends"}});
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
  factory_.closed_.one_way_calls[static_cast<std::size_t>(
      a_silent ? media::Direction::AtoB : media::Direction::BtoA)] += 1;
  const LegState& silent = legs_[a_silent ? 0 : 1];
  log::warn("media.one_way",
            {{"call", log_id_}, {"silent", a_silent ? "caller" : "callee"},
             {"silent_realm", silent.realm},
             {"silent_peer", silent.signalling_address.to_string()},
             {"dropped_hijack", st.hijack_dropped}, {"dropped_no_destination", st.no_destination},
             {"detail", std::string("no RTP arrived from the ") + (a_silent ? "caller" : "callee") +
                            "'s side; check its NAT/firewall and the realm's media.nat setting"}});
}

void AnchoredMedia::close() {
  if (closed_) {
    return;
  }
  timeout_timer_.cancel();
  report_one_way();
  drop_relay();
  closed_ = true;
  factory_.live_.erase(this);
}

}  // namespace portico::b2bua
