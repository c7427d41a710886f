#pragma once
// The registration section's digest users as the authenticator wants them: a HA1 lookup over
// `registration.users_file` and the algorithms offered (`registration.digest_algorithms`).
// Shared by the registrar (REGISTER) and the B2BUA (calls from `auth: digest` peers), so both
// check the same users the same way. Pure functions of the policy; any thread.

#include "portico/auth/digest_authenticator.hpp"
#include "portico/policy/model.hpp"

namespace portico::registrar {

/// HA1 of user@realm (a domain's digest realm is its own name) from the users file. The
/// lookup refers to `reg`, which must outlive it (the caller holds the policy snapshot).
auth::DigestAuthenticator::Ha1Lookup digest_users(const policy::RegistrationConfig& reg);
/// The digest algorithms offered, in the policy's order.
auth::DigestAuthenticator::Algorithms digest_algorithms(const policy::RegistrationConfig& reg);

}  // namespace portico::registrar
