// Synthesized IP/UDP/TCP packets around SIP messages, in libpcap records (see pcap.hpp).

#include "portico/trace/pcap.hpp"

#include <algorithm>
#include <array>

namespace portico::trace {
namespace {

constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kTcpHeader = 20;
constexpr std::uint32_t kInitialSeq = 1;

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void put_be16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_be32(std::string& out, std::uint32_t v) {
  put_be16(out, static_cast<std::uint16_t>(v >> 16));
  put_be16(out, static_cast<std::uint16_t>(v & 0xffff));
}

void put_bytes(std::string& out, const unsigned char* p, std::size_t n) {
  out.append(reinterpret_cast<const char*>(p), n);
}

/// One's-complement sum of 16-bit big-endian words (RFC 1071), not yet folded.
std::uint32_t sum16(std::string_view bytes, std::uint32_t acc = 0) {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    acc += (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 8) |
           static_cast<unsigned char>(bytes[i + 1]);
  }
  if (i < bytes.size()) {
    acc += static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 8;
  }
  return acc;
}

std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<std::uint16_t>(~acc & 0xffff);
}

void set_be16(std::string& out, std::size_t at, std::uint16_t v) {
  out[at] = static_cast<char>(v >> 8);
  out[at + 1] = static_cast<char>(v & 0xff);
}

std::string address_bytes(const asio::ip::address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  const auto b = a.to_v6().to_bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

SecUsec split_time(WallClock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  const auto count = std::max<std::int64_t>(us.count(), 0);
  return SecUsec{static_cast<std::uint32_t>(count / 1'000'000),
                 static_cast<std::uint32_t>(count % 1'000'000)};
}

void append_pcap_file_header(std::string& out) {
  put_le32(out, kPcapMagic);
  out.push_back(2);  // version 2.4, little-endian
  out.push_back(0);
  out.push_back(4);
  out.push_back(0);
  put_le32(out, 0);  // thiszone
  put_le32(out, 0);  // sigfigs
  put_le32(out, kPcapSnaplen);
  put_le32(out, kLinktypeRaw);
}

std::uint32_t& PcapEncoder::next_seq(const FlowKey& key) {
  return next_seq_.try_emplace(key, kInitialSeq).first->second;
}

void PcapEncoder::append(std::string& out, const PacketMeta& meta, std::string_view sip) {
  if (meta.src.address.is_v4() != meta.dst.address.is_v4()) {
    return;  // no IP packet carries one family's source and the other's destination
  }
  if (meta.protocol == transport::Protocol::Udp) {
    const std::size_t ip = meta.src.address.is_v4() ? kIpv4Header : kIpv6Header;
    append_packet(out, meta, sip.substr(0, 65535 - ip - kUdpHeader), 0, 0);
    return;
  }
  const std::string src = meta.src.address.to_string();
  const std::string dst = meta.dst.address.to_string();
  std::uint32_t& seq = next_seq(FlowKey{src, meta.src.port, dst, meta.dst.port});
  const std::uint32_t ack = next_seq(FlowKey{dst, meta.dst.port, src, meta.src.port});
  do {
    const std::string_view piece = sip.substr(0, kMaxSegmentPayload);
    append_packet(out, meta, piece, seq, ack);
    seq += static_cast<std::uint32_t>(piece.size());
    sip.remove_prefix(piece.size());
  } while (!sip.empty());
}

void PcapEncoder::append_packet(std::string& out, const PacketMeta& meta,
                                std::string_view payload, std::uint32_t seq, std::uint32_t ack) {
  const bool v4 = meta.src.address.is_v4();
  const bool udp = meta.protocol == transport::Protocol::Udp;
  const std::size_t ip_len = v4 ? kIpv4Header : kIpv6Header;
  const std::size_t l4_len = (udp ? kUdpHeader : kTcpHeader) + payload.size();
  const std::size_t total = ip_len + l4_len;
  const std::uint8_t proto = udp ? kProtoUdp : kProtoTcp;
  const std::string src = address_bytes(meta.src.address);
  const std::string dst = address_bytes(meta.dst.address);

  const SecUsec ts = split_time(meta.time);
  put_le32(out, ts.sec);
  put_le32(out, ts.usec);
  put_le32(out, static_cast<std::uint32_t>(total));
  put_le32(out, static_cast<std::uint32_t>(total));

  const std::size_t ip_at = out.size();
  if (v4) {
    out.push_back(0x45);  // version 4, 5 words
    out.push_back(0);
    put_be16(out, static_cast<std::uint16_t>(total));
    put_be16(out, ip_id_++);
    put_be16(out, 0x4000);  // don't fragment
    out.push_back(64);      // TTL
    out.push_back(static_cast<char>(proto));
    put_be16(out, 0);  // checksum, set below
    out += src;
    out += dst;
    set_be16(out, ip_at + 10, fold(sum16(std::string_view(out).substr(ip_at, kIpv4Header))));
  } else {
    put_be32(out, 0x60000000);  // version 6, no traffic class or flow label
    put_be16(out, static_cast<std::uint16_t>(l4_len));
    out.push_back(static_cast<char>(proto));
    out.push_back(64);  // hop limit
    out += src;
    out += dst;
  }

  const std::size_t l4_at = out.size();
  put_be16(out, meta.src.port);
  put_be16(out, meta.dst.port);
  std::size_t checksum_at = 0;
  if (udp) {
    put_be16(out, static_cast<std::uint16_t>(l4_len));
    checksum_at = out.size();
    put_be16(out, 0);
  } else {
    put_be32(out, seq);
    put_be32(out, ack);
    // A TLS leg is written as the plaintext SIP it carried, in TCP segments with the real
    // ports, marked by the NS flag (RFC 3540's nonce bit, never set by today's stacks):
    // Wireshark filter `tcp.flags.ns == 1`, "Decode As... SIP" for port 5061 (docs/tls.md).
    const bool tls = meta.protocol == transport::Protocol::Tls;
    out.push_back(static_cast<char>(((kTcpHeader / 4) << 4) | (tls ? 0x01 : 0x00)));
    out.push_back(0x18);  // PSH | ACK
    put_be16(out, 65535);  // window
    checksum_at = out.size();
    put_be16(out, 0);
    put_be16(out, 0);  // urgent pointer
  }
  out.append(payload);

  // Pseudo-header (RFC 768 / RFC 8200 §8.1) + segment.
  std::string pseudo = src + dst;
  if (v4) {
    pseudo.push_back(0);
    pseudo.push_back(static_cast<char>(proto));
    put_be16(pseudo, static_cast<std::uint16_t>(l4_len));
  } else {
    put_be32(pseudo, static_cast<std::uint32_t>(l4_len));
    put_bytes(pseudo, std::array<unsigned char, 3>{}.data(), 3);
    pseudo.push_back(static_cast<char>(proto));
  }
  std::uint16_t sum = fold(sum16(std::string_view(out).substr(l4_at), sum16(pseudo)));
  if (udp && sum == 0) {
    sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
  }
  set_be16(out, checksum_at, sum);
}

}  // namespace portico::trace
