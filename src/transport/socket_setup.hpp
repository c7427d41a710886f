#pragma once
// Socket set-up shared by the UDP listener, the TCP acceptor and outbound TCP connections:
// endpoint conversions and binding with SO_REUSEADDR + SO_REUSEPORT, so every shard opens its
// own socket on the same listener address and the kernel spreads peers across them.

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <string_view>
#include <system_error>

#include "portico/transport/endpoint.hpp"

namespace portico::transport {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

inline asio::ip::udp::endpoint to_udp(const Endpoint& e) { return {e.address, e.port}; }
inline asio::ip::tcp::endpoint to_tcp(const Endpoint& e) { return {e.address, e.port}; }

template <class AsioEndpoint>
Endpoint from_asio(const AsioEndpoint& e) {
  return Endpoint{e.address(), e.port()};
}

/// Opens and binds a UDP listener socket. Start-up only: throws std::system_error naming the
/// realm and address when the bind fails.
void open_udp_listener(asio::ip::udp::socket& socket, const Endpoint& bind,
                       std::string_view realm);

/// Opens, binds and listens on a TCP acceptor. Start-up only: throws std::system_error.
void open_tcp_acceptor(asio::ip::tcp::acceptor& acceptor, const Endpoint& bind,
                       std::string_view realm);

/// Opens `socket` and binds it to `local` with an ephemeral port, for an outbound connection.
/// Shard thread, never throws.
[[nodiscard]] std::error_code open_tcp_client(asio::ip::tcp::socket& socket,
                                              const asio::ip::address& local);

}  // namespace portico::transport
