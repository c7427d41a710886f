#pragma once
// ShardTransport: the SIP listeners and connections owned by one shard.
//
// Every shard opens its own SO_REUSEPORT UDP socket and TCP acceptor on each listener address,
// so the kernel spreads load across shards and each shard sends UDP from its own socket with
// the same source address. A TCP connection lives on the shard that accepted or opened it;
// sends from other shards are posted to it through `post_to_shard`.
//
// Inbound bytes are framed here (UDP: one datagram; TCP: Content-Length framing, RFC 3261
// §18.3), oversize messages are dropped (and the connection closed), RFC 5626 keepalives are
// answered, and whole messages go to the InboundSink on this shard's thread.

#include <asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "portico/transport/tls.hpp"
#include "portico/transport/transport.hpp"

namespace portico::transport {

struct ListenerConfig {
  std::string realm;
  Protocol protocol = Protocol::Udp;
  Endpoint bind;                 // address to bind (port 0 is not allowed here)
  std::string advertised_host;   // host for Via/Contact; empty = bind address
  std::uint16_t advertised_port = 0;  // 0 = bind port
};

/// Two configs name the same socket: realm, protocol and bind address (advertised fields may
/// differ and are updated in place on reload).
bool same_socket(const ListenerConfig& a, const ListenerConfig& b);

struct TransportLimits {
  std::size_t max_message_size = 65535;
  Millis tcp_idle_timeout{std::chrono::seconds(120)};
  Millis tcp_connect_timeout{std::chrono::seconds(5)};
  /// Accepted connections this shard holds, in all and per remote address (this shard's share
  /// of policy ingress.max_tcp_connections[_per_source]); over either, a new connection is
  /// closed as soon as it is accepted. Outbound connections are not counted.
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_source = 64;
  /// A started message must be complete within this long, and an accepted connection's first
  /// message too (slowloris: a byte at a time keeps a connection out of the idle timeout).
  Millis message_deadline{std::chrono::seconds(10)};
  /// Bytes queued for writing on one connection; over it (the peer does not read) the
  /// connection is closed. At least one message of max_message_size is always allowed.
  std::size_t max_queued_output = std::size_t{1} << 20;
};

class ShardTransport;
/// Runs `fn` on shard `shard`'s thread with that shard's transport. Owned payload.
using PostToShard = std::function<void(std::uint16_t shard, std::function<void(ShardTransport&)>)>;

class ShardTransport final : public Transport {
 public:
  /// Binds every listener; throws std::system_error at start-up if one cannot be bound.
  ShardTransport(std::uint16_t shard, asio::io_context& io, TimerService& timers,
                 std::vector<ListenerConfig> listeners, TransportLimits limits,
                 InboundSink sink, PostToShard post_to_shard);
  ~ShardTransport() override;

  bool send(const Destination& dst, std::string data, SendFailure on_failure = {}) override;
  bool local_address(const std::string& realm, Protocol protocol, bool ipv6, std::string& host,
                     std::uint16_t& port) const override;
  const TransportStats& stats() const override;
  bool sending_endpoint(const Destination& dst, Endpoint& local) const override;
  std::shared_ptr<const TlsInfo> tls_info(const Destination& dst) const override;

  /// Policy reload, step 1 of 2: binds the listeners in `wanted` that this shard does not have
  /// yet, without receiving on them. Returns "" or what could not be bound (then nothing new
  /// stays bound). Shard thread only; never throws.
  std::string prepare_listeners(const std::vector<ListenerConfig>& wanted);
  /// Step 2: starts the prepared listeners, closes those not in `wanted` (connections they
  /// accepted stay until they end, so calls in progress keep their flow) and takes the new
  /// advertised addresses. Returns how many listeners were opened and closed.
  std::pair<std::size_t, std::size_t> commit_listeners(const std::vector<ListenerConfig>& wanted);
  /// Step 2 when some shard failed step 1: releases what step 1 bound.
  void abort_listeners();

  /// Called on this shard, after the fact, for every stream connection that closes other than
  /// at shutdown (peer closed, idle, error): flows bound to it (registrations) are gone.
  void on_connection_closed(std::function<void(const ConnectionRef&)> handler);

  /// The TLS contexts for new connections (start-up, and every policy reload: established
  /// connections keep the contexts they started with). Shard thread only.
  void set_tls(std::shared_ptr<const TlsContexts> contexts);

  /// Closes listeners and connections (shutdown). Shard thread only.
  void close();
  /// Open stream connections on this shard (leak checks in tests).
  std::size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portico::transport
