#pragma once
// UdpListener: this shard's SO_REUSEPORT socket on one UDP listener address. It receives
// datagrams (one datagram = one SIP message, RFC 3261 §18.3), answers CRLF keepalives and
// sends this realm's UDP traffic from the listener's own address and port, so peers see
// replies come from the address they sent to (RFC 3261 §18.2.2, symmetric signalling).

#include <asio/ip/udp.hpp>

#include <string_view>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "shard_state.hpp"

namespace portico::transport {

class UdpListener {
 public:
  /// Binds the socket; throws std::system_error at start-up if that fails.
  UdpListener(ShardState& state, ListenerConfig config);
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  void start();
  /// Sends one datagram from this listener. Counts datagrams_out / send_errors; a hard error
  /// (not a full socket buffer, which UDP retransmission covers) goes to `on_failure`.
  void send_to(const Endpoint& remote, std::string_view data, SendFailure on_failure);
  void close();

  const ListenerConfig& config() const { return config_; }
  /// Reload: the listener keeps its socket and takes the new advertised host and port.
  void update_advertised(const ListenerConfig& c) {
    config_.advertised_host = c.advertised_host;
    config_.advertised_port = c.advertised_port;
  }
  bool is_v6() const { return config_.bind.address.is_v6(); }

 private:
  void receive();
  void on_receive(const std::error_code& ec, std::size_t n);
  void handle_datagram(std::string_view datagram);
  void retry_later();

  ShardState& state_;
  ListenerConfig config_;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint sender_;
  std::vector<char> buffer_;  // max_message_size + 1: a full buffer means "too large"
  Timer retry_timer_;
};

}  // namespace portico::transport
