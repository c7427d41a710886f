#pragma once
// ShardState: what one shard's listeners and connections share — the io_context, timers,
// limits, the sink, counters and the connection table. Owned by ShardTransport::Impl; every
// member is shard-local, so nothing here is locked.
//
// Lifetime rule (docs/style.md, "Ownership"): asio handlers never hold a pointer to a connection.
// They hold a weak liveness guard plus the connection id and look the connection up again;
// a closed connection is gone from the table, so a late handler finds nothing and returns.

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "portico/common/log.hpp"
#include "portico/transport/shard_transport.hpp"
#include "portico/transport/tls.hpp"

namespace portico::transport {

class TcpConnection;
using TcpConnectionPtr = std::unique_ptr<TcpConnection>;

class ShardState {
 public:
  using Guard = std::weak_ptr<const int>;

  ShardState(std::uint16_t shard, asio::io_context& io, TimerService& timers,
             TransportLimits limits, InboundSink sink);
  ~ShardState();
  ShardState(const ShardState&) = delete;
  ShardState& operator=(const ShardState&) = delete;

  std::uint16_t shard() const { return shard_; }
  asio::io_context& io() { return io_; }
  TimerService& timers() { return timers_; }
  const TransportLimits& limits() const { return limits_; }
  TransportStats& stats() { return stats_; }
  bool closed() const { return closed_; }
  /// Expires when the transport is destroyed; captured by every asio handler.
  Guard guard() const { return life_; }
  /// True if a packet-path warning may be logged now (the shard thread's log::Limiter, shared
  /// with every other per-packet line of the shard).
  bool should_log() { return log::allow_limited(); }

  /// Hands one framed message to the sink (same thread, synchronously). The sink may send or
  /// close the transport, but must not destroy it.
  void deliver(std::string data, Flow flow);
  /// Runs the failure callbacks later on this shard, never inside the caller's frame.
  void post_failures(std::vector<SendFailure> failures);
  void set_closed_handler(std::function<void(const ConnectionRef&)> h) { closed_handler_ = std::move(h); }
  /// Tells the closed handler, later on this shard, that connection `id` is gone.
  void post_closed(std::uint64_t id);

  /// Why an accepted connection from `remote` may not be kept ("max_connections",
  /// "max_connections_per_source"), or nullptr when it may. A refusal is counted, and logged
  /// once (for the process, not per shard) when refusals start.
  const char* refuse_accepted(const asio::ip::address& remote);
  /// One `transport.refusing` line when a protection starts closing open connections after a
  /// quiet spell (`what`: "message_deadline", "output_queue"), not one per connection.
  void note_protective_close(const char* what, const Endpoint& remote);

  /// The TLS contexts new connections use (null: no TLS in the policy). Swapped on reload;
  /// established connections keep theirs.
  const std::shared_ptr<const TlsContexts>& tls() const { return tls_; }
  void set_tls(std::shared_ptr<const TlsContexts> tls) { tls_ = std::move(tls); }
  /// Counts a failed TLS handshake under `reason` and logs it once per peer address and reason
  /// (a carrier with an expired certificate is one line, not one per reconnect).
  void note_tls_failure(const std::string& realm, const Endpoint& remote, bool outbound,
                        TlsFailure reason, const std::string& detail);

  std::uint64_t next_connection_id() { return ++last_connection_id_; }
  /// Takes ownership of a new connection, indexes it by remote, counts connections_opened.
  TcpConnection& add_connection(TcpConnectionPtr connection);
  /// Open connection by id on this shard; nullptr if closed or unknown.
  TcpConnection* find_connection(std::uint64_t id);
  /// Any open connection of this shard to `remote` in `realm` over `protocol`; nullptr if none.
  TcpConnection* find_reusable(const std::string& realm, const Endpoint& remote, Protocol protocol);
  /// Removes a closed connection from the table. Its memory is released in a later handler,
  /// after the aborted completions of its socket have been dispatched.
  void retire_connection(std::uint64_t id);
  std::size_t connection_count() const { return connections_.size(); }
  /// Shutdown: marks the state closed and closes every connection without failure callbacks.
  void close();

 private:
  std::uint16_t shard_;
  asio::io_context& io_;
  TimerService& timers_;
  TransportLimits limits_;
  InboundSink sink_;
  std::function<void(const ConnectionRef&)> closed_handler_;  // see post_closed
  TransportStats stats_;
  bool closed_ = false;
  std::shared_ptr<const int> life_ = std::make_shared<const int>(0);

  std::shared_ptr<const TlsContexts> tls_;
  // (address, reason) pairs already logged; cleared when full, so a peer is logged again at
  // most once per kMaxTlsLogged distinct failures.
  std::vector<std::pair<asio::ip::address, TlsFailure>> tls_logged_;

  std::size_t accepted_ = 0;  // open accepted connections (outbound ones are not capped)
  std::unordered_map<asio::ip::address, std::size_t> accepted_by_address_;

  std::uint64_t last_connection_id_ = 0;
  std::unordered_map<std::uint64_t, TcpConnectionPtr> connections_;
  std::unordered_multimap<Endpoint, std::uint64_t, EndpointHash> by_remote_;
  std::vector<TcpConnectionPtr> retired_;
  bool reap_posted_ = false;
};

}  // namespace portico::transport
