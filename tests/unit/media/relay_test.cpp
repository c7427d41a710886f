// RelayStream / MediaRelay on real loopback sockets: exact bytes both ways on RTP and RTCP,
// rtcp-mux, RFC 7362 latching (NAT port, hijack, re-latch), drops by reason, IPv6, teardown.

#include "portico/media/relay.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "media_test_util.hpp"

namespace portico::media {
namespace {

using test::Bytes;
using test::Io;
using test::make_io;
using test::make_rtcp_rr;
using test::make_rtp;
using test::pump_for;
using test::pump_until;
using test::TestPeer;
using namespace std::chrono_literals;

const asio::ip::address kV4 = asio::ip::make_address("127.0.0.1");

constexpr std::size_t kAtoB = 0;
constexpr std::size_t kBtoA = 1;

class RelayTest : public ::testing::TestWithParam<Io> {
 protected:
  RelayDeps deps() {
    return RelayDeps{io_, timers_, ports_, ports_, io_path_.uring.get(), io_path_.epoll.get()};
  }

  /// A stream whose SDP peers are the given endpoints (nullopt = unknown), on 127.0.0.1.
  RelayStreamPtr open(std::optional<Endpoint> a_rtp, std::optional<Endpoint> a_rtcp,
                      std::optional<Endpoint> b_rtp, std::optional<Endpoint> b_rtcp,
                      bool mux = false, bool latch = true, bool any_ip = false) {
    StreamConfig c;
    c.a = SideConfig{kV4, a_rtp, a_rtcp, latch, any_ip};
    c.b = SideConfig{kV4, b_rtp, b_rtcp, latch, any_ip};
    c.rtcp_mux = mux;
    auto s = RelayStream::open(deps(), std::move(c));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().detail);
    return s.ok() ? std::move(s).value() : nullptr;
  }

  bool await(TestPeer& p, std::size_t count) {
    return pump_until(io_, [&] {
      p.poll();
      return p.got.size() >= count;
    });
  }

  asio::io_context io_;
  test::IoPath io_path_ = make_io(io_, GetParam());
  ManualTimerService timers_;
  PortAllocator ports_{io_, timers_, PortAllocatorConfig{{31200, 31599}, Millis{2000}, 32}};
  TestPeer a_rtp_{io_, kV4};
  TestPeer a_rtcp_{io_, kV4};
  TestPeer b_rtp_{io_, kV4};
  TestPeer b_rtcp_{io_, kV4};
};

TEST_P(RelayTest, RelaysRtpAndRtcpBothWaysWithExactBytes) {
  auto s = open(a_rtp_.endpoint(), a_rtcp_.endpoint(), b_rtp_.endpoint(), b_rtcp_.endpoint());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(ports_.in_use_count(), 4U);
  EXPECT_EQ(s->local_rtcp(Side::A).port, s->local_rtp(Side::A).port + 1);

  const Bytes rtp_ab = make_rtp(0x11111111, 1);
  const Bytes rtp_ba = make_rtp(0x22222222, 9, 20);
  const Bytes rtcp_ab = make_rtcp_rr(0x11111111);
  const Bytes rtcp_ba = make_rtcp_rr(0x22222222);
  a_rtp_.send(s->local_rtp(Side::A), rtp_ab);
  a_rtcp_.send(s->local_rtcp(Side::A), rtcp_ab);
  b_rtp_.send(s->local_rtp(Side::B), rtp_ba);
  b_rtcp_.send(s->local_rtcp(Side::B), rtcp_ba);

  ASSERT_TRUE(await(b_rtp_, 1));
  ASSERT_TRUE(await(b_rtcp_, 1));
  ASSERT_TRUE(await(a_rtp_, 1));
  ASSERT_TRUE(await(a_rtcp_, 1));
  EXPECT_EQ(b_rtp_.got[0].data, rtp_ab);
  EXPECT_EQ(b_rtp_.got[0].from, s->local_rtp(Side::B));  // symmetric: sent from B's port
  EXPECT_EQ(b_rtcp_.got[0].data, rtcp_ab);
  EXPECT_EQ(b_rtcp_.got[0].from, s->local_rtcp(Side::B));
  EXPECT_EQ(a_rtp_.got[0].data, rtp_ba);
  EXPECT_EQ(a_rtp_.got[0].from, s->local_rtp(Side::A));
  EXPECT_EQ(a_rtcp_.got[0].data, rtcp_ba);

  const RelayStats& st = s->stats();
  EXPECT_EQ(st.packets[kAtoB], 2U);
  EXPECT_EQ(st.packets[kBtoA], 2U);
  EXPECT_EQ(st.bytes[kAtoB], rtp_ab.size() + rtcp_ab.size());
  EXPECT_EQ(st.bytes[kBtoA], rtp_ba.size() + rtcp_ba.size());
  EXPECT_EQ(st.latched, 4U);
  EXPECT_EQ(st.dropped(), 0U);
  EXPECT_EQ(s->last_rx(Side::A), timers_.now());
}

TEST_P(RelayTest, ManyPacketsKeepOrderAndCounts) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  constexpr std::uint16_t kCount = 100;  // > 3 recvmmsg batches
  for (std::uint16_t i = 0; i < kCount; ++i) {
    a_rtp_.send(s->local_rtp(Side::A), make_rtp(5, i));
  }
  ASSERT_TRUE(await(b_rtp_, kCount));
  for (std::uint16_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(b_rtp_.got[i].data, make_rtp(5, i));
  }
  // io_uring counts a packet when its send completes, possibly reaped after the delivery.
  EXPECT_TRUE(pump_until(io_, [&] { return s->stats().packets[kAtoB] == kCount; }))
      << s->stats().packets[kAtoB];
}

TEST_P(RelayTest, RtcpMuxUsesOnePortPerSide) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt, true);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(ports_.in_use_count(), 2U);
  EXPECT_EQ(s->local_rtcp(Side::A), s->local_rtp(Side::A));
  const Bytes rtp = make_rtp(7, 1);
  const Bytes rtcp = make_rtcp_rr(7);
  a_rtp_.send(s->local_rtp(Side::A), rtp);
  a_rtp_.send(s->local_rtp(Side::A), rtcp);
  b_rtp_.send(s->local_rtp(Side::B), make_rtcp_rr(8));
  ASSERT_TRUE(await(b_rtp_, 2));
  ASSERT_TRUE(await(a_rtp_, 1));
  EXPECT_EQ(b_rtp_.got[0].data, rtp);
  EXPECT_EQ(b_rtp_.got[1].data, rtcp);
  EXPECT_EQ(a_rtp_.got[0].data, make_rtcp_rr(8));
  EXPECT_EQ(s->stats().latched, 2U);  // one flow per side when muxed
}

TEST_P(RelayTest, LatchesToTheRealSourcePortBehindNat) {
  // A's SDP names a port it never sends from (the NAT rewrote it): B's packets first go to the
  // SDP port, then to the source A actually uses once A's first packet arrives.
  TestPeer sdp_port(io_, kV4);
  auto s = open(sdp_port.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  b_rtp_.send(s->local_rtp(Side::B), make_rtp(2, 1));
  ASSERT_TRUE(await(sdp_port, 1));

  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));
  EXPECT_EQ(s->destination(Side::A, Channel::Rtp), a_rtp_.endpoint());
  b_rtp_.send(s->local_rtp(Side::B), make_rtp(2, 2));
  ASSERT_TRUE(await(a_rtp_, 1));
  EXPECT_EQ(a_rtp_.got[0].data, make_rtp(2, 2));
  EXPECT_EQ(sdp_port.got.size(), 1U);
  EXPECT_EQ(s->stats().latched, 2U);
}

TEST_P(RelayTest, HijackFromAThirdSocketIsDroppedWhileThePeerIsActive) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));

  TestPeer attacker(io_, kV4);
  attacker.send(s->local_rtp(Side::A), make_rtp(0xBAD, 1));
  pump_until(io_, [&] { return s->stats().hijack_dropped == 1; });
  timers_.advance(Millis{300});
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 2));
  ASSERT_TRUE(await(b_rtp_, 2));
  pump_for(io_, 20ms);
  b_rtp_.poll();
  EXPECT_EQ(b_rtp_.got.size(), 2U);
  EXPECT_EQ(b_rtp_.got[1].data, make_rtp(1, 2));
  EXPECT_EQ(s->stats().hijack_dropped, 1U);
  EXPECT_EQ(s->destination(Side::A, Channel::Rtp), a_rtp_.endpoint());
}

TEST_P(RelayTest, RelatchesAfterSilenceFromTheSignalledAddress) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));

  TestPeer moved(io_, kV4);  // the same endpoint after a new NAT binding
  moved.send(s->local_rtp(Side::A), make_rtp(1, 2));  // the first source is still alive
  ASSERT_TRUE(pump_until(io_, [&] { return s->stats().hijack_dropped == 1; }));
  timers_.advance(Millis{1000});
  moved.send(s->local_rtp(Side::A), make_rtp(1, 3));  // silent long enough: the stream moved
  ASSERT_TRUE(await(b_rtp_, 2));
  EXPECT_EQ(b_rtp_.got[1].data, make_rtp(1, 3));
  EXPECT_EQ(s->stats().relatched, 1U);
  EXPECT_EQ(s->destination(Side::A, Channel::Rtp), moved.endpoint());

  b_rtp_.send(s->local_rtp(Side::B), make_rtp(9, 1));
  ASSERT_TRUE(await(moved, 1));
  a_rtp_.poll();
  EXPECT_TRUE(a_rtp_.got.empty());
}

TEST_P(RelayTest, SilentStreamIsNotTakenOverByAStrangerWithANewSsrc) {
  // latch_any_ip (the peer's SDP names an address it never sends from): a stream on hold
  // stays with its source; a new SSRC from another address does not re-latch it.
  auto s =
      open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt, false, true, true);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));
  timers_.advance(Millis{5000});
  TestPeer stranger(io_, asio::ip::make_address("127.0.0.3"));
  stranger.send(s->local_rtp(Side::A), make_rtp(0xBAD, 1));
  ASSERT_TRUE(pump_until(io_, [&] { return s->stats().hijack_dropped == 1; }));
  EXPECT_EQ(s->destination(Side::A, Channel::Rtp), a_rtp_.endpoint());
  EXPECT_EQ(s->stats().relatched, 0U);
}

TEST_P(RelayTest, WithoutLatchingOnlyTheSdpAddressIsRelayed) {
  // A realm without nat: an anchored port relays only what the SDP's peer sends, so it is
  // no open relay for a third party that learnt the port.
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt, false, false);
  ASSERT_NE(s, nullptr);
  TestPeer stranger(io_, asio::ip::make_address("127.0.0.3"));
  stranger.send(s->local_rtp(Side::A), make_rtp(0xBAD, 1));
  ASSERT_TRUE(pump_until(io_, [&] { return s->stats().source_dropped == 1; }));
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));
  pump_for(io_, 20ms);
  b_rtp_.poll();
  ASSERT_EQ(b_rtp_.got.size(), 1U);
  EXPECT_EQ(b_rtp_.got[0].data, make_rtp(1, 1));
  EXPECT_EQ(s->stats().source_dropped, 1U);
  EXPECT_EQ(s->stats().latched, 0U);
}

TEST_P(RelayTest, ShortPacketsAreDroppedWhenLatchingNeedsAnSsrc) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), Bytes{0x80, 0x00, 0x01});                 // too short
  a_rtp_.send(s->local_rtp(Side::A), Bytes(20, 0x00));                        // version 0
  ASSERT_TRUE(pump_until(io_, [&] { return s->stats().malformed_rtp == 2; }));
  EXPECT_EQ(s->stats().latched, 0U);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));
  EXPECT_EQ(b_rtp_.got[0].data, make_rtp(1, 1));
  EXPECT_EQ(s->stats().latched, 1U);
}

TEST_P(RelayTest, NoDestinationUntilThePeerIsKnown) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, std::nullopt, std::nullopt);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(pump_until(io_, [&] { return s->stats().no_destination == 1; }));
  // B is not signalled yet but sends first (latching with no SDP address): now B is known.
  b_rtp_.send(s->local_rtp(Side::B), make_rtp(2, 1));
  ASSERT_TRUE(await(a_rtp_, 1));
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 2));
  ASSERT_TRUE(await(b_rtp_, 1));
  EXPECT_EQ(b_rtp_.got[0].data, make_rtp(1, 2));
  EXPECT_EQ(s->stats().no_destination, 1U);
}

TEST_P(RelayTest, SetPeerResetsLatching) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(b_rtp_, 1));
  TestPeer renegotiated(io_, kV4);
  s->set_peer(Side::A, renegotiated.endpoint(), std::nullopt);  // re-INVITE moved A
  EXPECT_EQ(s->destination(Side::A, Channel::Rtp), renegotiated.endpoint());
  EXPECT_EQ(s->destination(Side::A, Channel::Rtcp),
            (Endpoint{kV4, static_cast<std::uint16_t>(renegotiated.endpoint().port + 1)}));
  renegotiated.send(s->local_rtp(Side::A), make_rtp(3, 1));
  ASSERT_TRUE(await(b_rtp_, 2));
}

TEST_P(RelayTest, OversizeDatagramsAreDropped) {
  auto s = open(a_rtp_.endpoint(), std::nullopt, b_rtp_.endpoint(), std::nullopt);
  ASSERT_NE(s, nullptr);
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1, 3000));
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 2, 2048 - 12));  // exactly the limit
  ASSERT_TRUE(await(b_rtp_, 1));
  EXPECT_EQ(b_rtp_.got[0].data.size(), 2048U);
  EXPECT_EQ(s->stats().oversize, 1U);
}

/// Appends a fake 10-byte auth tag on A→B (as SRTP protect would) and drops B→A RTCP.
class TagTransform final : public PacketTransform {
 public:
  bool apply(Direction dir, Channel channel, std::span<std::uint8_t>& packet,
             std::size_t capacity) override {
    capacities.push_back(capacity);
    if (dir == Direction::BtoA) {
      return channel == Channel::Rtp;
    }
    std::span<std::uint8_t> grown(packet.data(), packet.size() + 10);
    std::fill(grown.begin() + static_cast<long>(packet.size()), grown.end(), 0xEE);
    packet = grown;
    return true;
  }
  std::vector<std::size_t> capacities;
};

TEST_P(RelayTest, TransformRunsBetweenReceiveAndSend) {
  auto s = open(a_rtp_.endpoint(), a_rtcp_.endpoint(), b_rtp_.endpoint(), b_rtcp_.endpoint());
  ASSERT_NE(s, nullptr);
  auto owned = std::make_unique<TagTransform>();
  TagTransform* t = owned.get();
  s->set_transform(std::move(owned));
  a_rtp_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  b_rtcp_.send(s->local_rtcp(Side::B), make_rtcp_rr(2));
  b_rtp_.send(s->local_rtp(Side::B), make_rtp(2, 1));
  ASSERT_TRUE(await(b_rtp_, 1));
  ASSERT_TRUE(await(a_rtp_, 1));
  Bytes expected = make_rtp(1, 1);
  expected.insert(expected.end(), 10, 0xEE);
  EXPECT_EQ(b_rtp_.got[0].data, expected);
  EXPECT_EQ(a_rtp_.got[0].data, make_rtp(2, 1));
  ASSERT_TRUE(pump_until(io_, [&] { return s->stats().transform_dropped == 1; }));
  ASSERT_FALSE(t->capacities.empty());
  EXPECT_GE(t->capacities[0], 2048U + 64U);
}

TEST(RelayIpv6Test, RelaysOverIpv6Loopback) {
  asio::io_context io;
  ManualTimerService timers;
  PortAllocator ports(io, timers, PortAllocatorConfig{{31600, 31699}, Millis{2000}, 32});
  const auto v6 = asio::ip::make_address("::1");
  std::optional<TestPeer> a;
  std::optional<TestPeer> b;
  try {
    a.emplace(io, v6);
    b.emplace(io, v6);
  } catch (const std::system_error& e) {
    FAIL() << "IPv6 is required and ::1 is unusable here: " << e.what();
  }
  StreamConfig c;
  c.a = SideConfig{v6, a->endpoint(), std::nullopt, true, false};
  c.b = SideConfig{v6, b->endpoint(), std::nullopt, true, false};
  c.rtcp_mux = true;
  auto s = RelayStream::open(RelayDeps{io, timers, ports, ports}, std::move(c));
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_TRUE((*s)->local_rtp(Side::A).address.is_v6());
  a->send((*s)->local_rtp(Side::A), make_rtp(1, 1));
  b->send((*s)->local_rtp(Side::B), make_rtp(2, 1));
  ASSERT_TRUE(pump_until(io, [&] {
    a->poll();
    b->poll();
    return a->got.size() == 1 && b->got.size() == 1;
  }));
  EXPECT_EQ(b->got[0].data, make_rtp(1, 1));
  EXPECT_EQ(a->got[0].data, make_rtp(2, 1));
  EXPECT_EQ(b->got[0].from, (*s)->local_rtp(Side::B));
}

INSTANTIATE_TEST_SUITE_P(Engines, RelayTest,
                         ::testing::Values(Io::AsioWait, Io::EpollSet, Io::IoUring),
                         [](const ::testing::TestParamInfo<Io>& i) {
                           return test::io_name(i.param);
                         });

}  // namespace
}  // namespace portico::media
