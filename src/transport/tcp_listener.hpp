#pragma once
// TcpListener: this shard's SO_REUSEPORT acceptor on one TCP listener address. Every shard has
// its own acceptor on the same address, so the kernel spreads new connections across shards;
// an accepted connection lives on the accepting shard for its whole life.

#include <asio/ip/tcp.hpp>

#include "portico/common/timer_service.hpp"
#include "shard_state.hpp"

namespace portico::transport {

class TcpListener {
 public:
  /// Binds and listens; throws std::system_error at start-up if that fails.
  TcpListener(ShardState& state, ListenerConfig config);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  void start();
  void close();

  const ListenerConfig& config() const { return config_; }
  /// Reload: the listener keeps its socket and takes the new advertised host and port.
  void update_advertised(const ListenerConfig& c) {
    config_.advertised_host = c.advertised_host;
    config_.advertised_port = c.advertised_port;
  }
  bool is_v6() const { return config_.bind.address.is_v6(); }

 private:
  void accept();
  void on_accept(const std::error_code& ec, asio::ip::tcp::socket socket);

  ShardState& state_;
  ListenerConfig config_;
  asio::ip::tcp::acceptor acceptor_;
  Timer retry_timer_;
};

}  // namespace portico::transport
