// ShardTransport over UDP on real loopback sockets.

#include <gtest/gtest.h>

#include "transport_test_support.hpp"

namespace portico::transport::testing {
namespace {

class UdpTransport : public ::testing::Test {
 protected:
  void start(asio::ip::address addr = kLoopback4, TransportLimits limits = {}) {
    port_ = free_port(addr);
    ASSERT_NE(port_, 0);
    bind_ = Endpoint{addr, port_};
    shard_.start({listener("access", Protocol::Udp, addr, port_)}, limits);
  }
  const TransportStats& stats() { return shard_.transport->stats(); }

  TestShard shard_;
  std::uint16_t port_ = 0;
  Endpoint bind_;
};

TEST_F(UdpTransport, ReceiveDeliversFlowWithRealmLocalAndRemote) {
  start();
  UdpPeer peer(shard_.io, kLoopback4);
  std::string request = sip_request("a1");
  peer.send(bind_, request);
  ASSERT_TRUE(run_until(shard_.io, [&] { return !shard_.inbound.empty(); }));
  const Inbound& in = shard_.inbound.front();
  EXPECT_EQ(in.data, request);
  EXPECT_EQ(in.flow.protocol, Protocol::Udp);
  EXPECT_EQ(in.flow.realm, "access");
  EXPECT_EQ(in.flow.local, bind_);
  EXPECT_EQ(in.flow.remote, peer.local());
  EXPECT_FALSE(in.flow.connection.valid());
  EXPECT_NE(in.received, TimePoint{});
  EXPECT_EQ(stats().datagrams_in, 1u);
}

TEST_F(UdpTransport, SendGoesOutFromTheListenerPort) {
  start();
  UdpPeer peer(shard_.io, kLoopback4);
  EXPECT_TRUE(shard_.transport->send(Destination{"access", Protocol::Udp, peer.local(), {}},
                                     "SIP/2.0 200 OK\r\n\r\n"));
  Endpoint from;
  std::optional<std::string> got;
  ASSERT_TRUE(run_until(shard_.io, [&] { return (got = peer.poll(&from)).has_value(); }));
  EXPECT_EQ(*got, "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(from, bind_);  // symmetric: replies come from the address the peer sent to
  EXPECT_EQ(stats().datagrams_out, 1u);
  Endpoint sending;  // what traces show as this end
  EXPECT_TRUE(shard_.transport->sending_endpoint(
      Destination{"access", Protocol::Udp, peer.local(), {}}, sending));
  EXPECT_EQ(sending, from);
  EXPECT_FALSE(shard_.transport->sending_endpoint(
      Destination{"carrier", Protocol::Udp, peer.local(), {}}, sending));  // no such listener
}

TEST_F(UdpTransport, SendWithoutMatchingListenerReturnsFalse) {
  start();
  Endpoint v6_peer{kLoopback6, 5060};
  Endpoint v4_peer{kLoopback4, 5060};
  EXPECT_FALSE(shard_.transport->send(Destination{"access", Protocol::Udp, v6_peer, {}}, "x"));
  EXPECT_FALSE(shard_.transport->send(Destination{"carrier", Protocol::Udp, v4_peer, {}}, "x"));
  EXPECT_FALSE(shard_.transport->send(Destination{"access", Protocol::Tcp, v4_peer, {}}, "x"));
  EXPECT_EQ(stats().datagrams_out, 0u);
}

TEST_F(UdpTransport, DoubleCrlfPingGetsCrlfPongAndIsNotDelivered) {
  start();
  UdpPeer peer(shard_.io, kLoopback4);
  peer.send(bind_, "\r\n\r\n");
  std::optional<std::string> pong;
  Endpoint from;
  ASSERT_TRUE(run_until(shard_.io, [&] { return (pong = peer.poll(&from)).has_value(); }));
  EXPECT_EQ(*pong, "\r\n");
  EXPECT_EQ(from, bind_);
  // A lone CRLF is a keepalive too, but only the double-CRLF ping is answered.
  peer.send(bind_, "\r\n");
  std::string request = sip_request("after-ping");
  peer.send(bind_, request);
  ASSERT_TRUE(run_until(shard_.io, [&] { return !shard_.inbound.empty(); }));
  ASSERT_EQ(shard_.inbound.size(), 1u);
  EXPECT_EQ(shard_.inbound[0].data, request);
  EXPECT_EQ(stats().keepalives, 2u);
  EXPECT_FALSE(peer.poll().has_value());
}

TEST_F(UdpTransport, OversizeDatagramIsDroppedAndCounted) {
  TransportLimits limits;
  limits.max_message_size = 1000;
  start(kLoopback4, limits);
  UdpPeer peer(shard_.io, kLoopback4);
  peer.send(bind_, std::string(1001, 'x'));
  peer.send(bind_, std::string(1000, 'y'));  // exactly at the limit: delivered
  ASSERT_TRUE(run_until(shard_.io, [&] { return !shard_.inbound.empty(); }));
  EXPECT_EQ(shard_.inbound.size(), 1u);
  EXPECT_EQ(shard_.inbound[0].data, std::string(1000, 'y'));
  EXPECT_EQ(stats().oversize_dropped, 1u);
  EXPECT_EQ(stats().datagrams_in, 1u);
}

TEST_F(UdpTransport, Ipv6ListenerOnLoopback) {
  if (!ipv6_loopback_available()) {
    FAIL() << "IPv6 is required and ::1 is unusable here";
  }
  start(kLoopback6);
  UdpPeer peer(shard_.io, kLoopback6);
  std::string request = sip_request("v6");
  peer.send(bind_, request);
  ASSERT_TRUE(run_until(shard_.io, [&] { return !shard_.inbound.empty(); }));
  EXPECT_EQ(shard_.inbound[0].flow.local, bind_);
  EXPECT_EQ(shard_.inbound[0].flow.remote, peer.local());
  EXPECT_TRUE(shard_.transport->send(
      Destination{"access", Protocol::Udp, shard_.inbound[0].flow.remote, {}}, "reply"));
  Endpoint from;
  std::optional<std::string> got;
  ASSERT_TRUE(run_until(shard_.io, [&] { return (got = peer.poll(&from)).has_value(); }));
  EXPECT_EQ(*got, "reply");
  EXPECT_EQ(from, bind_);
  // An IPv4 destination has no listener of its family in this realm.
  EXPECT_FALSE(shard_.transport->send(
      Destination{"access", Protocol::Udp, Endpoint{kLoopback4, 5060}, {}}, "x"));
}

TEST_F(UdpTransport, CloseStopsReceivingAndRefusesSends) {
  start();
  shard_.transport->close();
  UdpPeer peer(shard_.io, kLoopback4);
  peer.send(bind_, sip_request("late"));
  run_for(shard_.io, 50ms);
  EXPECT_TRUE(shard_.inbound.empty());
  EXPECT_FALSE(shard_.transport->send(Destination{"access", Protocol::Udp, peer.local(), {}}, "x"));
}

}  // namespace
}  // namespace portico::transport::testing
