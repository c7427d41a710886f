// SIP over TCP, one connection (RFC 3261 §18.3 framing, RFC 5626 §4.4.1 keepalives).
// Two timers bound what a peer can hold: the idle timer (no byte either way for
// tcp_idle_timeout) and the message deadline (policy ingress.tcp_message_deadline): an accepted
// connection's first message, and every message once its first byte arrived, must be complete
// within it, so a peer dribbling a byte at a time is closed however busy it looks.
//
// Life of a connection:
//   outbound: Connecting --connect ok--> Open --error/idle/EOF/framing--> Closed
//   accepted:                            Open --...------------------> Closed
// Writes queued while Connecting go out in order once Open. Any close with sends still queued
// reports them to their SendFailure callbacks (RFC 3261 §8.1.3.1: a transport error is handled
// as a 503 by the client transaction), posted so they never run inside send().

#include "tcp_connection.hpp"

#include <algorithm>

#include "portico/common/log.hpp"
#include "socket_setup.hpp"

namespace portico::transport {

std::string_view to_string(TcpConnection::CloseReason reason) {
  using R = TcpConnection::CloseReason;
  switch (reason) {
    case R::PeerClosed: return "peer_closed";
    case R::ReadError: return "read_error";
    case R::WriteError: return "write_error";
    case R::FramingError: return "framing_error";
    case R::Oversize: return "oversize";
    case R::Idle: return "idle";
    case R::ConnectFailed: return "connect_failed";
    case R::ConnectTimeout: return "connect_timeout";
    case R::Shutdown: return "shutdown";
    case R::MessageDeadline:
      return "message_deadline";
    case R::OutputQueueFull:
      return "output_queue";
    case R::TlsHandshakeFailed:
      return "tls_handshake_failed";
  }
  return "unknown";
}

TcpConnection::TcpConnection(ShardState& state, std::uint64_t id, std::string realm, Endpoint local,
                             Endpoint remote, asio::ip::tcp::socket socket, bool outbound, Tls tls)
    : state_(state),
      id_(id),
      realm_(std::move(realm)),
      local_(std::move(local)),
      remote_(std::move(remote)),
      outbound_(outbound),
      tls_(std::move(tls)),
      socket_(std::move(socket), tls_.context != nullptr ? &tls_.context->ctx : nullptr),
      phase_(outbound ? Phase::Connecting : Phase::Open),
      framer_(state.limits().max_message_size),
      last_activity_(state.timers().now()),
      idle_timer_(state.timers()),
      connect_timer_(state.timers()),
      deadline_timer_(state.timers()) {}

void TcpConnection::start_accepted() {
  std::error_code ec;
  socket_.tcp().set_option(asio::ip::tcp::no_delay(true), ec);  // small messages: no Nagle delay
  arm_idle(state_.limits().tcp_idle_timeout);
  arm_deadline();  // the first message is due within the deadline (handshake included)
  if (socket_.is_tls()) {
    start_handshake();
    return;
  }
  read();
}

std::error_code TcpConnection::start_connect(const asio::ip::address& local_address) {
  if (std::error_code ec = open_tcp_client(socket_.tcp(), local_address)) {
    return ec;
  }
  std::error_code bound_ec;
  const auto bound = socket_.tcp().local_endpoint(bound_ec);
  if (!bound_ec) {
    local_ = Endpoint{bound.address(), bound.port()};  // the Flow names the real port
  }
  ShardState* st = &state_;
  std::uint64_t id = id_;
  connect_timer_.start(state_.limits().tcp_connect_timeout, [st, id] {
    if (TcpConnection* c = st->find_connection(id)) {
      c->connect_timer_.fired();
      if (c->phase_ == Phase::Connecting) {
        c->close(CloseReason::ConnectTimeout);
      }
    }
  });
  socket_.tcp().async_connect(
      to_tcp(remote_),
      guarded([](TcpConnection& c, const std::error_code& ec) { c.on_connected(ec); }));
  return {};
}

void TcpConnection::on_connected(const std::error_code& ec) {
  if (phase_ != Phase::Connecting) {
    return;
  }
  connect_timer_.cancel();
  if (ec) {
    close(CloseReason::ConnectFailed);
    return;
  }
  if (socket_.is_tls()) {
    start_handshake();
    return;
  }
  opened();
}

void TcpConnection::opened() {
  phase_ = Phase::Open;
  last_activity_ = state_.timers().now();
  log::debug("transport.connected", {{"realm", realm_},
                                     {"remote", remote_.to_string()},
                                     {"connection", id_},
                                     {"protocol", to_string(protocol())}});
  arm_idle(state_.limits().tcp_idle_timeout);
  read();
  write_next();
}

void TcpConnection::read() {
  socket_.async_read_some(
      asio::buffer(read_buf_),
      guarded([](TcpConnection& c, const std::error_code& ec, std::size_t n) {
        c.on_read(ec, n);
      }));
}

void TcpConnection::on_read(const std::error_code& ec, std::size_t n) {
  if (phase_ != Phase::Open) {
    return;
  }
  if (ec) {
    // A TLS peer that closes without close_notify (stream_truncated) has simply gone away.
    const bool gone = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (!tls_refused_late(ec)) {
      close(gone ? CloseReason::PeerClosed : CloseReason::ReadError);
    }
    return;
  }
  last_activity_ = state_.timers().now();
  unconfirmed_.clear();  // the peer speaks: the connection was accepted
  framer_.append(std::string_view(read_buf_.data(), n));
  drain_framer();
  if (phase_ != Phase::Open) {
    return;
  }
  if (framer_.buffered() > 0) {
    arm_deadline();  // a message has begun: it must be complete in time, however it dribbles
  }
  read();
}

// Every event but NeedMore consumes at least one buffered byte, so buffered()+1 iterations
// always suffice; the bound only makes that explicit.
void TcpConnection::drain_framer() {
  std::size_t budget = framer_.buffered() + 1;
  for (std::size_t i = 0; i < budget && phase_ == Phase::Open; ++i) {
    StreamFramer::Result r = framer_.next();
    if (r.status == StreamFramer::Status::NeedMore || !handle_frame(r)) {
      return;
    }
  }
}

// Returns false when the connection was closed.
bool TcpConnection::handle_frame(StreamFramer::Result& r) {
  using S = StreamFramer::Status;
  TransportStats& stats = state_.stats();
  switch (r.status) {
    case S::Message:
      ++stats.stream_messages_in;
      delivered_ = true;
      deadline_timer_.cancel();  // complete: the next message gets its own deadline
      state_.deliver(std::move(r.message), flow());
      return phase_ == Phase::Open;  // the sink may have closed the transport
    case S::Ping:
      ++stats.keepalives;
      enqueue(PendingWrite{"\r\n", {}, false});  // RFC 5626 §4.4.1 pong
      return true;
    case S::Crlf:
      ++stats.keepalives;
      return true;
    case S::MissingContentLength:
    case S::BadContentLength:
      ++stats.framing_errors;
      if (state_.should_log()) {
        bool missing = r.status == S::MissingContentLength;
        log::warn("transport.framing_error",
                  {{"realm", realm_}, {"remote", remote_.to_string()},
                   {"reason", missing ? "missing_content_length" : "bad_content_length"}});
      }
      close(CloseReason::FramingError);
      return false;
    case S::Oversize:
      ++stats.oversize_dropped;
      if (state_.should_log()) {
        log::warn("transport.oversize", {{"realm", realm_}, {"remote", remote_.to_string()},
                                         {"size", r.size}, {"protocol", "tcp"}});
      }
      close(CloseReason::Oversize);
      return false;
    case S::NeedMore:
      return true;
  }
  return true;
}

void TcpConnection::send(std::string data, SendFailure on_failure) {
  enqueue(PendingWrite{std::move(data), std::move(on_failure), true});
}

void TcpConnection::enqueue(PendingWrite w) {
  const auto& limits = state_.limits();
  const std::size_t cap = std::max(limits.max_queued_output, limits.max_message_size);
  if (queued_bytes_ + w.data.size() > cap) {
    // The peer is not reading (or not connecting): buffering on would hold memory without
    // bound, so the connection goes, and with it every send queued on it.
    ++state_.stats().output_queue_closed;
    ++state_.stats().send_errors;
    state_.note_protective_close("output_queue", remote_);
    std::vector<SendFailure> failures;
    if (w.on_failure) {
      failures.push_back(std::move(w.on_failure));
    }
    state_.post_failures(std::move(failures));
    close(CloseReason::OutputQueueFull);
    return;
  }
  queued_bytes_ += w.data.size();
  queue_.push_back(std::move(w));
  if (phase_ == Phase::Open && !writing_) {
    write_next();
  }
}

void TcpConnection::write_next() {
  if (writing_ || queue_.empty() || phase_ != Phase::Open) {
    return;
  }
  writing_ = true;
  socket_.async_write(
      asio::buffer(queue_.front().data),
      guarded([](TcpConnection& c, const std::error_code& ec, std::size_t) { c.on_written(ec); }));
}

void TcpConnection::on_written(const std::error_code& ec) {
  writing_ = false;
  if (ec) {
    close(CloseReason::WriteError);
    return;
  }
  if (queue_.front().message) {
    ++state_.stats().stream_messages_out;
    if (socket_.is_tls() && !delivered_ && queue_.front().on_failure) {
      unconfirmed_.push_back(std::move(queue_.front().on_failure));
    }
  }
  queued_bytes_ -= queue_.front().data.size();
  queue_.pop_front();
  last_activity_ = state_.timers().now();
  write_next();
}

// The timer is not re-armed on every packet: it fires at most once per timeout period and
// re-arms itself for whatever is left since the last activity.
void TcpConnection::arm_idle(Millis delay) {
  ShardState* st = &state_;
  std::uint64_t id = id_;
  idle_timer_.start(delay, [st, id] {
    if (TcpConnection* c = st->find_connection(id)) {
      c->idle_timer_.fired();
      c->on_idle();
    }
  });
}

void TcpConnection::on_idle() {
  if (phase_ != Phase::Open) {
    return;
  }
  Millis timeout = state_.limits().tcp_idle_timeout;
  auto idle = std::chrono::duration_cast<Millis>(state_.timers().now() - last_activity_);
  if (idle >= timeout) {
    ++state_.stats().idle_closed;
    close(CloseReason::Idle);
    return;
  }
  arm_idle(timeout - idle);
}

void TcpConnection::arm_deadline() {
  if (deadline_timer_.armed()) {
    return;
  }
  ShardState* st = &state_;
  std::uint64_t id = id_;
  deadline_timer_.start(state_.limits().message_deadline, [st, id] {
    if (TcpConnection* c = st->find_connection(id)) {
      c->deadline_timer_.fired();
      c->on_deadline();
    }
  });
}

void TcpConnection::on_deadline() {
  if (phase_ != Phase::Open) {
    return;
  }
  ++state_.stats().message_deadline_closed;
  state_.note_protective_close("message_deadline", remote_);
  close(CloseReason::MessageDeadline);
}

void TcpConnection::close(CloseReason reason) {
  if (phase_ == Phase::Closed) {
    return;
  }
  phase_ = Phase::Closed;
  socket_.close();  // pending operations complete with operation_aborted
  idle_timer_.cancel();
  connect_timer_.cancel();
  deadline_timer_.cancel();
  std::vector<SendFailure> failures;
  for (PendingWrite& w : queue_) {
    if (!w.message) {
      continue;
    }
    ++state_.stats().send_errors;
    if (w.on_failure && reason != CloseReason::Shutdown) {
      failures.push_back(std::move(w.on_failure));
    }
  }
  queue_.clear();
  queued_bytes_ = 0;
  ++state_.stats().connections_closed;
  log_close(reason);
  state_.post_failures(std::move(failures));
  if (reason != CloseReason::Shutdown) {
    state_.post_closed(id_);
  }
  state_.retire_connection(id_);  // last: `this` stays valid until a later handler
}

void TcpConnection::log_close(CloseReason reason) {
  // Deadline and output-queue closes were counted and logged once when they started.
  bool expected = reason == CloseReason::PeerClosed || reason == CloseReason::Idle ||
                  reason == CloseReason::Shutdown || reason == CloseReason::MessageDeadline ||
                  reason == CloseReason::OutputQueueFull ||
                  reason == CloseReason::TlsHandshakeFailed;
  if (expected) {
    log::debug("transport.connection_closed", {{"realm", realm_}, {"remote", remote_.to_string()},
                                               {"connection", id_}, {"reason", to_string(reason)}});
  } else if (state_.should_log()) {
    log::warn("transport.connection_closed", {{"realm", realm_}, {"remote", remote_.to_string()},
                                              {"connection", id_}, {"reason", to_string(reason)}});
  }
}

Flow TcpConnection::flow() const {
  return Flow{protocol(), realm_, local_, remote_, ConnectionRef{state_.shard(), id_}, tls_info_};
}

}  // namespace portico::transport
