// Policy reload on one shard's transport: new listeners are bound first and only start on
// commit, a bind failure leaves nothing new behind, and dropped listeners stop receiving while
// the remaining ones keep serving.

#include <gtest/gtest.h>

#include "transport_test_support.hpp"

namespace portico::transport::testing {
namespace {

/// True when a plain socket (no SO_REUSEPORT) can take `port`: nothing else holds it.
/// `Socket` is asio::ip::udp::socket or asio::ip::tcp::acceptor.
template <class Socket>
bool port_free(std::uint16_t port) {
  asio::io_context io;
  Socket s(io);
  std::error_code ec;
  s.open(Socket::protocol_type::v4(), ec);
  s.bind({kLoopback4, port}, ec);
  return !ec;
}

bool udp_port_free(std::uint16_t port) { return port_free<asio::ip::udp::socket>(port); }
bool tcp_port_free(std::uint16_t port) { return port_free<asio::ip::tcp::acceptor>(port); }

TEST(ListenerReload, CommitOpensNewListenersAndClosesDroppedOnes) {
  std::uint16_t old_port = free_port(kLoopback4);
  std::uint16_t new_port = free_port(kLoopback4);
  ASSERT_NE(old_port, new_port);
  TestShard shard;
  shard.start({listener("access", Protocol::Udp, kLoopback4, old_port)});
  std::vector<ListenerConfig> next{listener("access", Protocol::Udp, kLoopback4, new_port),
                                   listener("access", Protocol::Tcp, kLoopback4, new_port)};

  ASSERT_EQ(shard.transport->prepare_listeners(next), "");
  EXPECT_FALSE(udp_port_free(new_port)) << "prepare must bind the new listener";
  auto [opened, closed] = shard.transport->commit_listeners(next);
  EXPECT_EQ(opened, 2u);
  EXPECT_EQ(closed, 1u);
  EXPECT_TRUE(udp_port_free(old_port)) << "the dropped listener still holds its port";

  UdpPeer peer(shard.io, kLoopback4);
  peer.send(Endpoint{kLoopback4, new_port}, sip_request("reload1"));
  ASSERT_TRUE(run_until(shard.io, [&] { return shard.inbound.size() == 1; }));
  EXPECT_EQ(shard.inbound[0].flow.local.port, new_port);
  TcpPeer tcp(shard.io);
  ASSERT_TRUE(tcp.connect(Endpoint{kLoopback4, new_port}));
  tcp.write(sip_request("reload2"));
  ASSERT_TRUE(run_until(shard.io, [&] { return shard.inbound.size() == 2; }));

  // Sends on the realm now leave from the new listener.
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(shard.transport->local_address("access", Protocol::Udp, false, host, port));
  EXPECT_EQ(port, new_port);
}

TEST(ListenerReload, BindFailureLeavesNothingNewAndTheOldListenersServing) {
  std::uint16_t kept = free_port(kLoopback4);
  std::uint16_t fresh = free_port(kLoopback4);
  asio::io_context io;
  // A socket without SO_REUSEPORT owns this port: joining it must fail.
  asio::ip::udp::socket holder(io, asio::ip::udp::endpoint(kLoopback4, 0));
  std::uint16_t taken = holder.local_endpoint().port();
  TestShard shard;
  shard.start({listener("access", Protocol::Udp, kLoopback4, kept)});

  std::string error = shard.transport->prepare_listeners(
      {listener("access", Protocol::Udp, kLoopback4, kept),
       listener("access", Protocol::Tcp, kLoopback4, fresh),
       listener("carrier", Protocol::Udp, kLoopback4, taken)});
  EXPECT_NE(error.find(std::to_string(taken)), std::string::npos) << error;
  EXPECT_TRUE(tcp_port_free(fresh)) << "a failed prepare left a listener bound";

  UdpPeer peer(shard.io, kLoopback4);
  peer.send(Endpoint{kLoopback4, kept}, sip_request("still"));
  ASSERT_TRUE(run_until(shard.io, [&] { return shard.inbound.size() == 1; }));
}

TEST(ListenerReload, AbortReleasesPreparedListeners) {
  std::uint16_t kept = free_port(kLoopback4);
  std::uint16_t fresh = free_port(kLoopback4);
  TestShard shard;
  shard.start({listener("access", Protocol::Udp, kLoopback4, kept)});
  ASSERT_EQ(shard.transport->prepare_listeners(
                {listener("access", Protocol::Udp, kLoopback4, fresh)}),
            "");
  shard.transport->abort_listeners();
  EXPECT_TRUE(udp_port_free(fresh));
  EXPECT_FALSE(udp_port_free(kept));
}

TEST(ListenerReload, KeptListenerTakesTheNewAdvertisedAddress) {
  std::uint16_t port = free_port(kLoopback4);
  TestShard shard;
  shard.start({listener("access", Protocol::Udp, kLoopback4, port)});
  ListenerConfig same = listener("access", Protocol::Udp, kLoopback4, port);
  same.advertised_host = "203.0.113.7";
  ASSERT_EQ(shard.transport->prepare_listeners({same}), "");
  auto [opened, closed] = shard.transport->commit_listeners({same});
  EXPECT_EQ(opened, 0u);
  EXPECT_EQ(closed, 0u);
  std::string host;
  std::uint16_t p = 0;
  ASSERT_TRUE(shard.transport->local_address("access", Protocol::Udp, false, host, p));
  EXPECT_EQ(host, "203.0.113.7");
  EXPECT_EQ(p, port);
}

}  // namespace
}  // namespace portico::transport::testing
