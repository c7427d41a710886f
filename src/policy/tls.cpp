// `realms.<name>.tls` and `trunks.<name>.tls` (docs/tls.md): certificates, keys, CA bundles and
// verification for SIP over TLS. The files are read here, at load (and SIGHUP reload) time, so
// a missing file, a file that is not PEM, or a key that does not belong to its certificate is a
// policy error naming file:line field, never a failure on the first call.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>

#include "policy_draft.hpp"
#include "portico/common/strings.hpp"

namespace portico::policy::detail {
namespace {

const KeyList kRealmTlsKeys = {"certificate", "private_key", "ca_file",          "verify_client",
                               "min_version", "ciphers",     "handshake_timeout"};
const KeyList kTrunkTlsKeys = {
    "server_name", "ca_file",    "verify",      "certificate", "private_key",
    "alpn",        "peer_names", "min_version", "ciphers",     "handshake_timeout"};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A path read from the policy: relative ones are next to the policy file. Reported and nullopt
// when the file cannot be opened.
std::optional<std::string> readable_path(const Reader& r, const Field& f, BioPtr& bio) {
  const auto name = r.string(f);
  if (!name) {
    return std::nullopt;
  }
  if (name->empty()) {
    r.error(f, "is empty (expected a file name)");
    return std::nullopt;
  }
  std::filesystem::path path(*name);
  if (path.is_relative()) {
    path = std::filesystem::path(r.file()).parent_path() / path;
  }
  bio.reset(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    r.error(f, "cannot read " + quote(path.string()));
    return std::nullopt;
  }
  return path.string();
}

std::optional<std::string> certificate_file(const Reader& r, const Field& f, X509Ptr& cert) {
  BioPtr bio;
  auto path = readable_path(r, f, bio);
  if (!path) {
    return std::nullopt;
  }
  cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) {
    r.error(f, quote(*path) + " holds no PEM certificate");
    return std::nullopt;
  }
  return path;
}

std::optional<std::string> key_file(const Reader& r, const Field& f, PkeyPtr& key) {
  BioPtr bio;
  auto path = readable_path(r, f, bio);
  if (!path) {
    return std::nullopt;
  }
  key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) {
    r.error(f, quote(*path) + " holds no PEM private key (or it is encrypted)");
    return std::nullopt;
  }
  return path;
}

std::optional<std::string> ca_file(const Reader& r, const Field& f) {
  X509Ptr first;
  return certificate_file(r, f, first);
}

// certificate + private_key, both or neither; the key must be the certificate's.
void read_identity(const Reader& r, const FieldMap& m, const Field& parent, std::string& cert_out,
                   std::string& key_out) {
  const Field* cf = find(m, "certificate");
  const Field* kf = find(m, "private_key");
  if ((cf == nullptr) != (kf == nullptr)) {
    r.error(cf != nullptr ? *cf : *kf, std::string("needs ") +
                                           (cf != nullptr ? "private_key" : "certificate") +
                                           " beside it in " + parent.path);
    return;
  }
  if (cf == nullptr) {
    return;
  }
  X509Ptr cert;
  PkeyPtr key;
  auto cpath = certificate_file(r, *cf, cert);
  auto kpath = key_file(r, *kf, key);
  if (!cpath || !kpath) {
    return;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    r.error(*kf, quote(*kpath) + " is not the key of the certificate " + quote(*cpath));
    return;
  }
  cert_out = *cpath;
  key_out = *kpath;
}

void read_common(const Reader& r, const FieldMap& m, TlsCommon& out) {
  if (const Field* f = find(m, "min_version")) {
    if (const auto v = r.string(*f); v && (*v == "1.2" || *v == "1.3")) {
      out.min_version = *v == "1.2" ? 12 : 13;
    } else if (v) {
      r.error(*f, quote(*v) + " is not a TLS version (expected 1.2 or 1.3)");
    }
  }
  if (const Field* f = find(m, "ciphers")) {
    if (const auto c = r.string(*f)) {
      // OpenSSL is the judge of its own cipher strings.
      std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_method()));
      if (!ctx || c->empty() || SSL_CTX_set_cipher_list(ctx.get(), c->c_str()) != 1) {
        r.error(*f, quote(*c) + " selects no cipher OpenSSL knows");
      } else {
        out.ciphers = *c;
      }
      ERR_clear_error();
    }
  }
  if (const Field* f = find(m, "handshake_timeout")) {
    const auto d = r.duration(*f);
    if (d && (*d < std::chrono::milliseconds(100) || *d > std::chrono::seconds(60))) {
      r.error(*f, "is out of range (100ms..60s)");
    } else if (d) {
      out.handshake_timeout = *d;
    }
  }
}

std::vector<std::string> string_list(const Reader& r, const Field& f, std::size_t max_size,
                                     const char* what) {
  std::vector<std::string> out;
  const auto items = r.list(f);
  if (!items) {
    return out;
  }
  for (const Field& item : *items) {
    if (const auto s = r.string(item)) {
      if (s->empty() || s->size() > max_size) {
        r.error(item, quote(*s) + " is not " + what);
      } else {
        out.push_back(*s);
      }
    }
  }
  return out;
}

}  // namespace

void parse_realm_tls(const Reader& r, const Field& f, RealmTls& out) {
  const auto m = r.map(f, kRealmTlsKeys);
  if (!m) {
    return;
  }
  out.enabled = true;
  out.loc = f.key_loc;
  if (find(*m, "certificate") == nullptr && find(*m, "private_key") == nullptr) {
    r.error(f, "a realm's tls needs certificate and private_key (the listener's identity)");
  }
  read_identity(r, *m, f, out.certificate, out.private_key);
  if (const Field* c = find(*m, "ca_file")) {
    out.ca_file = ca_file(r, *c).value_or("");
  }
  if (const Field* v = find(*m, "verify_client")) {
    if (const auto s = r.string(*v)) {
      if (*s == "none") {
        out.verify_client = RealmTls::VerifyClient::None;
      } else if (*s == "optional") {
        out.verify_client = RealmTls::VerifyClient::Optional;
      } else if (*s == "required") {
        out.verify_client = RealmTls::VerifyClient::Required;
      } else {
        r.error(*v, quote(*s) + " is not a client verification (none, optional or required)");
      }
    }
  }
  read_common(r, *m, out.common);
}

void parse_trunk_tls(const Reader& r, const Field& f, TrunkTls& out) {
  const auto m = r.map(f, kTrunkTlsKeys);
  if (!m) {
    return;
  }
  out.given = true;
  out.loc = f.key_loc;
  if (const Field* s = find(*m, "server_name")) {
    const auto name = r.string(*s).value_or("");
    if (name.empty() || name.size() > 253 ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            std::string::npos) {
      r.error(*s, quote(name) + " is not a host name");
    } else {
      out.server_name = name;
    }
  }
  if (const Field* c = find(*m, "ca_file")) {
    out.ca_file = ca_file(r, *c).value_or("");
  }
  if (const Field* v = find(*m, "verify")) {
    out.verify = r.boolean(*v).value_or(out.verify);
  }
  read_identity(r, *m, f, out.certificate, out.private_key);
  if (const Field* a = find(*m, "alpn")) {
    out.alpn = string_list(r, *a, 255, "an ALPN protocol (1 to 255 bytes)");
  }
  if (const Field* p = find(*m, "peer_names")) {
    out.peer_names = string_list(r, *p, 253, "a certificate name");
  }
  read_common(r, *m, out.common);
}

void check_tls(const PolicyDraft& d, Diagnostics& diags) {
  for (const auto& [name, realm] : d.realms) {
    for (std::size_t i = 0; i < realm.realm.listeners.size(); ++i) {
      const Listener& l = realm.realm.listeners[i];
      if (l.protocol == Protocol::Tls && !realm.realm.tls.enabled) {
        diags.add(
            l.loc, realm.listener_paths[i],
            "a tls listener needs " + realm.path + ".tls with its certificate and private_key");
      }
    }
  }
  for (const auto& [name, t] : d.trunks) {
    if (t.trunk.tls.given && t.trunk.transport != Protocol::Tls) {
      diags.add(t.trunk.tls.loc, t.path + ".tls", "applies only to a trunk with transport: tls");
    }
  }
}

}  // namespace portico::policy::detail
