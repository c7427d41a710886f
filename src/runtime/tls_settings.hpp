#pragma once
// The TLS contexts of a policy: its realms' tls blocks (listeners) and its TLS trunks, turned
// into transport settings and built. Control thread (start-up and SIGHUP reload).

#include <memory>

#include "portico/policy/model.hpp"
#include "portico/transport/tls.hpp"

namespace portico::runtime {

transport::TlsSettings tls_settings_of(const policy::PolicySnapshot& p);

/// Builds the contexts, or null when the policy has no TLS. Throws std::runtime_error naming
/// the file when OpenSSL refuses one (the policy loader checked them, but the files may have
/// changed since).
std::shared_ptr<const transport::TlsContexts> build_tls(const policy::PolicySnapshot& p);

}  // namespace portico::runtime
