#pragma once
// Latch: where packets towards one peer flow go, and which sources that peer may send from.
// RFC 7362 §4 (symmetric RTP latching) with the hijack protection of §5.1: once latched, only
// the latched source is accepted, except that a source which has been silent for the re-latch
// interval may be replaced, and then only by the signalled address (the peer's new NAT
// binding) or by a packet carrying the SSRC seen before (the same stream, moved). A stranger
// with a new SSRC never takes a silent stream (on hold, say) over.
// Without latching (no NAT) the SDP is the truth both ways (RFC 7362 §3): packets are
// accepted only from the SDP address (and port, with strict_port); the rest is dropped, so an
// anchored port relays nothing a third party sends to it.

#include <cstdint>
#include <optional>

#include "portico/common/endpoint.hpp"
#include "portico/common/timer_service.hpp"

namespace portico::media {

/// Shard-local value owned by a RelayStream: one per (side, channel).
class Latch {
 public:
  enum class Verdict : std::uint8_t { Accept, Latched, Relatched, Hijack, Malformed, Stranger };

  /// New SDP for this flow: forgets any latched source. `strict_port` applies without latching.
  void reset(std::optional<Endpoint> expected, bool enabled, bool any_ip, bool strict_port = false);
  /// Judges a packet from `source`; `ssrc` is nullopt when the packet failed the RTP/RTCP
  /// validity check. Accept/Latched/Relatched mean "relay it"; Stranger is a packet from
  /// another source than the SDP's on a flow without latching.
  Verdict on_packet(const Endpoint& source, std::optional<std::uint32_t> ssrc, TimePoint now,
                    Millis relatch_after);
  /// Where packets to this peer go: the latched source, else the SDP address.
  const std::optional<Endpoint>& destination() const { return latched_ ? latched_to_ : expected_; }
  bool latched() const { return latched_; }

 private:
  bool ip_allowed(const Endpoint& source) const;

  std::optional<Endpoint> expected_;               // from SDP
  std::optional<Endpoint> latched_to_;             // valid when latched_
  std::optional<std::uint32_t> ssrc_;              // last SSRC seen from the latched source
  TimePoint last_accept_{};
  bool enabled_ = true;
  bool any_ip_ = false;
  bool strict_port_ = false;
  bool latched_ = false;
};

}  // namespace portico::media
