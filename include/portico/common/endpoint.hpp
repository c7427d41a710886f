#pragma once
// Addresses as plain values: the protocol a message travels on, an IP address and port, and the
// name of a stream connection. They live here, below every module, because policy (listeners,
// targets), media (RTP peers and latching) and trace (packet addresses) hold them without
// sending anything; the transport's own types (Flow, Destination) stay in transport/endpoint.hpp.

#include <asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico {

enum class Protocol : std::uint8_t { Udp, Tcp, Tls };

std::string_view to_string(Protocol p);  // "udp", "tcp", "tls"
std::string_view via_token(Protocol p);  // "UDP", "TCP", "TLS" (Via sent-protocol)
std::optional<Protocol> parse_protocol(std::string_view s);  // case-insensitive
bool is_reliable(Protocol p);

struct Endpoint {
  asio::ip::address address;
  std::uint16_t port = 0;

  bool operator==(const Endpoint&) const = default;
  /// "1.2.3.4:5060" or "[::1]:5060".
  std::string to_string() const;
  /// Host part as it goes into a SIP URI or Via: IPv6 in brackets.
  std::string host_for_uri() const;
};

std::optional<Endpoint> parse_endpoint(std::string_view host, std::uint16_t port);

/// Hash of an Endpoint (address bytes + port), for unordered containers keyed by peer.
struct EndpointHash {
  std::size_t operator()(const Endpoint& e) const noexcept;
};

/// A stream connection, named by the shard that owns it and an id unique on that shard.
/// id 0 means "no connection" (datagram flows).
struct ConnectionRef {
  std::uint16_t shard = 0;
  std::uint64_t id = 0;
  bool valid() const { return id != 0; }
  bool operator==(const ConnectionRef&) const = default;
};

}  // namespace portico
