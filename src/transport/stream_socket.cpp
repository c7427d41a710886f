// StreamSocket's OpenSSL side (see stream_socket.hpp): creating the SSL and turning a failed
// SSL call into "wait for the socket" or an error code.

#include "stream_socket.hpp"

#include <openssl/err.h>

#include <cerrno>

namespace portico::transport {

StreamSocket::StreamSocket(asio::ip::tcp::socket socket, asio::ssl::context* tls)
    : tcp_(std::move(socket)) {
  if (tls != nullptr) {
    ssl_.reset(SSL_new(tls->native_handle()));  // the descriptor is set at the handshake
  }
}

std::error_code StreamSocket::failure(int ret, asio::ip::tcp::socket::wait_type& wait) {
  const int saved_errno = errno;
  const int e = SSL_get_error(ssl_.get(), ret);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      wait = asio::ip::tcp::socket::wait_read;
      ERR_clear_error();
      return {};
    case SSL_ERROR_WANT_WRITE:
      wait = asio::ip::tcp::socket::wait_write;
      ERR_clear_error();
      return {};
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      ERR_clear_error();
      return asio::error::eof;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      return saved_errno != 0 ? std::error_code(saved_errno, std::system_category())
                              : std::error_code(asio::error::eof);
    default:
      break;
  }
  // The first error is the cause (later ones are consequences); the queue is drained.
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0 || ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return asio::error::eof;  // the peer went away without close_notify
  }
  return {static_cast<int>(code), asio::error::get_ssl_category()};
}

}  // namespace portico::transport
