#pragma once
// TlsContexts: the OpenSSL contexts of one policy, one per realm with tls:// listeners (server)
// and one per TLS trunk destination (client). Private to the transport module.
//
// Thread note: built on the control thread, then only read. asio::ssl::context (the SSL_CTX's
// owner) hands out its SSL_CTX* only through a non-const native_handle(), although SSL_new() on
// it is thread-safe in OpenSSL 3 and changes nothing a reader sees, hence the `mutable` contexts.

#include <asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portico/transport/tls.hpp"

namespace portico::transport {

/// One side's context plus what each new SSL of it needs (set per connection).
struct TlsPeerContext {
  explicit TlsPeerContext(bool is_client)
      : ctx(is_client ? asio::ssl::context::tls_client : asio::ssl::context::tls_server),
        client(is_client) {}
  mutable asio::ssl::context ctx;
  bool client;
  Millis handshake_timeout{std::chrono::seconds(5)};
  // Client side only:
  std::string server_name;              // SNI + SSL_set1_host; empty = verify ip
  std::optional<asio::ip::address> ip;  // verified against the certificate's IP SANs
  bool verify = true;
};

class TlsContexts {
 public:
  /// The server context of `realm`'s tls listeners, or nullptr.
  const TlsPeerContext* server(const std::string& realm) const;
  /// The client context towards `remote` on `realm`, or nullptr (no TLS trunk there).
  const TlsPeerContext* client(const std::string& realm, const Endpoint& remote) const;

  struct Server {
    std::string realm;
    std::unique_ptr<TlsPeerContext> context;
  };
  struct Client {
    std::string realm;
    Endpoint remote;
    std::unique_ptr<TlsPeerContext> context;
  };
  std::vector<Server> servers;
  std::vector<Client> clients;
};

/// Classifies a failed handshake (or the first read of a connection whose handshake the peer
/// refused after the fact, as a TLS 1.3 server does with a missing client certificate) from
/// asio's error and the SSL's verify result; `detail` gets OpenSSL's words for it.
TlsFailure classify_tls_failure(const std::error_code& ec, long verify_result, std::string& detail);

}  // namespace portico::transport
