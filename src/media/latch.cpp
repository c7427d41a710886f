// Latching decisions (see latch.hpp for the RFC 7362 rules this follows).

#include "latch.hpp"

namespace portico::media {

void Latch::reset(std::optional<Endpoint> expected, bool enabled, bool any_ip) {
  expected_ = std::move(expected);
  latched_to_.reset();
  ssrc_.reset();
  last_accept_ = TimePoint{};
  enabled_ = enabled;
  any_ip_ = any_ip;
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
    return Verdict::Accept;  // fixed destination from SDP; sources are not filtered
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
    // (or a stale NAT binding); only a silent flow restarted with a new SSRC may move.
    if (now - last_accept_ < relatch_after) {
      return Verdict::Hijack;
    }
    if (!ssrc) {
      return Verdict::Malformed;
    }
    if (ssrc_ && *ssrc == *ssrc_) {
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
