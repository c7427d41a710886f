#pragma once
// Helpers for the transport tests: a shard (io_context + timers + ShardTransport) driven from
// the test thread, bounded polling loops, and non-blocking loopback peers.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/transport/shard_transport.hpp"

namespace portico::transport::testing {

using namespace std::chrono_literals;

inline const asio::ip::address kLoopback4 = asio::ip::make_address("127.0.0.1");
inline const asio::ip::address kLoopback6 = asio::ip::make_address("::1");

/// A port free for both UDP and TCP on `addr` right now (ephemeral range, loopback only).
inline std::uint16_t free_port(const asio::ip::address& addr) {
  asio::io_context io;
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::error_code ec;
    asio::ip::udp::socket u(io);
    u.open(addr.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    u.bind({addr, 0}, ec);
    if (ec) {
      return 0;
    }
    std::uint16_t port = u.local_endpoint(ec).port();
    asio::ip::tcp::acceptor t(io);
    t.open(addr.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), ec);
    t.bind({addr, port}, ec);
    if (!ec) {
      return port;
    }
  }
  return 0;
}

inline bool ipv6_loopback_available() {
  asio::io_context io;
  asio::ip::udp::socket s(io);
  std::error_code ec;
  s.open(asio::ip::udp::v6(), ec);
  s.bind({kLoopback6, 0}, ec);
  return !ec;
}

/// One shard: its own io_context, timers, transport and the messages its sink received.
struct TestShard {
  explicit TestShard(std::uint16_t shard_index = 0) : index(shard_index) {}
  ~TestShard() { transport.reset(); }

  void start(std::vector<ListenerConfig> listeners, TransportLimits limits = {},
             PostToShard post = {}) {
    transport = std::make_unique<ShardTransport>(
        index, io, timers, std::move(listeners), limits,
        [this](Inbound&& in) { inbound.push_back(std::move(in)); }, std::move(post));
  }

  std::uint16_t index;
  asio::io_context io{1};
  AsioTimerService timers{io};
  std::vector<Inbound> inbound;
  std::unique_ptr<ShardTransport> transport;
};

/// Runs every io_context in small slices until `pred` holds or `timeout` passes.
template <class Pred>
bool run_until(std::vector<asio::io_context*> ios, Pred pred, Millis timeout = 3s) {
  // `pred` is evaluated exactly once per round: it may consume what it checks.
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    for (asio::io_context* io : ios) {
      io->run_for(2ms);
      if (io->stopped()) {
        io->restart();
      }
    }
    std::this_thread::sleep_for(200us);
  }
  return pred();
}

template <class Pred>
bool run_until(asio::io_context& io, Pred pred, Millis timeout = 3s) {
  return run_until(std::vector<asio::io_context*>{&io}, pred, timeout);
}

/// Runs `io` for `duration` regardless of events.
inline void run_for(asio::io_context& io, Millis duration) {
  run_until(io, [] { return false; }, duration);
}

inline ListenerConfig listener(std::string realm, Protocol p, asio::ip::address addr,
                               std::uint16_t port) {
  ListenerConfig c;
  c.realm = std::move(realm);
  c.protocol = p;
  c.bind = Endpoint{addr, port};
  return c;
}

/// A SIP request with a correct Content-Length for `body`.
inline std::string sip_request(const std::string& tag, const std::string& body = {},
                               const char* length_header = "Content-Length") {
  return "OPTIONS sip:" + tag + "@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK" + tag + "\r\n"
         "Call-ID: " + tag + "\r\n"
         "CSeq: 1 OPTIONS\r\n" +
         length_header + ": " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// Non-blocking TCP peer on loopback.
struct TcpPeer {
  explicit TcpPeer(asio::io_context& io) : socket(io) {}
  bool connect(const Endpoint& to) {
    std::error_code ec;
    socket.connect({to.address, to.port}, ec);
    if (!ec) {
      socket.non_blocking(true, ec);
    }
    return !ec;
  }
  void write(std::string_view data) {
    std::error_code ec;
    socket.non_blocking(false, ec);
    asio::write(socket, asio::buffer(data.data(), data.size()), ec);
    socket.non_blocking(true, ec);
  }
  /// Reads what is available; sets `closed` on EOF/reset.
  void poll() {
    char buf[4096];
    for (int i = 0; i < 64 && !closed; ++i) {
      std::error_code ec;
      std::size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) {
        return;
      }
      if (ec) {
        closed = true;
        return;
      }
      received.append(buf, n);
    }
  }
  Endpoint local() const {
    std::error_code ec;
    auto e = socket.local_endpoint(ec);
    return Endpoint{e.address(), e.port()};
  }
  asio::ip::tcp::socket socket;
  std::string received;
  bool closed = false;
};

/// Non-blocking UDP peer on loopback.
struct UdpPeer {
  UdpPeer(asio::io_context& io, const asio::ip::address& addr) : socket(io) {
    std::error_code ec;
    socket.open(addr.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    socket.bind({addr, 0}, ec);
    socket.non_blocking(true, ec);
  }
  void send(const Endpoint& to, std::string_view data) {
    std::error_code ec;
    socket.send_to(asio::buffer(data.data(), data.size()), {to.address, to.port}, 0, ec);
  }
  /// One datagram if available.
  std::optional<std::string> poll(Endpoint* from = nullptr) {
    char buf[70000];
    asio::ip::udp::endpoint sender;
    std::error_code ec;
    std::size_t n = socket.receive_from(asio::buffer(buf), sender, 0, ec);
    if (ec) {
      return std::nullopt;
    }
    if (from != nullptr) {
      *from = Endpoint{sender.address(), sender.port()};
    }
    return std::string(buf, n);
  }
  Endpoint local() const {
    std::error_code ec;
    auto e = socket.local_endpoint(ec);
    return Endpoint{e.address(), e.port()};
  }
  asio::ip::udp::socket socket;
};

}  // namespace portico::transport::testing
