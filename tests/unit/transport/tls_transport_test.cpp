// ShardTransport over TLS on real loopback sockets: a shard's outbound TLS connection to its own
// tls listener (SNI, verification, the TLS details on the Flow), a name mismatch refused and
// counted by reason, a silent peer cut at handshake_timeout, and a plain-TCP peer. Certificates
// are made with the openssl CLI.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "portico/transport/tls.hpp"
#include "transport_test_support.hpp"

namespace portico::transport::testing {
namespace {

namespace fs = std::filesystem;

class TlsTransport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("portico-tls-transport-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj /CN=sip.example -addext subjectAltName=DNS:sip.example -keyout " +
        (dir_ / "sip.key").string() + " -out " + (dir_ / "sip.crt").string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // One tls listener on realm "carrier"; the client context targets that listener itself.
  void start(const std::string& server_name, Millis handshake_timeout = 2s,
             TransportLimits limits = {}) {
    port_ = free_port(kLoopback4);
    ASSERT_NE(port_, 0);
    bind_ = Endpoint{kLoopback4, port_};
    shard_.start({listener("carrier", Protocol::Tls, kLoopback4, port_)}, limits);
    TlsSettings s;
    TlsServerSettings server;
    server.realm = "carrier";
    server.certificate = (dir_ / "sip.crt").string();
    server.private_key = (dir_ / "sip.key").string();
    server.handshake_timeout = handshake_timeout;
    s.servers.push_back(server);
    TlsClientSettings client;
    client.realm = "carrier";
    client.remote = bind_;
    client.server_name = server_name;
    client.ca_file = (dir_ / "sip.crt").string();
    s.clients.push_back(client);
    shard_.transport->set_tls(build_tls_contexts(s));
  }
  const TransportStats& stats() { return shard_.transport->stats(); }

  static inline fs::path dir_;
  TestShard shard_;
  std::uint16_t port_ = 0;
  Endpoint bind_;
};

const std::string kOptions =
    "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKt1\r\n"
    "Call-ID: tls1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

TEST_F(TlsTransport, VerifiedConnectionCarriesMessagesAndReportsTlsOnTheFlow) {
  start("sip.example");
  int failures = 0;
  ASSERT_TRUE(shard_.transport->send(Destination{"carrier", Protocol::Tls, bind_, {}}, kOptions,
                                     [&failures] { ++failures; }));
  ASSERT_TRUE(run_until(shard_.io, [&] { return !shard_.inbound.empty(); }));
  const Inbound& in = shard_.inbound.front();
  EXPECT_EQ(in.data, kOptions);
  EXPECT_EQ(in.flow.protocol, Protocol::Tls);
  ASSERT_NE(in.flow.tls, nullptr);
  EXPECT_TRUE(in.flow.tls->version == "TLSv1.3" || in.flow.tls->version == "TLSv1.2")
      << in.flow.tls->version;
  EXPECT_FALSE(in.flow.tls->cipher.empty());
  EXPECT_EQ(stats().tls_handshakes, 2u);  // both ends of the loop
  EXPECT_EQ(failures, 0);
  // The outbound connection is reused, and knows its TLS details for the CDR.
  auto info = shard_.transport->tls_info(Destination{"carrier", Protocol::Tls, bind_, {}});
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->cipher, in.flow.tls->cipher);
  std::string local_host;
  std::uint16_t local_port = 0;
  ASSERT_TRUE(
      shard_.transport->local_address("carrier", Protocol::Tls, false, local_host, local_port));
  EXPECT_EQ(local_port, port_);
}

TEST_F(TlsTransport, NameMismatchFailsTheSendAndIsCountedByReason) {
  start("other.example");
  int failures = 0;
  ASSERT_TRUE(shard_.transport->send(Destination{"carrier", Protocol::Tls, bind_, {}}, kOptions,
                                     [&failures] { ++failures; }));
  ASSERT_TRUE(run_until(shard_.io, [&] { return failures == 1; }));
  EXPECT_EQ(stats().tls_failed_name_mismatch, 1u);
  EXPECT_TRUE(shard_.inbound.empty());
}

TEST_F(TlsTransport, SilentPeerIsCutAtTheHandshakeTimeout) {
  start("sip.example", 200ms);
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  const auto t0 = Clock::now();
  ASSERT_TRUE(run_until(shard_.io, [&] {
    peer.poll();
    return peer.closed;
  }));
  EXPECT_GE(Clock::now() - t0, 150ms);
  EXPECT_EQ(stats().tls_failed_handshake_timeout, 1u);
}

// A connection in its handshake holds a place under the caps like any accepted connection, so
// peers that only start handshakes cannot hold more than the caps allow.
TEST_F(TlsTransport, HandshakesCountTowardTheConnectionCaps) {
  TransportLimits limits;
  limits.max_connections_per_source = 1;
  start("sip.example", 2s, limits);
  TcpPeer first(shard_.io);
  TcpPeer second(shard_.io);
  ASSERT_TRUE(first.connect(bind_));
  run_for(shard_.io, 50ms);
  ASSERT_TRUE(second.connect(bind_));
  ASSERT_TRUE(run_until(shard_.io, [&] {
    second.poll();
    return second.closed;
  }));
  first.poll();
  EXPECT_FALSE(first.closed);  // still in its handshake, within handshake_timeout
  EXPECT_EQ(stats().refused_max_per_source, 1u);
  EXPECT_EQ(shard_.transport->connection_count(), 1u);
}

TEST_F(TlsTransport, PlainSipOnTheTlsPortIsAProtocolFailure) {
  start("sip.example");
  TcpPeer peer(shard_.io);
  ASSERT_TRUE(peer.connect(bind_));
  peer.write(kOptions);
  ASSERT_TRUE(run_until(shard_.io, [&] {
    peer.poll();
    return peer.closed;
  }));
  EXPECT_EQ(stats().tls_failed_protocol, 1u);
  EXPECT_TRUE(shard_.inbound.empty());
}

TEST_F(TlsTransport, NoContextForADestinationThatIsNoTlsTrunk) {
  start("sip.example");
  const Endpoint elsewhere{kLoopback4, static_cast<std::uint16_t>(port_ == 65535 ? 1 : port_ + 1)};
  EXPECT_FALSE(
      shard_.transport->send(Destination{"carrier", Protocol::Tls, elsewhere, {}}, kOptions));
}

}  // namespace
}  // namespace portico::transport::testing
