// Socket options for listeners. SO_REUSEPORT must be set on every socket of the group before
// bind(); v6_only keeps an IPv6 listener from also capturing IPv4 traffic (a separate IPv4
// listener may exist on the same port, and the flow's address family must match the socket's).

#include "socket_setup.hpp"

#include <asio/ip/v6_only.hpp>
#include <asio/socket_base.hpp>

#include <string>

namespace portico::transport {

namespace {

[[noreturn]] void fail(const std::error_code& ec, std::string_view what, const Endpoint& bind,
                       std::string_view realm) {
  throw std::system_error(ec, std::string(what) + " " + bind.to_string() + " (realm " +
                                  std::string(realm) + ")");
}

template <class Socket>
std::error_code set_listener_options(Socket& s, const Endpoint& bind) {
  std::error_code ec;
  s.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    s.set_option(ReusePort(true), ec);
  }
  if (!ec && bind.address.is_v6()) {
    s.set_option(asio::ip::v6_only(true), ec);
  }
  return ec;
}

}  // namespace

void open_udp_listener(asio::ip::udp::socket& socket, const Endpoint& bind,
                       std::string_view realm) {
  std::error_code ec;
  auto ep = to_udp(bind);
  socket.open(ep.protocol(), ec);
  if (ec) {
    fail(ec, "udp open", bind, realm);
  }
  if ((ec = set_listener_options(socket, bind))) {
    fail(ec, "udp socket options", bind, realm);
  }
  socket.bind(ep, ec);
  if (ec) {
    fail(ec, "udp bind", bind, realm);
  }
  // Sends are synchronous send_to calls on the shard thread; they must never block it.
  socket.non_blocking(true, ec);
  if (ec) {
    fail(ec, "udp non_blocking", bind, realm);
  }
}

void open_tcp_acceptor(asio::ip::tcp::acceptor& acceptor, const Endpoint& bind,
                       std::string_view realm) {
  std::error_code ec;
  auto ep = to_tcp(bind);
  acceptor.open(ep.protocol(), ec);
  if (ec) {
    fail(ec, "tcp open", bind, realm);
  }
  if ((ec = set_listener_options(acceptor, bind))) {
    fail(ec, "tcp socket options", bind, realm);
  }
  acceptor.bind(ep, ec);
  if (ec) {
    fail(ec, "tcp bind", bind, realm);
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    fail(ec, "tcp listen", bind, realm);
  }
}

std::error_code open_tcp_client(asio::ip::tcp::socket& socket, const asio::ip::address& local) {
  std::error_code ec;
  asio::ip::tcp::endpoint ep(local, 0);
  socket.open(ep.protocol(), ec);
  if (!ec) {
    socket.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec && local.is_v6()) {
    socket.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    socket.bind(ep, ec);
  }
  if (!ec) {
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
  }
  return ec;
}

}  // namespace portico::transport
