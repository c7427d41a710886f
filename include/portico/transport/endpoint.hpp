#pragma once
// Addresses and flows. A Flow says where a SIP message came from (or goes to) precisely enough
// to send the answer back the same way: protocol, local listener, remote address, and for
// stream transports the connection that carried it (RFC 3261 §18.2.2, RFC 5626 flows).

#include <asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::transport {

enum class Protocol : std::uint8_t { Udp, Tcp, Tls };

std::string_view to_string(Protocol p);          // "udp", "tcp", "tls"
std::string_view via_token(Protocol p);          // "UDP", "TCP", "TLS" (Via sent-protocol)
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

struct Flow {
  Protocol protocol = Protocol::Udp;
  std::string realm;      // realm whose listener received / sends it
  Endpoint local;         // this end: the listener's bound address, or for a connection
                          // Portico opened, the address and ephemeral port it bound
  Endpoint remote;        // the peer's observed address
  ConnectionRef connection;
};

/// Where an outbound message goes. For stream protocols an existing connection is reused when
/// `connection` is still open, else any open connection of this shard to (realm, remote), else
/// a new one is opened from the realm's listener address.
struct Destination {
  std::string realm;
  Protocol protocol = Protocol::Udp;
  Endpoint remote;
  ConnectionRef connection;
};

}  // namespace portico::transport
