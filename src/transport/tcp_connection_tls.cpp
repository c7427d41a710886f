// The TLS part of a stream connection: SNI and host-name verification on outbound connections,
// the handshake under its timeout, and naming a failure (TcpConnection's other states are the
// same for TCP and TLS, see tcp_connection.cpp).
//
// A handshake that fails is counted by reason and logged once per peer address and reason
// (ShardState::note_tls_failure); a peer that connects and stalls is cut at handshake_timeout.
// An accepted connection counts toward the connection caps from accept on, handshake included.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "portico/common/log.hpp"
#include "tcp_connection.hpp"

namespace portico::transport {

namespace {

// The names a verified peer certificate vouches for: its DNS SANs, or its CN without any.
std::vector<std::string> certificate_names(SSL* ssl) {
  std::vector<std::string> names;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return names;
  }
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type == GEN_DNS) {
        const ASN1_STRING* s = n->d.dNSName;
        names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      names.emplace_back(cn);
    }
  }
  return names;
}

}  // namespace

void TcpConnection::start_handshake() {
  phase_ = Phase::Handshaking;
  const TlsPeerContext& ctx = *tls_.context;
  SSL* ssl = socket_.ssl();
  if (ctx.client) {
    // RFC 5922 §7.2 / RFC 6066 §3: SNI names the trunk; its certificate must match the name
    // (or, without a server_name, the IP literal Portico dialled).
    if (!ctx.server_name.empty()) {
      SSL_set_tlsext_host_name(ssl, ctx.server_name.c_str());
      if (ctx.verify) {
        SSL_set1_host(ssl, ctx.server_name.c_str());
      }
    } else if (ctx.verify && ctx.ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ctx.ip->to_string().c_str());
    }
  }
  ShardState* st = &state_;
  std::uint64_t id = id_;
  connect_timer_.start(ctx.handshake_timeout, [st, id] {
    if (TcpConnection* c = st->find_connection(id)) {
      c->connect_timer_.fired();
      if (c->phase_ == Phase::Handshaking) {
        c->tls_failed(TlsFailure::HandshakeTimeout, "no handshake within handshake_timeout");
      }
    }
  });
  auto type = ctx.client ? StreamSocket::HandshakeType::Client
                         : StreamSocket::HandshakeType::Server;
  socket_.async_handshake(
      type, guarded([](TcpConnection& c, const std::error_code& ec) { c.on_handshake(ec); }));
}

void TcpConnection::on_handshake(const std::error_code& ec) {
  if (phase_ != Phase::Handshaking) {
    return;
  }
  connect_timer_.cancel();
  SSL* ssl = socket_.ssl();
  if (ec) {
    std::string detail;
    TlsFailure reason = classify_tls_failure(ec, SSL_get_verify_result(ssl), detail);
    ERR_clear_error();  // the queue is drained after every failing call
    tls_failed(reason, detail);
    return;
  }
  auto info = std::make_shared<TlsInfo>();
  info->version = SSL_get_version(ssl);
  info->cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  info->peer_names = certificate_names(ssl);
  tls_info_ = std::move(info);
  ++state_.stats().tls_handshakes;
  log::debug("transport.tls_established", {{"realm", realm_},
                                           {"remote", remote_.to_string()},
                                           {"connection", id_},
                                           {"version", tls_info_->version},
                                           {"cipher", tls_info_->cipher}});
  opened();
}

bool TcpConnection::tls_refused_late(const std::error_code& ec) {
  if (!socket_.is_tls() || delivered_ || ec.category() != asio::error::get_ssl_category()) {
    return false;
  }
  std::string detail;
  TlsFailure reason = classify_tls_failure(ec, X509_V_OK, detail);
  ERR_clear_error();
  state_.post_failures(std::move(unconfirmed_));
  unconfirmed_.clear();
  tls_failed(reason, detail);
  return true;
}

void TcpConnection::tls_failed(TlsFailure reason, const std::string& detail) {
  state_.note_tls_failure(realm_, remote_, outbound_, reason, detail);
  close(CloseReason::TlsHandshakeFailed);
}

}  // namespace portico::transport
