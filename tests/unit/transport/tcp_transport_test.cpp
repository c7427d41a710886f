// ShardTransport over TCP on real loopback sockets: framing, keepalives, replies on the same
// connection, outbound connections, reuse, failures and idle timeout.

#include <gtest/gtest.h>

#include <algorithm>

#include "transport_test_support.hpp"

namespace portico::transport::testing {
namespace {

class TcpTransport : public ::testing::Test {
 protected:
  void start(TransportLimits limits = {}, asio::ip::address addr = kLoopback4) {
    port_ = free_port(addr);
    ASSERT_NE(port_, 0);
    bind_ = Endpoint{addr, port_};
    shard_.start({listener("access", Protocol::Tcp, addr, port_)}, limits);
  }
  const TransportStats& stats() { return shard_.transport->stats(); }
  bool wait_inbound(std::size_t n) {
    return run_until(shard_.io, [&] { return shard_.inbound.size() >= n; });
  }
  bool wait_peer(TcpPeer& peer, std::size_t bytes) {
    return run_until(shard_.io, [&] {
      peer.poll();
      return peer.received.size() >= bytes || peer.closed;
    });
  }
  bool wait_closed(TcpPeer& peer) {
    return run_until(shard_.io, [&] {
      peer.poll();
      return peer.closed;
    });
  }

  TestShard shard_;
  std::uint16_t port_ = 0;
  Endpoint bind_;
};

/// A plain acceptor standing in for a remote SIP server.
struct TestServer {
  explicit TestServer(asio::io_context& io, asio::ip::address addr = kLoopback4) : acceptor(io) {
    std::error_code ec;
    acceptor.open(addr.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), ec);
    acceptor.bind({addr, 0}, ec);
    acceptor.listen(16, ec);
    acceptor.non_blocking(true, ec);
  }
  Endpoint endpoint() const {
    std::error_code ec;
    auto e = acceptor.local_endpoint(ec);
    return Endpoint{e.address(), e.port()};
  }
  /// Accepts one pending connection, if any.
  bool poll_accept(asio::io_context& io) {
    auto peer = std::make_unique<TcpPeer>(io);
    std::error_code ec;
    acceptor.accept(peer->socket, ec);
    if (ec) {
      return false;
    }
    peer->socket.non_blocking(true, ec);
    peers.push_back(std::move(peer));
    return true;
  }
  asio::ip::tcp::acceptor acceptor;
  std::vector<std::unique_ptr<TcpPeer>> peers;
};

TEST_F(TcpTransport, PeerCloseIsReportedWithTheConnectionOfItsMessages) {
  start();
  std::vector<ConnectionRef> closed;
  shard_.transport->on_connection_closed(
      [&closed](const ConnectionRef& ref) { closed.push_back(ref); });
  {
    TcpPeer peer(shard_.io);
    ASSERT_TRUE(peer.connect(bind_));
    peer.write(sip_request("c1"));
    ASSERT_TRUE(wait_inbound(1));
  }  // the peer hangs up
  ASSERT_TRUE(run_until(shard_.io, [&] { return !closed.empty(); }));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0], shard_.inbound[0].flow.connection);

  // Shutdown closes connections too, but nothing is reported: nothing is left to act on it.
  TcpPeer other(shard_.io);
  ASSERT_TRUE(other.connect(bind_));
  other.write(sip_request("c2"));
  ASSERT_TRUE(wait_inbound(2));
  shard_.transport->close();
  run_for(shard_.io, 50ms);
  EXPECT_EQ(closed.size(), 1u);
}

TEST_F(TcpTransport, TwoMessagesInOneSegment) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  std::string a = sip_request("one");
  std::string b = sip_request("two", "body");
  peer.write(a + b);
  ASSERT_TRUE(wait_inbound(2));
  EXPECT_EQ(shard_.inbound[0].data, a);
  EXPECT_EQ(shard_.inbound[1].data, b);
  const Flow& f = shard_.inbound[0].flow;
  EXPECT_EQ(f.protocol, Protocol::Tcp);
  EXPECT_EQ(f.realm, "access");
  EXPECT_EQ(f.local, bind_);
  EXPECT_EQ(f.remote, peer.local());
  EXPECT_TRUE(f.connection.valid());
  EXPECT_EQ(f.connection.shard, 0);
  EXPECT_EQ(shard_.inbound[1].flow.connection, f.connection);
  EXPECT_EQ(stats().stream_messages_in, 2u);
  EXPECT_EQ(stats().connections_opened, 1u);
  EXPECT_EQ(shard_.transport->connection_count(), 1u);
}

TEST_F(TcpTransport, MessageSplitAcrossByteSizedWrites) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  std::error_code ec;
  peer.socket.set_option(asio::ip::tcp::no_delay(true), ec);  // one segment per byte
  std::string m = sip_request("bytes", "v=0\r\n");
  for (char c : m) {
    peer.write(std::string(1, c));
    run_for(shard_.io, 1ms);
  }
  ASSERT_TRUE(wait_inbound(1));
  EXPECT_EQ(shard_.inbound.size(), 1u);
  EXPECT_EQ(shard_.inbound[0].data, m);
}

TEST_F(TcpTransport, BodyIsFramedExactlyByContentLength) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  // The body contains a blank line and text that looks like a start-line.
  std::string body = "v=0\r\n\r\nINVITE sip:x SIP/2.0\r\n";
  std::string a = sip_request("body", body, "l");
  std::string b = sip_request("next");
  peer.write(a + "\r\n" + b);  // a CRLF between messages is ignored (RFC 3261 §7.5)
  ASSERT_TRUE(wait_inbound(2));
  EXPECT_EQ(shard_.inbound[0].data, a);
  EXPECT_TRUE(shard_.inbound[0].data.ends_with(body));
  EXPECT_EQ(shard_.inbound[1].data, b);
}

TEST_F(TcpTransport, MissingContentLengthClosesAndCounts) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  peer.write("OPTIONS sip:x SIP/2.0\r\nCall-ID: nolength\r\n\r\n");
  ASSERT_TRUE(wait_closed(peer));
  EXPECT_TRUE(shard_.inbound.empty());
  EXPECT_EQ(stats().framing_errors, 1u);
  EXPECT_EQ(stats().connections_closed, 1u);
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
}

TEST_F(TcpTransport, OversizeClosesAndCounts) {
  TransportLimits limits;
  limits.max_message_size = 300;
  start(limits);
  TcpPeer big_body(shard_.io);
  ASSERT_TRUE(big_body.connect(bind_));
  big_body.write(sip_request("big", std::string(400, 'b')));
  ASSERT_TRUE(wait_closed(big_body));
  TcpPeer endless(shard_.io);
  ASSERT_TRUE(endless.connect(bind_));
  endless.write("OPTIONS sip:x SIP/2.0\r\nX: " + std::string(400, 'h'));
  ASSERT_TRUE(wait_closed(endless));
  EXPECT_TRUE(shard_.inbound.empty());
  EXPECT_EQ(stats().oversize_dropped, 2u);
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
}

TEST_F(TcpTransport, PingGetsPongAndIsNotDelivered) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  peer.write("\r\n\r\n");
  ASSERT_TRUE(wait_peer(peer, 2));
  EXPECT_EQ(peer.received, "\r\n");
  EXPECT_TRUE(shard_.inbound.empty());
  EXPECT_EQ(stats().keepalives, 1u);
  EXPECT_EQ(stats().stream_messages_out, 0u);
}

TEST_F(TcpTransport, ResponseGoesBackOnTheSameConnection) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  peer.write(sip_request("req"));
  ASSERT_TRUE(wait_inbound(1));
  const Flow& f = shard_.inbound[0].flow;
  std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  bool failed = false;
  EXPECT_TRUE(shard_.transport->send(Destination{"access", Protocol::Tcp, f.remote, f.connection},
                                     response, [&] { failed = true; }));
  ASSERT_TRUE(wait_peer(peer, response.size()));
  EXPECT_EQ(peer.received, response);
  EXPECT_FALSE(failed);
  // The peer may read the bytes before the write completion has run on the shard.
  EXPECT_TRUE(run_until(shard_.io, [&] { return stats().stream_messages_out == 1; }));
  EXPECT_EQ(stats().connections_opened, 1u);
}

TEST_F(TcpTransport, OutboundConnectionDeliversAndReadsTheReply) {
  start();
  TestServer server(shard_.io);
  std::string request = sip_request("out");
  EXPECT_TRUE(shard_.transport->send(Destination{"access", Protocol::Tcp, server.endpoint(), {}},
                                     request));
  ASSERT_TRUE(run_until(shard_.io, [&] { return server.poll_accept(shard_.io); }));
  TcpPeer& far = *server.peers[0];
  ASSERT_TRUE(wait_peer(far, request.size()));
  EXPECT_EQ(far.received, request);
  std::error_code ec;
  EXPECT_EQ(far.socket.remote_endpoint(ec).address(), kLoopback4);  // from the realm's address
  std::string reply = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  far.write(reply);
  ASSERT_TRUE(wait_inbound(1));
  const Flow& f = shard_.inbound[0].flow;
  EXPECT_EQ(shard_.inbound[0].data, reply);
  EXPECT_EQ(f.remote, server.endpoint());
  // The Flow names this end as it really is: the realm's address, the connection's own port.
  const auto far_sees = far.socket.remote_endpoint(ec);
  EXPECT_EQ(f.local, (Endpoint{bind_.address, far_sees.port()}));
  EXPECT_NE(f.local.port, bind_.port);
  EXPECT_TRUE(f.connection.valid());
  Endpoint sending;
  EXPECT_TRUE(shard_.transport->sending_endpoint(
      Destination{"access", Protocol::Tcp, server.endpoint(), f.connection}, sending));
  EXPECT_EQ(sending, f.local);  // what traces show for messages sent on this connection
  EXPECT_TRUE(run_until(shard_.io, [&] { return stats().stream_messages_out == 1; }));
  EXPECT_EQ(stats().connections_opened, 1u);
}

TEST_F(TcpTransport, SecondSendReusesTheOpenConnection) {
  start();
  TestServer server(shard_.io);
  Destination dst{"access", Protocol::Tcp, server.endpoint(), {}};
  std::string a = sip_request("first");
  std::string b = sip_request("second");
  EXPECT_TRUE(shard_.transport->send(dst, a));  // queued while connecting
  EXPECT_TRUE(shard_.transport->send(dst, b));
  ASSERT_TRUE(run_until(shard_.io, [&] { return server.poll_accept(shard_.io); }));
  ASSERT_TRUE(wait_peer(*server.peers[0], a.size() + b.size()));
  EXPECT_EQ(server.peers[0]->received, a + b);
  std::string c = sip_request("third");
  EXPECT_TRUE(shard_.transport->send(dst, c));  // connected by now
  ASSERT_TRUE(wait_peer(*server.peers[0], a.size() + b.size() + c.size()));
  run_for(shard_.io, 20ms);
  EXPECT_FALSE(server.poll_accept(shard_.io));
  EXPECT_EQ(stats().connections_opened, 1u);
  EXPECT_TRUE(run_until(shard_.io, [&] { return stats().stream_messages_out == 3; }));
  EXPECT_EQ(shard_.transport->connection_count(), 1u);
}

TEST_F(TcpTransport, ConnectFailureCallsOnFailureAsynchronously) {
  start();
  std::uint16_t closed_port = free_port(kLoopback4);  // nothing listens there
  int failures = 0;
  EXPECT_TRUE(shard_.transport->send(
      Destination{"access", Protocol::Tcp, Endpoint{kLoopback4, closed_port}, {}},
      sip_request("nobody"), [&] { ++failures; }));
  EXPECT_EQ(failures, 0);  // never from inside send()
  ASSERT_TRUE(run_until(shard_.io, [&] { return failures > 0; }));
  run_for(shard_.io, 20ms);
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(stats().send_errors, 1u);
  EXPECT_EQ(stats().connections_closed, 1u);
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
}

TEST_F(TcpTransport, ConnectTimeoutCallsOnFailure) {
  TransportLimits limits;
  limits.tcp_connect_timeout = Millis(200);
  start(limits);
  // A listener with a full accept queue drops further SYNs, so a connect to it hangs.
  asio::ip::tcp::acceptor full(shard_.io);
  std::error_code ec;
  full.open(asio::ip::tcp::v4(), ec);
  full.bind({kLoopback4, 0}, ec);
  full.listen(0, ec);
  Endpoint target{kLoopback4, full.local_endpoint(ec).port()};
  TcpPeer filler(shard_.io);
  ASSERT_TRUE(filler.connect(target));
  int failures = 0;
  auto sent = Clock::now();
  EXPECT_TRUE(shard_.transport->send(Destination{"access", Protocol::Tcp, target, {}},
                                     sip_request("hang"), [&] { ++failures; }));
  ASSERT_TRUE(run_until(shard_.io, [&] { return failures > 0; }));
  EXPECT_GE(Clock::now() - sent, Millis(150));
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
  EXPECT_EQ(stats().connections_closed, 1u);
}

TEST_F(TcpTransport, OutputOverTheCapClosesTheConnectionAndFailsEverySendQueuedOnIt) {
  TransportLimits limits;
  limits.max_message_size = 1000;
  limits.max_queued_output = 32 * 1000;
  start(limits);
  TestServer server(shard_.io);
  Destination dst{"access", Protocol::Tcp, server.endpoint(), {}};
  const std::size_t fits = 32;
  std::vector<int> failed(fits + 1, 0);
  for (std::size_t i = 0; i < failed.size(); ++i) {  // no I/O runs in between: all queue up
    EXPECT_TRUE(shard_.transport->send(dst, std::string(1000, 'q'), [&failed, i] { ++failed[i]; }));
  }
  ASSERT_TRUE(run_until(shard_.io, [&] {
    return std::all_of(failed.begin(), failed.end(), [](int f) { return f == 1; });
  }));
  EXPECT_EQ(stats().output_queue_closed, 1u);
  EXPECT_EQ(stats().send_errors, fits + 1);
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
}

TEST_F(TcpTransport, ConnectionsOverThePerSourceCapAreClosedAtOnce) {
  TransportLimits limits;
  limits.max_connections_per_source = 2;
  start(limits);
  TcpPeer a(shard_.io), b(shard_.io), c(shard_.io);
  ASSERT_TRUE(a.connect(bind_));
  ASSERT_TRUE(b.connect(bind_));
  ASSERT_TRUE(run_until(shard_.io, [&] { return shard_.transport->connection_count() == 2; }));
  ASSERT_TRUE(c.connect(bind_));
  ASSERT_TRUE(wait_closed(c));
  EXPECT_EQ(stats().refused_max_per_source, 1u);
  EXPECT_EQ(stats().refused_max_connections, 0u);
  EXPECT_EQ(shard_.transport->connection_count(), 2u);
  // A closed connection frees its place.
  a.socket.close();
  ASSERT_TRUE(run_until(shard_.io, [&] { return shard_.transport->connection_count() == 1; }));
  TcpPeer d(shard_.io);
  ASSERT_TRUE(d.connect(bind_));
  d.write(sip_request("again"));
  ASSERT_TRUE(wait_inbound(1));
  EXPECT_EQ(stats().refused_max_per_source, 1u);
}

TEST_F(TcpTransport, ConnectionsOverTheShardCapAreClosedAtOnceButOutboundOnesAreNotCounted) {
  TransportLimits limits;
  limits.max_connections = 1;
  start(limits);
  TestServer server(shard_.io);
  Destination dst{"access", Protocol::Tcp, server.endpoint(), {}};
  EXPECT_TRUE(shard_.transport->send(dst, sip_request("out")));
  TcpPeer a(shard_.io), b(shard_.io);
  ASSERT_TRUE(a.connect(bind_));
  ASSERT_TRUE(run_until(shard_.io, [&] { return shard_.transport->connection_count() == 2; }));
  ASSERT_TRUE(b.connect(bind_));
  ASSERT_TRUE(wait_closed(b));
  EXPECT_EQ(stats().refused_max_connections, 1u);
  EXPECT_EQ(shard_.transport->connection_count(), 2u);
}

TEST_F(TcpTransport, AMessageDribbledAByteAtATimeIsCutAtTheDeadline) {
  TransportLimits limits;
  limits.message_deadline = Millis(300);
  start(limits);
  TcpPeer slow(shard_.io), brisk(shard_.io);
  ASSERT_TRUE(slow.connect(bind_));
  ASSERT_TRUE(brisk.connect(bind_));
  const std::string msg = sip_request("slow");
  const auto opened = Clock::now();
  // Each byte is activity (the idle timer never fires); only the deadline ends this.
  for (std::size_t i = 0; i < msg.size() && !slow.closed; ++i) {
    slow.write(msg.substr(i, 1));
    if (i % 10 == 0) {
      brisk.write(sip_request("brisk" + std::to_string(i)));  // whole messages, in time
    }
    run_for(shard_.io, 10ms);
    slow.poll();
  }
  ASSERT_TRUE(wait_closed(slow));
  EXPECT_GE(Clock::now() - opened, Millis(250));
  EXPECT_LT(Clock::now() - opened, Millis(2000));
  EXPECT_EQ(stats().message_deadline_closed, 1u);
  brisk.poll();
  EXPECT_FALSE(brisk.closed);
  EXPECT_EQ(shard_.transport->connection_count(), 1u);
}

TEST_F(TcpTransport, AConnectionThatSendsNoMessageIsCutAtTheDeadline) {
  TransportLimits limits;
  limits.message_deadline = Millis(200);
  start(limits);
  TcpPeer silent(shard_.io), pinger(shard_.io);
  ASSERT_TRUE(silent.connect(bind_));
  ASSERT_TRUE(pinger.connect(bind_));
  const auto opened = Clock::now();
  for (int i = 0; i < 5 && !pinger.closed; ++i) {
    pinger.write("\r\n\r\n");  // keepalives are no message
    run_for(shard_.io, 60ms);
    pinger.poll();
  }
  ASSERT_TRUE(wait_closed(silent));
  ASSERT_TRUE(wait_closed(pinger));
  EXPECT_GE(Clock::now() - opened, Millis(150));
  EXPECT_EQ(stats().message_deadline_closed, 2u);
  // A connection that sent its first message in time is not held to it afterwards.
  TcpPeer prompt(shard_.io);
  ASSERT_TRUE(prompt.connect(bind_));
  prompt.write(sip_request("prompt"));
  ASSERT_TRUE(wait_inbound(1));
  run_for(shard_.io, 400ms);
  prompt.poll();
  EXPECT_FALSE(prompt.closed);
  EXPECT_EQ(stats().message_deadline_closed, 2u);
}

TEST_F(TcpTransport, StreamSendWithoutListenerReturnsFalse) {
  start();
  EXPECT_FALSE(shard_.transport->send(
      Destination{"carrier", Protocol::Tcp, Endpoint{kLoopback4, 5060}, {}}, "x"));
  EXPECT_FALSE(shard_.transport->send(
      Destination{"access", Protocol::Tcp, Endpoint{kLoopback6, 5060}, {}}, "x"));
  EXPECT_FALSE(shard_.transport->send(
      Destination{"access", Protocol::Tls, Endpoint{kLoopback4, 5061}, {}}, "x"));
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
}

TEST_F(TcpTransport, IdleConnectionIsClosed) {
  TransportLimits limits;
  limits.tcp_idle_timeout = Millis(200);
  start(limits);
  TcpPeer quiet(shard_.io);
  ASSERT_TRUE(quiet.connect(bind_));
  ASSERT_TRUE(run_until(shard_.io, [&] { return shard_.transport->connection_count() == 1; }));
  auto opened = Clock::now();
  ASSERT_TRUE(wait_closed(quiet));
  EXPECT_GE(Clock::now() - opened, Millis(150));
  EXPECT_EQ(stats().idle_closed, 1u);
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
}

TEST_F(TcpTransport, TrafficKeepsAConnectionOpen) {
  TransportLimits limits;
  limits.tcp_idle_timeout = Millis(300);
  start(limits);
  TcpPeer busy(shard_.io);
  ASSERT_TRUE(busy.connect(bind_));
  for (int i = 0; i < 6; ++i) {  // 600 ms of pings every 100 ms
    busy.write("\r\n\r\n");
    run_for(shard_.io, 100ms);
  }
  busy.poll();
  EXPECT_FALSE(busy.closed);
  EXPECT_EQ(stats().idle_closed, 0u);
  EXPECT_EQ(shard_.transport->connection_count(), 1u);
}

TEST_F(TcpTransport, Ipv6ListenerOnLoopback) {
  if (!ipv6_loopback_available()) {
    FAIL() << "IPv6 is required and ::1 is unusable here";
  }
  start({}, kLoopback6);
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  std::string request = sip_request("v6");
  peer.write(request);
  ASSERT_TRUE(wait_inbound(1));
  const Flow& f = shard_.inbound[0].flow;
  EXPECT_EQ(f.local, bind_);
  EXPECT_EQ(f.remote, peer.local());
  EXPECT_EQ(f.remote.to_string().front(), '[');
  std::string response = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_TRUE(shard_.transport->send(Destination{"access", Protocol::Tcp, f.remote, f.connection},
                                     response));
  ASSERT_TRUE(wait_peer(peer, response.size()));
  EXPECT_EQ(peer.received, response);
}

TEST_F(TcpTransport, CloseReleasesConnectionsWithoutFailureCallbacks) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  ASSERT_TRUE(run_until(shard_.io, [&] { return shard_.transport->connection_count() == 1; }));
  TestServer server(shard_.io);
  bool failed = false;
  shard_.transport->send(Destination{"access", Protocol::Tcp, server.endpoint(), {}}, "x",
                         [&] { failed = true; });
  shard_.transport->close();
  EXPECT_EQ(shard_.transport->connection_count(), 0u);
  ASSERT_TRUE(wait_closed(peer));
  EXPECT_FALSE(failed);
}

TEST_F(TcpTransport, DestroyedWithPendingOperationsIsSafe) {
  start();
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  ASSERT_TRUE(run_until(shard_.io, [&] { return shard_.transport->connection_count() == 1; }));
  TestServer server(shard_.io);
  shard_.transport->send(Destination{"access", Protocol::Tcp, server.endpoint(), {}}, "x",
                         [] { ADD_FAILURE() << "no callbacks after destruction"; });
  peer.write(sip_request("late"));
  shard_.transport.reset();
  run_for(shard_.io, 50ms);  // late completions must find nothing to touch
  EXPECT_TRUE(shard_.inbound.empty());
}

}  // namespace
}  // namespace portico::transport::testing
