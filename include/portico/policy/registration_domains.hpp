#pragma once
// Which domains the registration section serves, and which one a call is for. Bindings are
// kept per user@domain, so `alice@evil` never takes the calls of `alice@corp`.
//
// With `registration.domains` given, those are the domains served and the first is the
// default. With none, Portico serves one domain, itself: named by any IP literal in a REGISTER
// (the address phones are pointed at), and known inside Portico (binding keys, digest realm) by
// the registration realm's name. Pure functions of the policy; any thread.

#include <optional>
#include <string>
#include <string_view>

#include "portico/policy/model.hpp"

namespace portico::policy {

/// The served domain a URI host names (lower case), or nullopt when it is not served.
std::optional<std::string> served_domain(const RegistrationConfig& reg, std::string_view host);
/// The domain calls whose Request-URI host is not served are for.
std::string default_domain(const RegistrationConfig& reg);
/// The domain a call to `host` is for: the host's own when served, else the default one.
std::string call_domain(const RegistrationConfig& reg, std::string_view host);

}  // namespace portico::policy
