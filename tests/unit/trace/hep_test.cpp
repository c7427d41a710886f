// HEPv3 encoding: the "HEP3" header, its total length, and every chunk's vendor, type, length
// and value, walked the way a collector parses them. The sender is checked against a real
// loopback UDP socket.

#include "portico/trace/hep.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <map>
#include <vector>

#include "trace_test_util.hpp"

namespace portico::trace {
namespace {

using test::be16;
using test::be32;
using test::ep;
using transport::Protocol;

/// type -> value; fails the test on a malformed chunk list.
std::map<std::uint16_t, std::string> chunks(std::string_view pkt) {
  std::map<std::uint16_t, std::string> out;
  EXPECT_EQ(pkt.substr(0, 4), "HEP3");
  EXPECT_EQ(be16(pkt, 4), pkt.size());
  std::size_t at = 6;
  while (at + 6 <= pkt.size()) {
    EXPECT_EQ(be16(pkt, at), 0) << "vendor of chunk at " << at;
    const std::uint16_t type = be16(pkt, at + 2);
    const std::uint16_t len = be16(pkt, at + 4);
    EXPECT_GE(len, 6);
    EXPECT_LE(at + len, pkt.size());
    EXPECT_EQ(out.count(type), 0u) << "chunk " << type << " twice";
    out[type] = std::string(pkt.substr(at + 6, len - 6));
    at += len;
  }
  EXPECT_EQ(at, pkt.size());
  return out;
}

const std::string kBye = "BYE sip:a@192.0.2.1 SIP/2.0\r\nCall-ID: c1\r\nContent-Length: 0\r\n\r\n";

std::string encode(const HepFields& f) {
  std::vector<std::uint8_t> buf(kMaxHepPacket);
  const std::size_t n = encode_hep3(buf, f);
  return std::string(reinterpret_cast<const char*>(buf.data()), n);
}

TEST(HepTest, Ipv4UdpChunks) {
  HepFields f;
  f.meta = PacketMeta{Protocol::Udp, ep("127.0.131.1", 5060), ep("127.0.131.2", 5062),
                      test::sample_time()};
  f.agent_id = 2001;
  f.password = "s3cret";
  f.correlation = "a-call-id@host";
  f.payload = kBye;
  const std::string pkt = encode(f);
  ASSERT_FALSE(pkt.empty());
  auto c = chunks(pkt);
  EXPECT_EQ(c.size(), 13u);
  EXPECT_EQ(c[0x0001], std::string("\x02", 1));  // AF_INET
  EXPECT_EQ(c[0x0002], std::string("\x11", 1));  // UDP
  EXPECT_EQ(c[0x0003], std::string("\x7f\x00\x83\x01", 4));
  EXPECT_EQ(c[0x0004], std::string("\x7f\x00\x83\x02", 4));
  EXPECT_EQ(be16(c[0x0007], 0), 5060);
  EXPECT_EQ(be16(c[0x0008], 0), 5062);
  EXPECT_EQ(be32(c[0x0009], 0), 1795570944u);
  EXPECT_EQ(be32(c[0x000a], 0), 123456u);
  EXPECT_EQ(c[0x000b], std::string("\x01", 1));  // SIP
  EXPECT_EQ(be32(c[0x000c], 0), 2001u);
  EXPECT_EQ(c[0x000e], "s3cret");
  EXPECT_EQ(c[0x000f], kBye);
  EXPECT_EQ(c[0x0011], "a-call-id@host");
  // The fixed part: 6 header + family/proto (7 each) + 2 addresses (10 each) + 2 ports (8 each)
  // + 2 times (10 each) + payload type (7) + agent (10), then the strings with 6 each.
  EXPECT_EQ(pkt.size(), 6 + 7 + 7 + 10 + 10 + 8 + 8 + 10 + 10 + 7 + 10 + (6 + 6) +
                            (6 + kBye.size()) + (6 + 14));
}

TEST(HepTest, Ipv6TcpWithoutOptionalChunks) {
  HepFields f;
  f.meta = PacketMeta{Protocol::Tcp, ep("::1", 5060), ep("2001:db8::7", 5070), {}};
  f.payload = kBye;
  auto c = chunks(encode(f));
  EXPECT_EQ(c[0x0001], std::string("\x0a", 1));  // AF_INET6
  EXPECT_EQ(c[0x0002], std::string("\x06", 1));  // TCP
  EXPECT_EQ(c[0x0005].size(), 16u);
  EXPECT_EQ(c[0x0006], std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16));
  EXPECT_EQ(c.count(0x0003), 0u);
  EXPECT_EQ(c.count(0x000e), 0u);  // no password: no auth key chunk
  EXPECT_EQ(c.count(0x0011), 0u);  // no correlation id
}

TEST(HepTest, TooSmallBufferEncodesNothing) {
  HepFields f;
  f.meta = PacketMeta{Protocol::Udp, ep("127.0.0.1", 1), ep("127.0.0.1", 2), {}};
  f.payload = kBye;
  std::vector<std::uint8_t> small(40);
  EXPECT_EQ(encode_hep3(small, f), 0u);
  std::vector<std::uint8_t> exact(kMaxHepPacket);
  const std::size_t n = encode_hep3(exact, f);
  ASSERT_GT(n, 0u);
  std::vector<std::uint8_t> fits(n);
  EXPECT_EQ(encode_hep3(fits, f), n);
  std::vector<std::uint8_t> one_short(n - 1);
  EXPECT_EQ(encode_hep3(one_short, f), 0u);
}

TEST(HepTest, SenderDeliversToCollectorAndCounts) {
  asio::io_context io;
  asio::ip::udp::socket collector(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = collector.local_endpoint().port();
  HepSender sender(io, ep("127.0.0.1", port), 7, "");
  sender.send(PacketMeta{Protocol::Udp, ep("127.0.0.1", 5060), ep("127.0.0.1", 5062), {}},
              "corr", kBye);
  std::array<char, 2048> buf{};
  asio::ip::udp::endpoint from;
  const std::size_t n = collector.receive_from(asio::buffer(buf), from);
  auto c = chunks(std::string_view(buf.data(), n));
  EXPECT_EQ(c[0x000f], kBye);
  EXPECT_EQ(be32(c[0x000c], 0), 7u);
  EXPECT_EQ(c[0x0011], "corr");
  EXPECT_EQ(sender.stats().sent, 1u);
  EXPECT_EQ(sender.stats().send_errors, 0u);
  // A message too large for one HEP datagram is counted as an error, not sent.
  sender.send(PacketMeta{Protocol::Tcp, ep("127.0.0.1", 5060), ep("127.0.0.1", 5062), {}}, "",
              std::string(kMaxHepPacket, 'x'));
  EXPECT_EQ(sender.stats().send_errors, 1u);
}

}  // namespace
}  // namespace portico::trace
