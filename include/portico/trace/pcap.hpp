#pragma once
// PcapEncoder: SIP messages as a classic libpcap file (not pcapng: every tool reads it, and
// sngrep only reads this one), link type LINKTYPE_RAW (101): each record is an IP packet with
// no link-layer header.
//
// Portico sees SIP messages, not packets, so it synthesizes the packet around each message:
//   UDP:      IPv4/IPv6 header + UDP header + the message, one record per datagram;
//   TCP/TLS:  IPv4/IPv6 header + TCP header (PSH|ACK) + the message, with sequence numbers that
//             continue per direction of each connection (4-tuple) and an ack that follows the
//             other direction, so the dissector's stream reassembly lines the messages up.
//             A message larger than one IP packet becomes several consecutive segments.
// TLS legs are written as the decrypted SIP in TCP segments on the real ports (the file holds
// what the peer meant, not the ciphertext); docs/operations.md says how to open them.
// Checksums are filled in, so no tool flags the synthesized packets.
//
// Byte order: the file and record headers are little-endian (magic a1b2c3d4 written LE,
// microsecond timestamps); the IP/UDP/TCP headers are network order.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "portico/trace/packet.hpp"

namespace portico::trace {

constexpr std::uint32_t kPcapMagic = 0xa1b2c3d4;   // microsecond timestamps
constexpr std::uint32_t kLinktypeRaw = 101;
constexpr std::uint32_t kPcapSnaplen = 262144;
constexpr std::size_t kPcapFileHeaderSize = 24;
constexpr std::size_t kPcapRecordHeaderSize = 16;
/// Largest message piece in one synthesized TCP segment (IP total length stays below 65535).
constexpr std::size_t kMaxSegmentPayload = 65000;

/// Appends the 24-byte pcap file header. Pure.
void append_pcap_file_header(std::string& out);

/// The per-file state of the encoding (TCP sequence numbers per direction). One per trace
/// file; used by one thread.
class PcapEncoder {
 public:
  /// Appends the record(s) for one message to `out`. A UDP message larger than one datagram
  /// can hold is truncated to what fits (it could not have crossed the wire either).
  void append(std::string& out, const PacketMeta& meta, std::string_view sip);

 private:
  using FlowKey = std::tuple<std::string, std::uint16_t, std::string, std::uint16_t>;
  std::uint32_t& next_seq(const FlowKey& key);
  void append_packet(std::string& out, const PacketMeta& meta, std::string_view payload,
                     std::uint32_t seq, std::uint32_t ack);

  std::map<FlowKey, std::uint32_t> next_seq_;  // src ip, src port, dst ip, dst port -> seq
  std::uint16_t ip_id_ = 0;
};

}  // namespace portico::trace
