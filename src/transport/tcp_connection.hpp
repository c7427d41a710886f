#pragma once
// TcpConnection: one SIP stream connection on this shard, accepted or opened outbound, over
// plain TCP or TLS (StreamSocket is the seam; the TLS handshake is in tcp_connection_tls.cpp).
// It frames inbound bytes (StreamFramer), answers keepalives, queues writes (one async_write at
// a time), closes itself on idle, and reports undelivered sends to their SendFailure callbacks.
// Owned by ShardState's connection table; handlers find it again by id (see shard_state.hpp).

#include <asio/ip/tcp.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <system_error>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/transport/tls.hpp"
#include "portico/transport/transport.hpp"
#include "shard_state.hpp"
#include "stream_framer.hpp"
#include "stream_socket.hpp"
#include "tls_contexts.hpp"

namespace portico::transport {

/// A TLS connection's context: `context` lives in `owner`, which the connection keeps so a
/// policy reload never frees the context of an established connection. Empty for plain TCP.
struct ConnectionTls {
  std::shared_ptr<const TlsContexts> owner;
  const TlsPeerContext* context = nullptr;
};

class TcpConnection {
 public:
  using Tls = ConnectionTls;
  enum class Phase { Connecting, Handshaking, Open, Closed };
  enum class CloseReason {
    PeerClosed,
    ReadError,
    WriteError,
    FramingError,
    Oversize,
    Idle,
    ConnectFailed,
    ConnectTimeout,
    Shutdown,
    MessageDeadline,
    OutputQueueFull,
    TlsHandshakeFailed,  // counted and logged by reason (TlsFailure) when it happened
  };

  /// `local` is the listener address of the realm (the Flow's local endpoint; an outbound
  /// connection replaces its port with the one it binds in start_connect()). An accepted
  /// connection passes its connected socket and `outbound` = false; an outbound one passes a
  /// fresh socket and `outbound` = true, then calls start_connect().
  TcpConnection(ShardState& state, std::uint64_t id, std::string realm, Endpoint local,
                Endpoint remote, asio::ip::tcp::socket socket, bool outbound, Tls tls = {});
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  /// Accepted connection: starts reading and the idle timer.
  void start_accepted();
  /// Outbound connection: binds `local_address`:0 and connects with the connect timeout.
  /// A synchronous failure is returned; the caller then closes the connection.
  [[nodiscard]] std::error_code start_connect(const asio::ip::address& local_address);
  /// Queues one SIP message. Sent once connected; `on_failure` runs if it never goes out.
  /// A peer that does not read, so that the queue would pass limits.max_queued_output, loses
  /// the connection (every queued send fails): its output is not buffered without bound.
  void send(std::string data, SendFailure on_failure);
  /// Idempotent. Retires the connection from the table; queued sends fail (except Shutdown).
  void close(CloseReason reason);

  bool is_open() const { return phase_ != Phase::Closed; }
  Protocol protocol() const { return socket_.is_tls() ? Protocol::Tls : Protocol::Tcp; }
  /// Set once a TLS handshake completed; null before and for plain TCP.
  const std::shared_ptr<const TlsInfo>& tls_info() const { return tls_info_; }
  /// Opened by this shard (not accepted): not counted against the accept caps.
  bool outbound() const { return outbound_; }
  std::uint64_t id() const { return id_; }
  const std::string& realm() const { return realm_; }
  const Endpoint& remote() const { return remote_; }
  /// This end of the connection: the listener's address for an accepted one, the bound
  /// ephemeral port for an outbound one once start_connect() has bound it.
  const Endpoint& local() const { return local_; }

 private:
  struct PendingWrite {
    std::string data;
    SendFailure on_failure;
    bool message = true;  // false for keepalive pongs: not counted as stream_messages_out
  };

  template <class Fn>
  auto guarded(Fn fn);

  void on_connected(const std::error_code& ec);
  // TLS (tcp_connection_tls.cpp): handshake under handshake_timeout, then Open.
  void start_handshake();
  void on_handshake(const std::error_code& ec);
  void tls_failed(TlsFailure reason, const std::string& detail);
  /// A read error on a TLS connection that never delivered a message: the peer refused the
  /// handshake after it completed on our side (TLS 1.3 client certificates). True if handled.
  bool tls_refused_late(const std::error_code& ec);
  void opened();
  void read();
  void on_read(const std::error_code& ec, std::size_t n);
  void drain_framer();
  bool handle_frame(StreamFramer::Result& r);
  void enqueue(PendingWrite w);
  void write_next();
  void on_written(const std::error_code& ec);
  void arm_idle(Millis delay);
  void on_idle();
  /// Starts the message deadline unless it runs already (a message has begun, or the first
  /// message of an accepted connection is awaited).
  void arm_deadline();
  void on_deadline();
  void log_close(CloseReason reason);
  Flow flow() const;

  ShardState& state_;
  std::uint64_t id_;
  std::string realm_;
  Endpoint local_;
  Endpoint remote_;
  bool outbound_;
  Tls tls_;
  StreamSocket socket_;
  std::shared_ptr<const TlsInfo> tls_info_;  // set once the handshake is done
  bool delivered_ = false;                   // a message came in on this connection
  // TLS, until the peer's first bytes: the failure callbacks of messages already written. A
  // TLS 1.3 server refuses a client certificate only after our handshake is done, so those
  // messages never reached its SIP layer and their transactions must hear of it (a 503 and
  // failover, not a timeout).
  std::vector<SendFailure> unconfirmed_;
  Phase phase_;
  StreamFramer framer_;
  std::array<char, 8192> read_buf_{};
  std::deque<PendingWrite> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  TimePoint last_activity_;
  Timer idle_timer_;
  Timer connect_timer_;   // connect, then (TLS) the handshake
  Timer deadline_timer_;  // armed while a message is incomplete (or the first is awaited)
};

// Wraps a member completion so it runs only while the transport lives and this connection is
// still in the table; a closed connection's late completions are dropped.
template <class Fn>
auto TcpConnection::guarded(Fn fn) {
  return [st = &state_, guard = state_.guard(), id = id_, fn = std::move(fn)](auto&&... args) {
    if (guard.expired()) {
      return;
    }
    if (TcpConnection* c = st->find_connection(id)) {
      fn(*c, std::forward<decltype(args)>(args)...);
    }
  };
}

std::string_view to_string(TcpConnection::CloseReason reason);

}  // namespace portico::transport
