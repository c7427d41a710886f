// Building the TLS contexts from policy settings, and naming handshake failures.
//
// Memory per connection matters (thousands of idle trunk and phone connections): contexts set
// SSL_MODE_RELEASE_BUFFERS (OpenSSL frees its record buffers while a connection is idle), keep
// no server-side session cache and send no TLS 1.3 session tickets (SIP over TLS connections are
// long-lived, so resumption buys little and each cached session costs memory).

#include "tls_contexts.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <stdexcept>

namespace portico::transport {

std::string_view to_string(TlsFailure f) {
  switch (f) {
    case TlsFailure::Expired:
      return "expired";
    case TlsFailure::UnknownCa:
      return "unknown_ca";
    case TlsFailure::NameMismatch:
      return "name_mismatch";
    case TlsFailure::NoClientCertificate:
      return "no_client_certificate";
    case TlsFailure::HandshakeTimeout:
      return "handshake_timeout";
    case TlsFailure::Protocol:
    case TlsFailure::Count:
      break;
  }
  return "protocol";
}

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& file) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  std::string reason = e != 0 ? ERR_reason_error_string(e) != nullptr ? ERR_reason_error_string(e)
                                                                      : "unknown error"
                              : "rejected";
  throw std::runtime_error("tls: " + what + " " + file + ": " + reason);
}

void apply_base(SSL_CTX* ctx, const TlsBase& base) {
  SSL_CTX_set_min_proto_version(ctx, base.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!base.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, base.ciphers.c_str()) != 1) {
    fail("cipher list", base.ciphers);
  }
}

void load_identity(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (cert.empty()) {
    return;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    fail("certificate", cert);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("private key", key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    fail("private key does not match", cert);
  }
}

void load_trust(SSL_CTX* ctx, const std::string& ca_file) {
  if (ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
    return;
  }
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    fail("CA file", ca_file);
  }
}

std::unique_ptr<TlsPeerContext> server_context(const TlsServerSettings& s) {
  auto c = std::make_unique<TlsPeerContext>(false);
  SSL_CTX* ctx = c->ctx.native_handle();
  apply_base(ctx, s);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  load_identity(ctx, s.certificate, s.private_key);
  c->handshake_timeout = s.handshake_timeout;
  if (s.verify_client == TlsServerSettings::VerifyClient::None) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return c;
  }
  load_trust(ctx, s.ca_file);
  if (!s.ca_file.empty()) {
    // The CertificateRequest names these CAs, so a client with several certificates picks ours.
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(s.ca_file.c_str()));
  }
  int mode = SSL_VERIFY_PEER;
  if (s.verify_client == TlsServerSettings::VerifyClient::Required) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx, mode, nullptr);
  return c;
}

std::unique_ptr<TlsPeerContext> client_context(const TlsClientSettings& s) {
  auto c = std::make_unique<TlsPeerContext>(true);
  SSL_CTX* ctx = c->ctx.native_handle();
  apply_base(ctx, s);
  load_identity(ctx, s.certificate, s.private_key);
  c->handshake_timeout = s.handshake_timeout;
  c->server_name = s.server_name;
  c->verify = s.verify;
  if (s.server_name.empty()) {
    c->ip = s.remote.address;
  }
  if (s.verify) {
    load_trust(ctx, s.ca_file);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!s.alpn.empty()) {
    std::string wire;  // RFC 7301 §3.1: each protocol prefixed by its length
    for (const auto& p : s.alpn) {
      wire += static_cast<char>(p.size());
      wire += p;
    }
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  return c;
}

}  // namespace

std::shared_ptr<const TlsContexts> build_tls_contexts(const TlsSettings& settings) {
  auto out = std::make_shared<TlsContexts>();
  for (const auto& s : settings.servers) {
    out->servers.push_back(TlsContexts::Server{s.realm, server_context(s)});
  }
  for (const auto& s : settings.clients) {
    out->clients.push_back(TlsContexts::Client{s.realm, s.remote, client_context(s)});
  }
  return out;
}

const TlsPeerContext* TlsContexts::server(const std::string& realm) const {
  for (const auto& s : servers) {
    if (s.realm == realm) {
      return s.context.get();
    }
  }
  return nullptr;
}

const TlsPeerContext* TlsContexts::client(const std::string& realm, const Endpoint& remote) const {
  for (const auto& c : clients) {
    if (c.realm == realm && c.remote == remote) {
      return c.context.get();
    }
  }
  return nullptr;
}

TlsFailure classify_tls_failure(const std::error_code& ec, long verify_result,
                                std::string& detail) {
  switch (verify_result) {
    case X509_V_OK:
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      detail = X509_verify_cert_error_string(verify_result);
      return TlsFailure::Expired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      detail = X509_verify_cert_error_string(verify_result);
      return TlsFailure::NameMismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      detail = X509_verify_cert_error_string(verify_result);
      return TlsFailure::UnknownCa;
    default:
      detail = X509_verify_cert_error_string(verify_result);
      return TlsFailure::Protocol;
  }
  detail = ec.message();
  if (ec.category() != asio::error::get_ssl_category()) {
    return TlsFailure::Protocol;
  }
  // The peer's alert, or our own refusal, as OpenSSL's reason code.
  switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return TlsFailure::Expired;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return TlsFailure::UnknownCa;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return TlsFailure::NoClientCertificate;
    default:
      return TlsFailure::Protocol;
  }
}

}  // namespace portico::transport
