// Policy TLS blocks → transport TLS settings (see tls_settings.hpp).

#include "tls_settings.hpp"

namespace portico::runtime {
namespace {

void copy_common(const policy::TlsCommon& from, transport::TlsBase& to) {
  to.tls13_only = from.min_version >= 13;
  to.ciphers = from.ciphers;
  to.handshake_timeout = from.handshake_timeout;
}

transport::TlsServerSettings::VerifyClient verify_client(policy::RealmTls::VerifyClient v) {
  using V = transport::TlsServerSettings::VerifyClient;
  switch (v) {
    case policy::RealmTls::VerifyClient::Optional:
      return V::Optional;
    case policy::RealmTls::VerifyClient::Required:
      return V::Required;
    case policy::RealmTls::VerifyClient::None:
      break;
  }
  return V::None;
}

}  // namespace

transport::TlsSettings tls_settings_of(const policy::PolicySnapshot& p) {
  transport::TlsSettings out;
  for (const auto& realm : p.realms) {
    if (!realm.tls.enabled) {
      continue;
    }
    transport::TlsServerSettings s;
    copy_common(realm.tls.common, s);
    s.realm = realm.name;
    s.certificate = realm.tls.certificate;
    s.private_key = realm.tls.private_key;
    s.ca_file = realm.tls.ca_file;
    s.verify_client = verify_client(realm.tls.verify_client);
    out.servers.push_back(std::move(s));
  }
  for (const auto& t : p.trunks) {
    if (t.transport != Protocol::Tls) {
      continue;
    }
    transport::TlsClientSettings c;
    copy_common(t.tls.common, c);
    c.realm = t.realm;
    asio::error_code ec;
    c.remote = Endpoint{asio::ip::make_address(t.host, ec), t.port};
    c.server_name = t.tls.server_name;
    c.ca_file = t.tls.ca_file;
    c.verify = t.tls.verify;
    c.certificate = t.tls.certificate;
    c.private_key = t.tls.private_key;
    c.alpn = t.tls.alpn;
    out.clients.push_back(std::move(c));
  }
  return out;
}

std::shared_ptr<const transport::TlsContexts> build_tls(const policy::PolicySnapshot& p) {
  transport::TlsSettings s = tls_settings_of(p);
  if (s.servers.empty() && s.clients.empty()) {
    return nullptr;
  }
  return transport::build_tls_contexts(s);
}

}  // namespace portico::runtime
