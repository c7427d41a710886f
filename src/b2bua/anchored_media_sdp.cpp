// AnchoredMedia, the SDP side: each offer and answer rewritten to name Portico's address and
// relay ports, the relay stream of each m= line opened or re-pointed on the way, and the DTMF
// check of an answer (see anchored_media.hpp).

#include <algorithm>

#include "portico/b2bua/anchored_media.hpp"
#include "portico/common/log.hpp"
#include "portico/common/random.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {
namespace {

using transport::Endpoint;

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
  // RFC 4566 §5.2 suggests an NTP timestamp; any number that fits 63 bits is valid. From the
  // CSPRNG like every identifier an outsider sees.
  return random_u64() >> 2;
}

bool offers_telephone_event(const sdp::Media& m) {
  return std::any_of(m.formats.begin(), m.formats.end(), [&m](const std::string& pt) {
    return iequals(sdp::encoding_name(m, pt), "telephone-event");
  });
}

}  // namespace

Result<std::string> AnchoredMedia::rewrite(Side from, SdpRole role, std::string_view body) {
  auto parsed = sdp::parse(body);
  if (!parsed) {
    return Error{"sdp_syntax", parsed.error().detail};
  }
  sdp::Session s = std::move(parsed).value();
  LegState& dst = legs_[index_of(other(from))];
  if (!relay_) {
    open_relay();
  }
  if (streams_.size() < s.media.size()) {
    streams_.resize(s.media.size());
  }
  for (std::size_t i = 0; i < s.media.size(); ++i) {
    if (auto err = rewrite_media(from, role, s, i)) {
      return *err;
    }
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

void AnchoredMedia::open_relay() {
  relay_ = std::make_unique<media::MediaRelay>(
      media::RelayDeps{*factory_.relay_io_, *factory_.relay_timers_, *legs_[0].ports,
                       *legs_[1].ports, factory_.uring_, factory_.epoll_, factory_.remote_});
  ++factory_.closed_.sessions_anchored;
  relayed_ = true;
  log::info("media.anchored",
            {{"call", log_id_}, {"a_realm", legs_[0].realm}, {"b_realm", legs_[1].realm}});
}

std::optional<Error> AnchoredMedia::rewrite_media(Side from, SdpRole role, sdp::Session& s,
                                                  std::size_t i) {
  sdp::Media& m = s.media[i];
  if (m.disabled() || !datagram_proto(m.proto) || m.port_count) {
    // Removed, rejected, or not relayable (RFC 3264 §6: refuse a stream with port 0).
    relay_->close_stream(i);
    streams_[i] = StreamState{};
    sdp::set_media_port(m, 0, std::nullopt);
    return std::nullopt;
  }
  const LegState& src = legs_[index_of(from)];
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
    // Portico is no open UDP relay: the other leg's media goes only where the realm allows.
    for (const auto& ep : {rtp, rtcp}) {
      if (ep && !policy::media_address_allowed(*src.media, ep->address)) {
        ++factory_.closed_.address_refused;
        log::warn("media.address_refused", {{"call", log_id_},
                                            {"stream", i},
                                            {"realm", src.realm},
                                            {"address", ep->address.to_string()}});
        return Error{"media_address_refused", "media address " + ep->address.to_string() +
                                                  " is outside the realm's " + "allowed_networks"};
      }
    }
  }
  streams_[i].held[index_of(from)] = on_hold_address ||
                                     sdp::direction(s, m) != sdp::Direction::SendRecv;
  auto stream = stream_for(i, from, rtp, rtcp);
  if (!stream) {
    if (stream.error().reason == "ports_exhausted") {
      ++factory_.closed_.ports_exhausted;
    }
    log::warn("media.refused", {{"call", log_id_},
                                {"stream", i},
                                {"reason", stream.error().reason},
                                {"detail", stream.error().detail}});
    return stream.error();
  }
  const Side to = other(from);
  const media::RelayStream& st = **stream;
  const auto rtcp_port = m.rtcp_mux() ? std::nullopt
                                      : std::optional<std::uint16_t>(st.local_rtcp(to).port);
  sdp::set_media_port(m, st.local_rtp(to).port, rtcp_port);
  if (auto err = srtp_.rewrite(from, role, i, m)) {
    return err;
  }
  if (role == SdpRole::Answer) {
    srtp_.install(i, **stream);
  }
  return std::nullopt;
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
  c.strict_port = m.strict_source_port;
  return c;
}

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
            {{"call", log_id_},
             {"offered_by", offerer == Side::A ? "caller" : "callee"},
             {"offer_realm", legs_[index_of(offerer)].realm},
             {"answer_realm", legs_[index_of(from)].realm},
             {"detail",
              "the offer has telephone-event (RFC 4733) and the answer does not: DTMF "
              "sent as RTP events will not reach the answerer; use SIP INFO or in-band "
              "DTMF on both ends"}});
}

}  // namespace portico::b2bua
