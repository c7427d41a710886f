#pragma once
// SIP over TLS (RFC 3261 §26.2, RFC 5630): the settings a TLS listener or a TLS trunk needs, the
// TLS contexts built from them, and what a TLS connection tells the layers above about itself.
//
// TlsContexts is immutable once built (on the control thread, at start-up and on each SIGHUP
// reload) and shared by every shard as shared_ptr<const TlsContexts>: a reload builds a new one
// for new connections, while each established connection keeps the one it started with
// (docs/style.md, "Libraries": OpenSSL). Nothing here includes OpenSSL.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::transport {

/// What both ends of a link share.
struct TlsBase {
  bool tls13_only = false;  // min_version 1.3
  std::string ciphers;      // TLS 1.2 cipher list (OpenSSL syntax)
  Millis handshake_timeout{std::chrono::seconds(5)};
};

/// The server side of a realm's tls:// listeners.
struct TlsServerSettings : TlsBase {
  std::string realm;
  std::string certificate;  // PEM chain file
  std::string private_key;  // PEM file
  std::string ca_file;      // for client certificates; empty = system store
  enum class VerifyClient { None, Optional, Required } verify_client = VerifyClient::None;
};

/// The client side towards one TLS trunk (realm + host:port).
struct TlsClientSettings : TlsBase {
  std::string realm;
  Endpoint remote;
  std::string server_name;  // SNI and the verified name; empty = the remote IP is verified
  std::string ca_file;      // empty = system store
  bool verify = true;
  std::string certificate;  // client certificate (mutual TLS); empty = none
  std::string private_key;
  std::vector<std::string> alpn;
};

struct TlsSettings {
  std::vector<TlsServerSettings> servers;
  std::vector<TlsClientSettings> clients;
};

class TlsContexts;  // defined in src/transport/tls_contexts.hpp

/// Builds every context; throws std::runtime_error naming the file and OpenSSL's reason when a
/// certificate, key or CA file cannot be used. Control thread only (start-up, reload).
std::shared_ptr<const TlsContexts> build_tls_contexts(const TlsSettings& settings);

/// What an established TLS connection reports with every message it delivers (Flow::tls):
/// for the CDR (version, cipher) and for identifying a trunk by its certificate (peer_names:
/// the peer certificate's DNS SANs, or its CN when it has none; empty without a certificate).
struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::vector<std::string> peer_names;
};

/// Handshake failure reasons: the `reason` label of portico_transport_tls_handshake_failures_total
/// and the `reason=` field of `transport.tls_handshake_failed` (stable tokens).
enum class TlsFailure : std::uint8_t {
  Expired,
  UnknownCa,
  NameMismatch,
  NoClientCertificate,
  HandshakeTimeout,
  Protocol,
  Count
};
std::string_view to_string(TlsFailure f);

}  // namespace portico::transport
