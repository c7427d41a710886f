#pragma once
// Minimal RTP/RTCP header views for the relay path: just enough to demux and to read the SSRC
// that latching compares. Payloads are never parsed here.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "portico/media/packet_transform.hpp"

namespace portico::media {

/// RFC 3550 §5.1: fixed RTP header is 12 bytes; §6.4.1: RTCP SR/RR start with 8 bytes.
constexpr std::size_t kRtpHeaderSize = 12;
constexpr std::size_t kRtcpHeaderSize = 8;

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// RFC 5761 §4: on a muxed port, a second byte (M bit + PT) of 192..223 (PT 64..95) is RTCP.
inline Channel classify_muxed(std::span<const std::uint8_t> p) {
  if (p.size() >= 2 && p[1] >= 192 && p[1] <= 223) {
    return Channel::Rtcp;
  }
  return Channel::Rtp;
}

/// The SSRC of a packet that passes the minimal validity check (version 2, long enough):
/// RTP SSRC at offset 8 (RFC 3550 §5.1), RTCP sender SSRC at offset 4 (RFC 3550 §6.4.1).
/// nullopt for anything else (short, STUN, garbage).
inline std::optional<std::uint32_t> packet_ssrc(Channel c, std::span<const std::uint8_t> p) {
  const std::size_t need = c == Channel::Rtp ? kRtpHeaderSize : kRtcpHeaderSize;
  if (p.size() < need || (p[0] >> 6) != 2) {
    return std::nullopt;
  }
  return read_be32(p.data() + (c == Channel::Rtp ? 8 : 4));
}

}  // namespace portico::media
