#pragma once
// Loopback peers and a bounded io pump for the media relay tests.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <cstdint>
#include <map>
#include <thread>
#include <vector>

#include "portico/media/epoll_set.hpp"
#include "portico/media/uring_engine.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::media::test {

using Bytes = std::vector<std::uint8_t>;

/// The media I/O paths every relay test runs on: an asio wait per socket (the fallback), the
/// shard's edge-triggered epoll set (the default), io_uring.
enum class Io { AsioWait, EpollSet, IoUring };

inline const char* io_name(Io io) {
  return io == Io::AsioWait ? "AsioWait" : io == Io::EpollSet ? "EpollSet" : "IoUring";
}

/// The ring serving each io_context of the test: a shard sleeps in its ring, so the pumps
/// below drive the ring (UringEngine::poll) instead of asio alone.
inline std::map<const asio::io_context*, UringEngine*>& rings() {
  static std::map<const asio::io_context*, UringEngine*> m;
  return m;
}

/// What a shard would own for path `want`; both null for AsioWait. When this kernel cannot
/// run io_uring, Portico falls back to the epoll set and so do the tests: the reason is printed.
struct IoPath {
  IoPath() = default;
  IoPath(IoPath&&) = default;
  IoPath& operator=(IoPath&&) = delete;
  ~IoPath() {
    if (uring) {
      rings().erase(io);
    }
  }
  std::unique_ptr<UringEngine> uring;
  std::unique_ptr<EpollSet> epoll;
  const asio::io_context* io = nullptr;
};

inline IoPath make_io(asio::io_context& io, Io want) {
  IoPath p;
  std::string why;
  if (want == Io::IoUring) {
    p.uring = UringEngine::create(io, why);
    if (p.uring) {
      p.io = &io;
      rings()[&io] = p.uring.get();
      return p;
    }
    std::printf("io_uring unavailable here (%s): the IoUring cases run the epoll set\n",
                why.c_str());
  }
  if (want != Io::AsioWait) {
    p.epoll = EpollSet::create(io, why);
  }
  return p;
}

struct Datagram {
  Bytes data;
  transport::Endpoint from;
};

/// Held for a test's life by fixtures that relay on fixed port ranges. Runs of the same suite
/// in other processes at once (ctest -j, other build trees on the machine) would bind each
/// other's ports and receive each other's datagrams; this lock file, shared machine-wide,
/// makes them take turns. Declare it first: it is released after every socket has closed.
class PortRangeLock {
 public:
  PortRangeLock()
      : fd_(::open("/tmp/portico-media-test-ports.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_EX);  // no lock file (read-only /tmp): run unserialized, as before
    }
  }
  ~PortRangeLock() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  PortRangeLock(const PortRangeLock&) = delete;
  PortRangeLock& operator=(const PortRangeLock&) = delete;

 private:
  int fd_;
};

/// A UDP socket standing in for a SIP peer's media endpoint. Non-blocking, polled by hand.
class TestPeer {
 public:
  TestPeer(asio::io_context& io, const asio::ip::address& addr) : socket_(io) {
    socket_.open(addr.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4());
    socket_.bind({addr, 0});
    socket_.non_blocking(true);
  }
  transport::Endpoint endpoint() const {
    auto ep = socket_.local_endpoint();
    return {ep.address(), ep.port()};
  }
  void send(const transport::Endpoint& to, const Bytes& data) {
    std::error_code ec;
    socket_.send_to(asio::buffer(data), {to.address, to.port}, 0, ec);
  }
  /// Reads everything queued (bounded) into `got`; returns how many arrived now.
  std::size_t poll() {
    std::size_t n = 0;
    for (int i = 0; i < 100000; ++i) {
      asio::ip::udp::endpoint from;
      std::error_code ec;
      std::size_t len = socket_.receive_from(asio::buffer(buf_), from, 0, ec);
      if (ec) {
        break;
      }
      got.push_back({Bytes(buf_.begin(), buf_.begin() + static_cast<long>(len)),
                     {from.address(), from.port()}});
      ++n;
    }
    return n;
  }
  /// Counts queued datagrams without keeping them (allocation-free, for the burst test).
  std::size_t discard() {
    std::size_t n = 0;
    for (int i = 0; i < 100000; ++i) {
      std::error_code ec;
      socket_.receive(asio::buffer(buf_), 0, ec);
      if (ec) {
        break;
      }
      ++n;
    }
    return n;
  }
  asio::ip::udp::socket& socket() { return socket_; }

  std::vector<Datagram> got;

 private:
  asio::ip::udp::socket socket_;
  std::array<std::uint8_t, 4096> buf_{};
};

/// Runs what is ready on `io` (and its ring) without sleeping.
inline void poll_once(asio::io_context& io) {
  io.restart();
  const auto it = rings().find(&io);
  if (it != rings().end()) {
    it->second->poll();
  } else {
    io.poll();
  }
}

/// Runs `io` in short slices until `done()` or `limit` elapses (wall clock). Bounded.
template <class Pred>
bool pump_until(asio::io_context& io, Pred done,
                std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const bool ring = rings().count(&io) > 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    if (ring) {
      poll_once(io);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
  }
  return done();
}

/// Runs `io` for `span` (to show that nothing arrives).
inline void pump_for(asio::io_context& io, std::chrono::milliseconds span) {
  pump_until(io, [] { return false; }, span);
}

/// RFC 3550 §5.1 RTP packet: V=2, PT 0, given SSRC and sequence, `payload` bytes of 0xAB.
inline Bytes make_rtp(std::uint32_t ssrc, std::uint16_t seq, std::size_t payload = 160) {
  Bytes p(12 + payload, 0xAB);
  p[0] = 0x80;
  p[1] = 0x00;
  p[2] = static_cast<std::uint8_t>(seq >> 8);
  p[3] = static_cast<std::uint8_t>(seq);
  for (int i = 4; i < 8; ++i) {
    p[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(seq + i);  // timestamp
  }
  p[8] = static_cast<std::uint8_t>(ssrc >> 24);
  p[9] = static_cast<std::uint8_t>(ssrc >> 16);
  p[10] = static_cast<std::uint8_t>(ssrc >> 8);
  p[11] = static_cast<std::uint8_t>(ssrc);
  return p;
}

/// RFC 3550 §6.4.2 empty Receiver Report (PT 201): 8 bytes.
inline Bytes make_rtcp_rr(std::uint32_t ssrc) {
  return Bytes{0x80, 201, 0x00, 0x01, static_cast<std::uint8_t>(ssrc >> 24),
               static_cast<std::uint8_t>(ssrc >> 16), static_cast<std::uint8_t>(ssrc >> 8),
               static_cast<std::uint8_t>(ssrc)};
}

}  // namespace portico::media::test
