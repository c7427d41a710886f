#pragma once
// SRTP in the relay's transform slot (RFC 3711, libsrtp2): each leg of a stream is plain RTP or
// SRTP with its own keys. A packet received on an SRTP leg is authenticated and decrypted with
// that leg's peer key (from the peer's a=crypto); a packet sent on an SRTP leg is encrypted with
// Portico's own key for that leg (from the a=crypto Portico sent it). Keys never cross from one
// leg to the other, so RTP<->SRTP and SRTP<->SRTP with different keys work alike.
//
//   A (SRTP, key kA) --unprotect(kA)--> plain --protect(kB')--> B (SRTP, key kB')   AtoB
//   A <--protect(kA')-- plain <--unprotect(kB)-- B                                  BtoA
//
// In place, in the receive slot (the tag grows into its tailroom), no allocation per packet
// (libsrtp allocates once per new SSRC; at most kMaxSrtpSsrcs per context are kept, the least
// recently used one is dropped beyond), no lock. Replay protection is libsrtp's (a 128-packet
// window). A replacement transform keeps every context whose key is unchanged (take_over), so a
// re-INVITE that keeps a key keeps its rollover counter.

#include <cstdint>
#include <optional>
#include <vector>

#include "portico/common/result.hpp"
#include "portico/common/srtp_suite.hpp"
#include "portico/media/packet_transform.hpp"

namespace portico::media {

/// One SRTP master key as SDES carries it.
struct SrtpKey {
  SrtpSuite suite = SrtpSuite::AesCm128HmacSha1_80;
  std::vector<std::uint8_t> key_salt;  // master key || master salt, the suite's lengths
  std::uint32_t mki_value = 0;         // inbound only: the MKI the peer's packets carry
  std::uint32_t mki_length = 0;        // bytes, 0 = none
  bool operator==(const SrtpKey&) const = default;
};

/// One leg's media security. Both unset: plain RTP on that leg.
struct SrtpLeg {
  std::optional<SrtpKey> inbound;   // the peer's key: what it sends is unprotected with it
  std::optional<SrtpKey> outbound;  // Portico's key: what Portico sends the peer is protected
  bool secure() const { return inbound.has_value() || outbound.has_value(); }
  bool operator==(const SrtpLeg&) const = default;
};

/// SRTP contexts kept per direction of a leg (SSRCs); the least recently used goes beyond.
inline constexpr std::size_t kMaxSrtpSsrcs = 16;

/// Initialises libsrtp; once per process, in main before the shards start (make_srtp_transform
/// also makes sure of it, without throwing). Throws std::runtime_error if libsrtp cannot start.
void init_srtp();

/// A transform for legs `a` and `b` (index = Side). Fails with "srtp_setup" (a key of the wrong
/// length, or a suite libsrtp was built without). Call's shard; the transform then moves to the
/// media shard with RelayStream::set_transform.
Result<PacketTransformPtr> make_srtp_transform(const SrtpLeg& a, const SrtpLeg& b);

}  // namespace portico::media
