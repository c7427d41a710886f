#pragma once
// StreamSocket: the byte stream under a TcpConnection, plain TCP or TLS over TCP.
//
// Why a seam and not a template: everything a SIP stream connection does (framing, keepalive
// pongs, idle timer, message deadline, output cap, failure reporting) is the same for TCP and
// TLS and lives once in TcpConnection; only "read some bytes", "write these bytes" and the
// handshake differ. A template would compile that logic twice and split the connection table
// into two types; a variant-like seam costs one branch per read or write. The TLS stream is on
// the heap so a plain TCP connection does not carry its size.

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

#include <memory>
#include <utility>

namespace portico::transport {

class StreamSocket {
 public:
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

  /// Plain TCP when `tls` is null; else the socket is wrapped in a TLS stream of that context.
  StreamSocket(asio::ip::tcp::socket socket, asio::ssl::context* tls) : tcp_(std::move(socket)) {
    if (tls != nullptr) {
      tls_ = std::make_unique<TlsStream>(std::move(tcp_), *tls);
    }
  }

  bool is_tls() const { return tls_ != nullptr; }
  asio::ip::tcp::socket& tcp() { return tls_ ? tls_->next_layer() : tcp_; }
  TlsStream* tls() { return tls_.get(); }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

  template <class Handler>
  void async_read_some(asio::mutable_buffer buf, Handler&& h) {
    if (tls_) {
      tls_->async_read_some(buf, std::forward<Handler>(h));
    } else {
      tcp_.async_read_some(buf, std::forward<Handler>(h));
    }
  }

  template <class Handler>
  void async_write(asio::const_buffer buf, Handler&& h) {
    if (tls_) {
      asio::async_write(*tls_, buf, std::forward<Handler>(h));
    } else {
      asio::async_write(tcp_, buf, std::forward<Handler>(h));
    }
  }

  /// Closes the TCP socket without a TLS close_notify (the peer is gone, idle or misbehaving;
  /// waiting for its answer would hold the connection open on its terms).
  void close() {
    std::error_code ignored;
    tcp().close(ignored);
  }

 private:
  asio::ip::tcp::socket tcp_;  // moved into tls_ when TLS
  std::unique_ptr<TlsStream> tls_;
};

}  // namespace portico::transport
