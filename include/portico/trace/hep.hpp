#pragma once
// HEPv3 (the Homer Encapsulation Protocol, "HEP3"/EEP): each SIP message Portico sends or
// receives, with its addresses and time, in one UDP datagram to a capture server (Homer,
// heplify-server, sngrep -L, Wireshark's `hep` dissector).
//
// Packet: "HEP3" + total length (u16), then chunks, each vendor id (u16, 0 = generic) + type
// (u16) + length including this 6-byte header (u16) + value; all big-endian. Chunks written:
//   0x0001 IP family (u8: 2 = IPv4, 10 = IPv6)     0x0002 IP protocol (u8: 17 UDP, 6 TCP)
//   0x0003/0x0004 IPv4 source/destination          0x0005/0x0006 IPv6 source/destination
//   0x0007/0x0008 source/destination port (u16)
//   0x0009 timestamp seconds (u32)                 0x000a timestamp microseconds (u32)
//   0x000b payload type (u8: 1 = SIP)              0x000c capture agent id (u32)
//   0x000e auth key (when a password is set)       0x000f the SIP message
//   0x0011 correlation id (when given)
//
// HepSender sends from the shard's thread on a non-blocking socket into a buffer it owns: no
// allocation, and a full socket buffer costs one dropped (counted) HEP packet, never a wait.

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "portico/trace/packet.hpp"

namespace portico::trace {

struct HepFields {
  PacketMeta meta;
  std::uint32_t agent_id = 0;
  std::string_view password;     // empty: no auth key chunk
  std::string_view correlation;  // empty: no correlation id chunk
  std::string_view payload;
};

/// Largest HEP packet Portico sends (one UDP datagram).
constexpr std::size_t kMaxHepPacket = 65507;

/// Encodes one HEP3 packet into `out`; returns its length, or 0 if it does not fit. Pure.
std::size_t encode_hep3(std::span<std::uint8_t> out, const HepFields& fields);

/// Per-shard counters; shard-local.
struct HepStats {
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;  // socket refused (buffer full, unreachable) or too large
};

/// One shard's HEP socket. Shard thread only.
class HepSender {
 public:
  /// Opens a UDP socket of the collector's family. Throws std::system_error at start-up if it
  /// cannot be opened.
  HepSender(asio::io_context& io, transport::Endpoint collector, std::uint32_t agent_id,
            std::string password);

  void send(const PacketMeta& meta, std::string_view correlation, std::string_view sip);
  const HepStats& stats() const { return stats_; }

 private:
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint collector_;
  std::uint32_t agent_id_;
  std::string password_;
  HepStats stats_;
  std::array<std::uint8_t, kMaxHepPacket> buf_{};
};

}  // namespace portico::trace
