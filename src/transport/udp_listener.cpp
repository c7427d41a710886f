// UDP listener: receive loop, keepalives and sends.
//
// Datagrams made only of CR/LF/whitespace are keepalives, never SIP: RFC 5626 §4.4.1 defines a
// "\r\n\r\n" ping answered by a "\r\n" pong (written for streams; peers send it over UDP too),
// and RFC 3261 §7.5 lets receivers ignore CRLFs before a start-line. They never reach the sink.

#include "udp_listener.hpp"

#include <algorithm>

#include "portico/common/log.hpp"
#include "socket_setup.hpp"

namespace portico::transport {

namespace {

// A receive error that is not "socket closed" is retried after this pause, so a persistent
// error cannot spin the shard.
constexpr Millis kRetryDelay{10};

bool is_keepalive(std::string_view d) {
  return std::all_of(d.begin(), d.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t'; });
}

// Transient conditions: the datagram is lost and the SIP retransmission timers recover it.
bool is_transient(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::no_buffer_space ||
         ec == asio::error::try_again;
}

}  // namespace

UdpListener::UdpListener(ShardState& state, ListenerConfig config)
    : state_(state),
      config_(std::move(config)),
      socket_(state.io()),
      buffer_(state.limits().max_message_size + 1),
      retry_timer_(state.timers()) {
  open_udp_listener(socket_, config_.bind, config_.realm);
}

void UdpListener::start() { receive(); }

void UdpListener::receive() {
  socket_.async_receive_from(asio::buffer(buffer_), sender_,
                             [this, guard = state_.guard()](const std::error_code& ec,
                                                            std::size_t n) {
                               if (!guard.expired()) {
                                 on_receive(ec, n);
                               }
                             });
}

void UdpListener::on_receive(const std::error_code& ec, std::size_t n) {
  if (ec == asio::error::operation_aborted || state_.closed() || !socket_.is_open()) {
    return;
  }
  if (ec) {
    // Linux reports ICMP errors of earlier sends here (e.g. connection_refused): not fatal.
    if (state_.should_log()) {
      log::warn("transport.udp_receive_error", {{"realm", config_.realm},
                                                {"local", config_.bind.to_string()},
                                                {"error", ec.message()}});
    }
    retry_later();
    return;
  }
  if (n > state_.limits().max_message_size) {
    ++state_.stats().oversize_dropped;
    if (state_.should_log()) {
      log::warn("transport.oversize", {{"realm", config_.realm}, {"protocol", "udp"},
                                       {"remote", from_asio(sender_).to_string()}, {"size", n}});
    }
  } else {
    handle_datagram(std::string_view(buffer_.data(), n));
  }
  if (!state_.closed()) {  // the sink may have closed the transport
    receive();
  }
}

void UdpListener::handle_datagram(std::string_view datagram) {
  Endpoint remote = from_asio(sender_);
  if (is_keepalive(datagram)) {
    ++state_.stats().keepalives;
    if (datagram.find("\r\n\r\n") != std::string_view::npos) {
      std::error_code ignored;
      socket_.send_to(asio::buffer("\r\n", 2), sender_, 0, ignored);  // RFC 5626 §4.4.1 pong
    }
    return;
  }
  ++state_.stats().datagrams_in;
  state_.deliver(std::string(datagram),
                 Flow{Protocol::Udp, config_.realm, config_.bind, remote, ConnectionRef{}});
}

void UdpListener::retry_later() {
  retry_timer_.start(kRetryDelay, [this] {
    retry_timer_.fired();
    if (!state_.closed() && socket_.is_open()) {
      receive();
    }
  });
}

void UdpListener::send_to(const Endpoint& remote, std::string_view data,
                          SendFailure on_failure) {
  std::error_code ec;
  socket_.send_to(asio::buffer(data.data(), data.size()), to_udp(remote), 0, ec);
  if (!ec) {
    ++state_.stats().datagrams_out;
    return;
  }
  ++state_.stats().send_errors;
  if (state_.should_log()) {
    log::warn("transport.send_error", {{"realm", config_.realm}, {"protocol", "udp"},
                                       {"remote", remote.to_string()}, {"error", ec.message()}});
  }
  if (!is_transient(ec) && on_failure) {
    std::vector<SendFailure> failures;
    failures.push_back(std::move(on_failure));
    state_.post_failures(std::move(failures));
  }
}

void UdpListener::close() {
  retry_timer_.cancel();
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace portico::transport
