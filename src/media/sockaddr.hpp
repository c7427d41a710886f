#pragma once
// Endpoint <-> sockaddr for the relay's raw socket calls (recvmmsg/sendmmsg and io_uring
// msghdrs). Allocation-free: the packet path uses them for every datagram.

#include <netinet/in.h>
#include <sys/socket.h>

#include <asio/ip/udp.hpp>

#include <cstring>

#include "portico/common/endpoint.hpp"

namespace portico::media {

inline Endpoint endpoint_from(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET6) {
    const auto& s6 = reinterpret_cast<const sockaddr_in6&>(ss);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &s6.sin6_addr, bytes.size());
    return {asio::ip::address_v6(bytes, s6.sin6_scope_id), ntohs(s6.sin6_port)};
  }
  const auto& s4 = reinterpret_cast<const sockaddr_in&>(ss);
  asio::ip::address_v4::bytes_type bytes;
  std::memcpy(bytes.data(), &s4.sin_addr, bytes.size());
  return {asio::ip::address_v4(bytes), ntohs(s4.sin_port)};
}

/// Writes `e` into `out`; returns the length to pass as msg_namelen.
inline socklen_t sockaddr_from(const Endpoint& e, sockaddr_storage& out) {
  const asio::ip::udp::endpoint ep(e.address, e.port);
  std::memcpy(&out, ep.data(), ep.size());
  return static_cast<socklen_t>(ep.size());
}

}  // namespace portico::media
