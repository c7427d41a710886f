// Latching decisions (see latch.hpp for the RFC 7362 rules this follows).

#include "latch.hpp"

namespace portico::media {

void Latch::reset(std::optional<Endpoint> expected, bool enabled, bool any_ip, bool strict_port) {
  expected_ = std::move(expected);
  latched_to_.reset();
  ssrc_.reset();
  last_accept_ = TimePoint{};
  enabled_ = enabled;
  any_ip_ = any_ip;
  strict_port_ = strict_port;
  latched_ = false;
}

bool Latch::ip_allowed(const Endpoint& source) const {
  // RFC 7362 §4: the NAT rewrites the port, so only the SDP IP is checked (unless any_ip:
  // the SDP carried a private address the peer never sends from).
  return any_ip_ || !expected_ || source.address == expected_->address;
}

Latch::Verdict Latch::on_packet(const Endpoint& source, std::optional<std::uint32_t> ssrc,
                                TimePoint now, Millis relatch_after) {
  if (!enabled_) {
    // Fixed destination from SDP, and only the SDP source: no SDP yet, nobody may send.
    const bool from_sdp = expected_ && source.address == expected_->address &&
                          (!strict_port_ || source.port == expected_->port);
    return from_sdp ? Verdict::Accept : Verdict::Stranger;
  }
  if (latched_ && source == *latched_to_) {
    last_accept_ = now;
    if (ssrc) {
      ssrc_ = ssrc;
    }
    return Verdict::Accept;
  }
  if (!ip_allowed(source)) {
    return Verdict::Hijack;
  }
  if (latched_) {
    // §5.1 hijack protection: a second source while the first one is alive is an attacker
    // (or a stale NAT binding); a silent flow moves only to the signalled address or to a
    // source that carries on the stream seen before.
    if (now - last_accept_ < relatch_after) {
      return Verdict::Hijack;
    }
    if (!ssrc) {
      return Verdict::Malformed;
    }
    const bool signalled = expected_ && source.address == expected_->address;
    const bool same_stream = ssrc_ && *ssrc == *ssrc_;
    if (!signalled && !same_stream) {
      return Verdict::Hijack;
    }
  } else if (!ssrc) {
    return Verdict::Malformed;  // latching needs a valid header: never latch onto STUN/garbage
  }
  const bool first = !latched_;
  latched_ = true;
  latched_to_ = source;
  ssrc_ = ssrc;
  last_accept_ = now;
  return first ? Verdict::Latched : Verdict::Relatched;
}

}  // namespace portico::media
