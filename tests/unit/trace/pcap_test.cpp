// The pcap records Portico synthesizes around SIP messages: file header, record header, IPv4 and
// IPv6 headers with valid checksums, UDP datagrams, and TCP segments whose sequence numbers
// continue per direction so a dissector can reassemble the stream.

#include "portico/trace/pcap.hpp"

#include <gtest/gtest.h>

#include "trace_test_util.hpp"

namespace portico::trace {
namespace {

using test::be16;
using test::be32;
using test::ep;
using test::le32;
using transport::Protocol;

// RFC 1071: the one's-complement sum over a header including its checksum is 0xffff.
std::uint16_t folded_sum(std::string_view bytes) {
  std::uint32_t acc = 0;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    acc += be16(bytes, i);
  }
  if (bytes.size() % 2 == 1) {
    acc += static_cast<std::uint32_t>(static_cast<unsigned char>(bytes.back())) << 8;
  }
  while (acc >> 16) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<std::uint16_t>(acc);
}

struct Record {
  std::uint32_t sec, usec, incl, orig;
  std::string packet;
};

std::vector<Record> records(std::string_view file) {
  std::vector<Record> out;
  std::size_t at = 0;
  while (at + kPcapRecordHeaderSize <= file.size()) {
    Record r{le32(file, at), le32(file, at + 4), le32(file, at + 8), le32(file, at + 12), {}};
    r.packet = std::string(file.substr(at + kPcapRecordHeaderSize, r.incl));
    at += kPcapRecordHeaderSize + r.incl;
    out.push_back(std::move(r));
  }
  return out;
}

const std::string kInvite =
    "INVITE sip:bob@192.0.2.9 SIP/2.0\r\nCall-ID: abc\r\nContent-Length: 0\r\n\r\n";

TEST(PcapTest, FileHeaderIsClassicLibpcapRawIp) {
  std::string out;
  append_pcap_file_header(out);
  ASSERT_EQ(out.size(), kPcapFileHeaderSize);
  EXPECT_EQ(le32(out, 0), 0xa1b2c3d4u);  // microsecond timestamps, written little-endian
  EXPECT_EQ(out.substr(0, 4), std::string("\xd4\xc3\xb2\xa1", 4));
  EXPECT_EQ(out[4], 2);  // version 2.4
  EXPECT_EQ(out[6], 4);
  EXPECT_EQ(le32(out, 8), 0u);   // thiszone
  EXPECT_EQ(le32(out, 12), 0u);  // sigfigs
  EXPECT_EQ(le32(out, 16), 262144u);
  EXPECT_EQ(le32(out, 20), 101u);  // LINKTYPE_RAW
}

TEST(PcapTest, UdpIpv4RecordLayout) {
  PcapEncoder enc;
  std::string out;
  PacketMeta m{Protocol::Udp, ep("127.0.131.1", 5060), ep("127.0.131.2", 5062),
               test::sample_time()};
  enc.append(out, m, kInvite);
  auto recs = records(out);
  ASSERT_EQ(recs.size(), 1u);
  const Record& r = recs[0];
  EXPECT_EQ(r.sec, 1795570944u);
  EXPECT_EQ(r.usec, 123456u);
  EXPECT_EQ(r.incl, 20 + 8 + kInvite.size());
  EXPECT_EQ(r.orig, r.incl);
  const std::string& p = r.packet;
  EXPECT_EQ(static_cast<unsigned char>(p[0]), 0x45);
  EXPECT_EQ(be16(p, 2), p.size());             // total length
  EXPECT_EQ(static_cast<unsigned char>(p[9]), 17);  // UDP
  EXPECT_EQ(folded_sum(std::string_view(p).substr(0, 20)), 0xffff);  // header checksum
  EXPECT_EQ(p.substr(12, 4), std::string("\x7f\x00\x83\x01", 4));
  EXPECT_EQ(p.substr(16, 4), std::string("\x7f\x00\x83\x02", 4));
  EXPECT_EQ(be16(p, 20), 5060);
  EXPECT_EQ(be16(p, 22), 5062);
  EXPECT_EQ(be16(p, 24), 8 + kInvite.size());
  EXPECT_NE(be16(p, 26), 0);  // checksum filled in
  EXPECT_EQ(p.substr(28), kInvite);
  // UDP checksum over the IPv4 pseudo-header and the datagram sums to all ones.
  std::string pseudo = p.substr(12, 8);
  pseudo += std::string("\x00\x11", 2);
  pseudo += p.substr(24, 2);
  EXPECT_EQ(folded_sum(pseudo + p.substr(20)), 0xffff);
}

TEST(PcapTest, UdpIpv6RecordLayout) {
  PcapEncoder enc;
  std::string out;
  enc.append(out, PacketMeta{Protocol::Udp, ep("::1", 5060), ep("::1", 5070), {}}, kInvite);
  auto recs = records(out);
  ASSERT_EQ(recs.size(), 1u);
  const std::string& p = recs[0].packet;
  ASSERT_EQ(p.size(), 40 + 8 + kInvite.size());
  EXPECT_EQ(static_cast<unsigned char>(p[0]) >> 4, 6);
  EXPECT_EQ(be16(p, 4), 8 + kInvite.size());  // payload length
  EXPECT_EQ(static_cast<unsigned char>(p[6]), 17);
  EXPECT_EQ(be16(p, 40), 5060);
  EXPECT_EQ(be16(p, 42), 5070);
  EXPECT_EQ(p.substr(48), kInvite);
  std::string pseudo = p.substr(8, 32);
  pseudo += std::string("\x00\x00", 2) + p.substr(44, 2) + std::string("\x00\x00\x00\x11", 4);
  EXPECT_EQ(folded_sum(pseudo + p.substr(40)), 0xffff);
}

// A TLS leg's plaintext is a TCP segment with its real ports and the NS flag as the TLS mark;
// a plain TCP leg has no flag there.
TEST(PcapTest, TlsLegIsTcpMarkedByTheNsFlag) {
  PcapEncoder enc;
  std::string out;
  enc.append(out, PacketMeta{Protocol::Tls, ep("127.0.131.1", 40002), ep("127.0.131.3", 5061), {}},
             kInvite);
  enc.append(out, PacketMeta{Protocol::Tcp, ep("127.0.131.1", 40003), ep("127.0.131.3", 5060), {}},
             kInvite);
  auto recs = records(out);
  ASSERT_EQ(recs.size(), 2u);
  const std::string& tls = recs[0].packet;
  EXPECT_EQ(static_cast<unsigned char>(tls[9]), 6);      // TCP
  EXPECT_EQ(be16(tls, 22), 5061);                        // the real TLS port
  EXPECT_EQ(static_cast<unsigned char>(tls[32]), 0x51);  // 20-byte header, NS set
  EXPECT_EQ(tls.substr(40), kInvite);                    // the plaintext SIP
  std::string pseudo = tls.substr(12, 8) + std::string("\x00\x06", 2);
  const auto len = static_cast<std::uint16_t>(tls.size() - 20);
  pseudo.push_back(static_cast<char>(len >> 8));
  pseudo.push_back(static_cast<char>(len & 0xff));
  EXPECT_EQ(folded_sum(pseudo + tls.substr(20)), 0xffff);  // the checksum covers the flag
  EXPECT_EQ(static_cast<unsigned char>(recs[1].packet[32]), 0x50);
}

TEST(PcapTest, TcpSequenceNumbersContinuePerDirection) {
  PcapEncoder enc;
  std::string out;
  const auto portico = ep("127.0.131.1", 5060);
  const auto peer = ep("127.0.131.3", 40001);
  const std::string ok = "SIP/2.0 200 OK\r\nCall-ID: abc\r\nContent-Length: 0\r\n\r\n";
  enc.append(out, PacketMeta{Protocol::Tcp, peer, portico, {}}, kInvite);   // in
  enc.append(out, PacketMeta{Protocol::Tcp, portico, peer, {}}, ok);        // out
  enc.append(out, PacketMeta{Protocol::Tcp, peer, portico, {}}, kInvite);   // in again
  auto recs = records(out);
  ASSERT_EQ(recs.size(), 3u);
  auto seq = [](const Record& r) { return be32(r.packet, 24); };
  auto ack = [](const Record& r) { return be32(r.packet, 28); };
  for (const Record& r : recs) {
    EXPECT_EQ(static_cast<unsigned char>(r.packet[9]), 6);                // TCP
    EXPECT_EQ(static_cast<unsigned char>(r.packet[32]) >> 4, 5);          // 20-byte header
    EXPECT_EQ(static_cast<unsigned char>(r.packet[33]), 0x18);            // PSH|ACK
    std::string pseudo = r.packet.substr(12, 8) + std::string("\x00\x06", 2);
    const auto len = static_cast<std::uint16_t>(r.packet.size() - 20);
    pseudo.push_back(static_cast<char>(len >> 8));
    pseudo.push_back(static_cast<char>(len & 0xff));
    EXPECT_EQ(folded_sum(pseudo + r.packet.substr(20)), 0xffff);
  }
  EXPECT_EQ(seq(recs[2]), seq(recs[0]) + kInvite.size());  // same direction continues
  EXPECT_EQ(ack(recs[1]), seq(recs[0]) + kInvite.size());  // acks what the peer sent
  EXPECT_EQ(ack(recs[2]), seq(recs[1]) + ok.size());
  EXPECT_EQ(recs[2].packet.substr(40), kInvite);
}

TEST(PcapTest, LargeTcpMessageIsSplitIntoConsecutiveSegments) {
  PcapEncoder enc;
  std::string out;
  const std::string big = "MESSAGE sip:x SIP/2.0\r\n\r\n" + std::string(kMaxSegmentPayload + 500, 'x');
  enc.append(out, PacketMeta{Protocol::Tcp, ep("::1", 5060), ep("::1", 5070), {}}, big);
  enc.append(out, PacketMeta{Protocol::Tcp, ep("::1", 5060), ep("::1", 5070), {}}, kInvite);
  auto recs = records(out);
  ASSERT_EQ(recs.size(), 3u);
  auto seq = [](const Record& r) { return be32(r.packet, 40 + 4); };
  EXPECT_EQ(recs[0].packet.size(), 40 + 20 + kMaxSegmentPayload);
  EXPECT_EQ(seq(recs[1]), seq(recs[0]) + kMaxSegmentPayload);
  EXPECT_EQ(seq(recs[2]), seq(recs[0]) + big.size());
  EXPECT_EQ(recs[0].packet.substr(60) + recs[1].packet.substr(60), big);
}

TEST(PcapTest, MixedFamiliesWriteNothing) {
  PcapEncoder enc;
  std::string out;
  enc.append(out, PacketMeta{Protocol::Udp, ep("127.0.0.1", 1), ep("::1", 2), {}}, kInvite);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace portico::trace
