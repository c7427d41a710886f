// ShardTransport as a whole: start-up (SO_REUSEPORT across shards, bind failures), advertised
// addresses, and sends for a connection owned by another shard.

#include "portico/transport/shard_transport.hpp"

#include <gtest/gtest.h>

#include <asio/post.hpp>

#include "transport_test_support.hpp"

namespace portico::transport::testing {
namespace {

/// Two shards on the same listener addresses, driven by the test thread.
class TwoShards : public ::testing::Test {
 protected:
  void start() {
    udp_port_ = free_port(kLoopback4);
    tcp_port_ = free_port(kLoopback4);
    ASSERT_NE(udp_port_, 0);
    ASSERT_NE(tcp_port_, 0);
    // Posts to the other io_context; that shard's transport runs the task on its own turn.
    PostToShard post = [this](std::uint16_t shard, std::function<void(ShardTransport&)> fn) {
      TestShard& target = shard == 0 ? s0_ : s1_;
      asio::post(target.io, [&target, fn = std::move(fn)] {
        if (target.transport) {
          fn(*target.transport);
        }
      });
    };
    for (TestShard* s : {&s0_, &s1_}) {
      s->start({listener("access", Protocol::Udp, kLoopback4, udp_port_),
                listener("access", Protocol::Tcp, kLoopback4, tcp_port_)},
               {}, post);
    }
  }
  bool run(std::function<bool()> pred) { return run_until({&s0_.io, &s1_.io}, pred); }

  TestShard s0_{0};
  TestShard s1_{1};
  std::uint16_t udp_port_ = 0;
  std::uint16_t tcp_port_ = 0;
};

TEST_F(TwoShards, BothBindTheSameUdpAndTcpAddress) {
  start();
  ASSERT_TRUE(s0_.transport && s1_.transport);
  // Several peers: the kernel spreads them over both sockets; every datagram lands once.
  std::vector<std::unique_ptr<UdpPeer>> peers;
  for (int i = 0; i < 8; ++i) {
    peers.push_back(std::make_unique<UdpPeer>(s0_.io, kLoopback4));
    peers.back()->send(Endpoint{kLoopback4, udp_port_}, sip_request("p" + std::to_string(i)));
  }
  ASSERT_TRUE(run([&] { return s0_.inbound.size() + s1_.inbound.size() == 8; }));
  for (const TestShard* s : {&s0_, &s1_}) {
    for (const Inbound& in : s->inbound) {
      EXPECT_EQ(in.flow.local, (Endpoint{kLoopback4, udp_port_}));
    }
  }
  TcpPeer tcp(s0_.io);
  ASSERT_TRUE(tcp.connect(Endpoint{kLoopback4, tcp_port_}));
  ASSERT_TRUE(run([&] {
    return s0_.transport->connection_count() + s1_.transport->connection_count() == 1;
  }));
}

TEST_F(TwoShards, SendForAConnectionOfAnotherShardIsPostedThere) {
  start();
  TcpPeer peer(s0_.io);
  ASSERT_TRUE(peer.connect(Endpoint{kLoopback4, tcp_port_}));
  peer.write(sip_request("cross"));
  ASSERT_TRUE(run([&] { return s0_.inbound.size() + s1_.inbound.size() == 1; }));
  TestShard& owner = s0_.inbound.empty() ? s1_ : s0_;
  TestShard& other = &owner == &s0_ ? s1_ : s0_;
  const Flow flow = owner.inbound[0].flow;
  EXPECT_EQ(flow.connection.shard, owner.index);

  std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_TRUE(other.transport->send(
      Destination{"access", Protocol::Tcp, flow.remote, flow.connection}, response));
  ASSERT_TRUE(run([&] {
    peer.poll();
    return peer.received.size() >= response.size();
  }));
  EXPECT_EQ(peer.received, response);
  EXPECT_TRUE(run([&] { return owner.transport->stats().stream_messages_out == 1; }));
  EXPECT_EQ(other.transport->stats().stream_messages_out, 0u);
  EXPECT_EQ(other.transport->connection_count(), 0u);  // no second connection opened
  EXPECT_EQ(owner.transport->connection_count(), 1u);
}

TEST(ShardTransportStartup, BindConflictThrowsSystemError) {
  asio::io_context io;
  // A socket without SO_REUSEPORT owns the port: joining its group must fail at start-up.
  asio::ip::udp::socket holder(io, asio::ip::udp::endpoint(kLoopback4, 0));
  std::uint16_t port = holder.local_endpoint().port();
  TestShard shard;
  EXPECT_THROW(shard.start({listener("access", Protocol::Udp, kLoopback4, port)}),
               std::system_error);
  EXPECT_FALSE(shard.transport);
}

// TLS listeners bind like TCP ones (their certificate comes with set_tls, tls_transport_test).
TEST(ShardTransportStartup, TlsListenerIsBoundAndAdvertised) {
  TestShard shard;
  const std::uint16_t port = free_port(kLoopback4);
  shard.start({listener("access", Protocol::Tls, kLoopback4, port)});
  std::string host;
  std::uint16_t advertised = 0;
  ASSERT_TRUE(shard.transport->local_address("access", Protocol::Tls, false, host, advertised));
  EXPECT_EQ(advertised, port);
  EXPECT_FALSE(shard.transport->local_address("access", Protocol::Tcp, false, host, advertised));
}

TEST(ShardTransportStartup, LocalAddressUsesAdvertisedValuesElseTheBind) {
  std::uint16_t p4 = free_port(kLoopback4);
  std::vector<ListenerConfig> listeners{listener("access", Protocol::Udp, kLoopback4, p4),
                                        listener("access", Protocol::Tcp, kLoopback4, p4)};
  listeners[1].advertised_host = "sbc.example.com";
  listeners[1].advertised_port = 5070;
  bool v6 = ipv6_loopback_available();
  std::uint16_t p6 = v6 ? free_port(kLoopback6) : 0;
  if (v6) {
    listeners.push_back(listener("carrier", Protocol::Udp, kLoopback6, p6));
  }
  TestShard shard;
  shard.start(listeners);
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(shard.transport->local_address("access", Protocol::Udp, false, host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, p4);
  ASSERT_TRUE(shard.transport->local_address("access", Protocol::Tcp, false, host, port));
  EXPECT_EQ(host, "sbc.example.com");
  EXPECT_EQ(port, 5070);
  EXPECT_FALSE(shard.transport->local_address("access", Protocol::Udp, true, host, port));
  EXPECT_FALSE(shard.transport->local_address("access", Protocol::Tls, false, host, port));
  EXPECT_FALSE(shard.transport->local_address("nowhere", Protocol::Udp, false, host, port));
  if (v6) {
    ASSERT_TRUE(shard.transport->local_address("carrier", Protocol::Udp, true, host, port));
    EXPECT_EQ(host, "::1");  // no brackets: callers add them where the grammar needs them
    EXPECT_EQ(port, p6);
  }
}

}  // namespace
}  // namespace portico::transport::testing
