#pragma once
// Admission of a new call: the initial INVITE passes a fixed chain of stages (admission.cpp,
// kStages) before the B2BUA creates the call. Each stage checks one thing and returns a
// Verdict; the first rejection ends the chain and is answered by the caller of admit().
// A new check (a rate limit, digest authentication) is one more stage: a function with the
// Stage signature and one line in kStages.
//
// Shard-local: runs on the thread of the shard that owns the new call.

#include <memory>
#include <string>

#include "portico/common/timer_service.hpp"
#include "portico/policy/matcher.hpp"
#include "portico/sip/message.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::registrar {
class BindingDirectory;
}  // namespace portico::registrar
namespace portico::auth {
class DigestAuthenticator;
}  // namespace portico::auth

namespace portico::b2bua {

/// What one stage decided.
struct Verdict {
  int status = 0;  // 0: admitted by this stage, on to the next; else the SIP status
  /// Stable token of a refused call ("shutting_down", "unknown_source", "not_registered"...):
  /// the call is counted in calls_rejected and gets a CDR with this end reason. Empty for a
  /// malformed request (483, 415), which is only answered.
  std::string reason;
  std::string extra_headers;  // complete header lines for the response ("Retry-After: 30\r\n")

  bool admitted() const { return status == 0; }
  static Verdict pass() { return {}; }
};

/// The request under admission and what the stages learn about it. The stages that refuse a
/// call log their own `call.rejected` line (each with the fields that explain it).
struct Admission {
  const sip::Message& req;
  const transport::Flow& flow;
  std::shared_ptr<const policy::PolicySnapshot> policy;   // the snapshot the call will keep
  bool draining = false;                                  // shutting down: no new calls
  const registrar::BindingDirectory* bindings = nullptr;  // may be null (no registrar)
  auth::DigestAuthenticator* digest = nullptr;            // may be null (no digest peers)
  TimePoint now{};                                        // the shard clock, for nonces

  // Filled in by the stages, in order.
  std::string source_peer;         // the trunk or access peer the request came from
  std::string authenticated_user;  // user@domain, from an `auth: digest` peer
  policy::CallPlan plan;           // the route's plan, `registered` targets resolved
};

/// One check of the chain.
using Stage = Verdict (*)(Admission& admission);

/// Runs every stage in order; the first rejection, or a pass with `admission.plan` filled.
Verdict admit(Admission& admission);

/// The stage that authenticates requests from access peers marked `auth: digest`
/// (admission_digest.cpp): 407 with a challenge until the credentials check.
Verdict digest_credentials(Admission& admission);

/// The stage that resolves `registered` targets from the shard's binding directory
/// (b2bua_registered.cpp): drops those whose user has no reachable binding, 480 if none is left.
Verdict registered_targets(Admission& admission);

}  // namespace portico::b2bua
