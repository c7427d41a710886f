#pragma once
// StreamSocket: the byte stream under a TcpConnection, plain TCP or TLS over TCP.
//
// Why a seam and not a template: everything a SIP stream connection does (framing, keepalive
// pongs, idle timer, message deadline, output cap, failure reporting) is the same for TCP and
// TLS and lives once in TcpConnection; only "read some bytes", "write these bytes" and the
// handshake differ. A template would compile that logic twice and split the connection table
// into two types; this seam costs one branch per read or write.
//
// Why not asio::ssl::stream: it allocates two 17 kB record buffers per stream and a 2 x 17 kB
// BIO pair up front (about 70 kB per idle connection, measured with bench/tls.sh), where SIP
// trunks and phones hold thousands of mostly idle connections. Here OpenSSL reads and writes
// the non-blocking socket itself and asio only says when the socket is ready (async_wait), so
// an idle connection holds no buffer at all (SSL_MODE_RELEASE_BUFFERS frees OpenSSL's). The
// handlers keep asio's contract: never run inside the initiating call, errors as
// std::error_code (OpenSSL's in asio's ssl category, so callers classify them the same way).

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>

#include <memory>
#include <utility>

#include <openssl/ssl.h>

namespace portico::transport {

class StreamSocket {
 public:
  enum class HandshakeType { Client, Server };

  /// Plain TCP when `tls` is null; else a TLS endpoint of that context over the socket.
  StreamSocket(asio::ip::tcp::socket socket, asio::ssl::context* tls);
  StreamSocket(const StreamSocket&) = delete;
  StreamSocket& operator=(const StreamSocket&) = delete;

  bool is_tls() const { return ssl_ != nullptr; }
  asio::ip::tcp::socket& tcp() { return tcp_; }
  SSL* ssl() { return ssl_.get(); }

  /// Handler: void(const std::error_code&).
  template <class Handler>
  void async_handshake(HandshakeType type, Handler h) {
    if (type == HandshakeType::Server) {
      SSL_set_accept_state(ssl_.get());
    } else {
      SSL_set_connect_state(ssl_.get());
    }
    std::error_code ignored;
    tcp_.non_blocking(true, ignored);  // OpenSSL reads and writes it directly
    SSL_set_fd(ssl_.get(), tcp_.native_handle());
    step([this] { return SSL_do_handshake(ssl_.get()) == 1 ? 0 : -1; },
         [h = std::move(h)](const std::error_code& ec, std::size_t) mutable { h(ec); }, 0);
  }

  /// Handler: void(const std::error_code&, std::size_t).
  template <class Handler>
  void async_read_some(asio::mutable_buffer buf, Handler h) {
    if (!ssl_) {
      tcp_.async_read_some(buf, std::move(h));
      return;
    }
    step(
        [this, buf, got = std::size_t{0}]() mutable -> long {
          return SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &got) == 1 ? static_cast<long>(got)
                                                                            : -1;
        },
        std::move(h), 0);
  }

  /// Writes all of `buf`. Handler: void(const std::error_code&, std::size_t).
  template <class Handler>
  void async_write(asio::const_buffer buf, Handler h) {
    if (!ssl_) {
      asio::async_write(tcp_, buf, std::move(h));
      return;
    }
    step(
        [this, buf]() -> long {
          std::size_t put = 0;
          return SSL_write_ex(ssl_.get(), buf.data(), buf.size(), &put) == 1
                     ? static_cast<long>(put)
                     : -1;
        },
        std::move(h), 0);
  }

  /// Closes the TCP socket without a TLS close_notify (the peer is gone, idle or misbehaving;
  /// waiting for its answer would hold the connection open on its terms). Pending operations
  /// complete with operation_aborted.
  void close() {
    std::error_code ignored;
    tcp_.close(ignored);
  }

 private:
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };

  /// The error of a failed SSL call, or {} when it only needs the socket ready: then `wait`
  /// says for what. Drains OpenSSL's error queue.
  std::error_code failure(int ret, asio::ip::tcp::socket::wait_type& wait);

  /// Runs `op` (an SSL call returning >= 0 on success) until it succeeds or fails, waiting for
  /// the socket in between; then `h(ec, result)`, never inside the initiating call.
  template <class Op, class Handler>
  void step(Op op, Handler h, int depth) {
    const long r = op();
    std::error_code ec;
    auto wait = asio::ip::tcp::socket::wait_read;
    if (r < 0) {
      ec = failure(static_cast<int>(r), wait);
      if (!ec) {
        // Not ready: retry when the socket is. On abort (closed) only the caller's handler
        // runs, which checks its own liveness; `this` may be gone by then.
        tcp_.async_wait(wait, [this, alive = std::weak_ptr<const int>(alive_), op = std::move(op),
                               h = std::move(h)](const std::error_code& wec) mutable {
          if (wec || alive.expired()) {
            h(wec ? wec : asio::error::operation_aborted, 0);
            return;
          }
          step(std::move(op), std::move(h), 1);
        });
        return;
      }
    }
    const std::size_t n = r < 0 ? 0 : static_cast<std::size_t>(r);
    if (depth == 0) {
      asio::post(tcp_.get_executor(), [h = std::move(h), ec, n]() mutable { h(ec, n); });
    } else {
      h(ec, n);
    }
  }

  asio::ip::tcp::socket tcp_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);
};

}  // namespace portico::transport
