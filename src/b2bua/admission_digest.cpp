// Calls from access peers marked `auth: digest` (roaming phones, whose sources may be the whole
// internet): the INVITE must carry digest credentials of a user in the registration users file
// (RFC 3261 §22.3 proxy authentication: 407 + Proxy-Authenticate, RFC 7616 digest). Peers
// trusted by address are not asked. An unknown user and a wrong password get the same 407.

#include "admission.hpp"
#include "portico/auth/digest_authenticator.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/policy/registration_domains.hpp"
#include "portico/registrar/digest_users.hpp"
#include "portico/sip/raw_headers.hpp"

namespace portico::b2bua {

Verdict digest_credentials(Admission& a) {
  const policy::AccessPeer* peer = a.policy->find_access_peer(a.source_peer);
  if (peer == nullptr || peer->auth != policy::AccessPeer::Auth::Digest) {
    return Verdict::pass();
  }
  if (a.digest == nullptr) {
    log::error("call.rejected",
               {{"status", 500}, {"reason", "no_authenticator"}, {"call_id", a.req.call_id()}});
    return {500, "no_authenticator", {}};
  }
  const auto& reg = a.policy->registration;
  // The caller's domain names the digest realm (its own name), as for its REGISTER.
  const auto from = sip::parse_uri(a.req.from().uri);
  const std::string realm = policy::call_domain(reg, from.ok() ? std::string_view(from->host) : "");
  // Credentials byte for byte (osip re-serializes the ones it parses).
  std::vector<std::string> values;
  sip::RawHeaderScanner scan(a.req.raw());
  while (const auto f = scan.next()) {
    if (iequals(f->name, "Proxy-Authorization")) {
      values.push_back(sip::unfold(f->value));
    }
  }
  const auto offered = registrar::digest_algorithms(reg);
  const auto r = a.digest->check(a.req.method(), realm, values, registrar::digest_users(reg),
                                 a.flow.remote.address, a.now, offered);
  using Outcome = auth::DigestAuthenticator::Outcome;
  if (r.outcome == Outcome::Authenticated) {
    a.authenticated_user = r.username + "@" + realm;
    return Verdict::pass();
  }
  // Only answered, never a CDR or calls_rejected: a challenge is the normal first step of an
  // authenticated call, and failures are counted by the authenticator (no per-request state).
  if (r.outcome == Outcome::Failed) {
    log::info("call.auth_failed", {{"peer", a.source_peer},
                                   {"realm", a.flow.realm},
                                   {"remote", a.flow.remote.to_string()},
                                   {"call_id", a.req.call_id()}});
  } else {
    log::debug("call.challenged", {{"peer", a.source_peer}, {"call_id", a.req.call_id()}});
  }
  return {407,
          {},
          a.digest->challenge("Proxy-Authenticate", realm, r.outcome == Outcome::Stale, a.now,
                              offered)};
}

}  // namespace portico::b2bua
