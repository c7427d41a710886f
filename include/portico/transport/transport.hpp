#pragma once
// The transport seam. A shard's SIP code sees one Transport: it sends bytes to a Destination
// and receives whole framed messages through the InboundSink it registered. UDP datagrams,
// TCP streams framed by Content-Length, and (next) TLS streams all sit behind this interface.

#include <functional>
#include <memory>
#include <string>

#include "portico/common/timer_service.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::transport {

/// One complete SIP message as it arrived. Owns its bytes (moved across shards).
struct Inbound {
  std::string data;
  Flow flow;
  TimePoint received{};
};

/// Called on the shard that received the bytes; the SIP front door then hands the message to
/// the shard that owns its call (sip/shard_routing.hpp). Owned payload.
using InboundSink = std::function<void(Inbound&&)>;

/// Called when a send could not be completed (connect refused/timed out, connection reset
/// before the write). Runs on the sending shard's thread. Used by client transactions to
/// report a transport error (RFC 3261 §8.1.3.1: treated as a 503).
using SendFailure = std::function<void()>;

/// Per-shard counters of the transport layer. Shard-local, plain fields (read by metrics later).
struct TransportStats {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t stream_messages_in = 0;
  std::uint64_t stream_messages_out = 0;
  std::uint64_t oversize_dropped = 0;       // message larger than limits.max_message_size
  std::uint64_t framing_errors = 0;         // bad/missing Content-Length on a stream
  std::uint64_t send_errors = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_closed = 0;
  std::uint64_t idle_closed = 0;
  std::uint64_t keepalives = 0;             // CRLF / double-CRLF pings
  // Connections closed to protect the shard (policy `ingress`):
  std::uint64_t refused_max_connections = 0;  // accepted over the shard's connection cap
  std::uint64_t refused_max_per_source = 0;   // accepted over the per-address cap
  std::uint64_t message_deadline_closed = 0;  // a message (or the first) not complete in time
  std::uint64_t output_queue_closed = 0;      // the peer did not read: output over the cap
  // SIP over TLS: completed handshakes, and failed ones by reason (TlsFailure, tls.hpp).
  std::uint64_t tls_handshakes = 0;
  std::uint64_t tls_failed_expired = 0;
  std::uint64_t tls_failed_unknown_ca = 0;
  std::uint64_t tls_failed_name_mismatch = 0;
  std::uint64_t tls_failed_no_client_certificate = 0;
  std::uint64_t tls_failed_handshake_timeout = 0;
  std::uint64_t tls_failed_protocol = 0;
};

/// Shard-local interface: call only on the owning shard's thread.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Queues `data` for `dst`. Returns false if it cannot even be attempted (no listener of that
  /// protocol and address family in the realm); asynchronous failures go to `on_failure`.
  virtual bool send(const Destination& dst, std::string data, SendFailure on_failure = {}) = 0;
  /// Local address Portico uses on `realm` for `protocol` (Via sent-by / Contact host:port),
  /// as advertised by policy. False if the realm has no such listener.
  virtual bool local_address(const std::string& realm, Protocol protocol, bool ipv6,
                             std::string& host, std::uint16_t& port) const = 0;
  virtual const TransportStats& stats() const = 0;
  /// The local address and port a message to `dst` leaves from (traces show real addresses):
  /// the realm's listener for UDP, the connection's own end for TCP. False when no connection
  /// to `dst` exists yet (send() opens one) or the sender cannot tell.
  virtual bool sending_endpoint(const Destination& dst, Endpoint& local) const {
    (void)dst;
    (void)local;
    return false;
  }
  /// The TLS version, cipher and peer names of the open TLS connection a message to `dst`
  /// would go down (this shard's; null when there is none, or `dst` is not TLS). For the CDR.
  virtual std::shared_ptr<const TlsInfo> tls_info(const Destination& dst) const {
    (void)dst;
    return nullptr;
  }
};

}  // namespace portico::transport
