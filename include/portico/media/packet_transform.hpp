#pragma once
// The per-stream transform slot of the relay path (docs/style.md, "Packet path"): SRTP
// unprotect/protect, DTMF translation and PT remapping plug in here later.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "portico/common/side.hpp"

namespace portico::media {

// Side (which leg a packet came in on) is portico::Side, shared with the B2BUA.

/// Direction of a relayed packet: AtoB was received on side A and leaves from side B.
enum class Direction : std::uint8_t { AtoB = 0, BtoA = 1 };
inline Direction direction_from(Side ingress) {
  return ingress == Side::A ? Direction::AtoB : Direction::BtoA;
}

/// Which flow of a stream a packet belongs to.
enum class Channel : std::uint8_t { Rtp = 0, Rtcp = 1 };

/// Why a transform dropped its last packet (the relay counts drops by it).
enum class TransformDrop : std::uint8_t { Other = 0, AuthFail = 1, Replay = 2 };

/// Rewrites one packet in place between receive and send. Shard-local: called on the stream's
/// shard from inside the receive handler, so it must not block, throw or allocate.
class PacketTransform {
 public:
  virtual ~PacketTransform() = default;
  /// `packet` views the received bytes; the transform may shrink it or grow it up to
  /// `capacity` bytes (the buffer's tailroom, e.g. for an SRTP auth tag) by reassigning the
  /// span over the same buffer start. Returns false to drop the packet (counted).
  virtual bool apply(Direction dir, Channel channel, std::span<std::uint8_t>& packet,
                     std::size_t capacity) = 0;
  /// Why the last apply() returned false. Read by the relay right after a drop.
  virtual TransformDrop last_drop() const { return TransformDrop::Other; }
  /// Called on the media shard when this transform replaces `previous` on the same stream,
  /// before its first packet: it may take over state worth keeping (SRTP contexts whose keys
  /// did not change, with their rollover counters and replay windows).
  virtual void take_over(PacketTransform& /*previous*/) {}
  /// Whether packets of direction `dir` arrive encrypted (SRTCP: the relay then does not read
  /// their RTCP report blocks, which would be ciphertext).
  virtual bool inbound_encrypted(Direction /*dir*/) const { return false; }
};
using PacketTransformPtr = std::unique_ptr<PacketTransform>;

}  // namespace portico::media
