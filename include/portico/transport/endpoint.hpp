#pragma once
// Flows and destinations. A Flow says where a SIP message came from (or goes to) precisely
// enough to send the answer back the same way: protocol, local listener, remote address, and
// for stream transports the connection that carried it (RFC 3261 §18.2.2, RFC 5626 flows).

#include <memory>
#include <string>

#include "portico/common/endpoint.hpp"

namespace portico::transport {

// The address value types are defined in common (policy, media and trace hold them without
// depending on transport); transport code keeps naming them transport::Endpoint and so on.
using portico::ConnectionRef;
using portico::Endpoint;
using portico::EndpointHash;
using portico::is_reliable;
using portico::parse_endpoint;
using portico::parse_protocol;
using portico::Protocol;
using portico::to_string;
using portico::via_token;

struct TlsInfo;  // tls.hpp

struct Flow {
  Protocol protocol = Protocol::Udp;
  std::string realm;      // realm whose listener received / sends it
  Endpoint local;         // this end: the listener's bound address, or for a connection
                          // Portico opened, the address and ephemeral port it bound
  Endpoint remote;        // the peer's observed address
  ConnectionRef connection;
  /// TLS connections only: the negotiated version, cipher and the peer certificate's names.
  std::shared_ptr<const TlsInfo> tls;
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
