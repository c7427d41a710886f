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

#include "portico/b2bua/b2bua.hpp"
#include "portico/b2bua/trunk_usage.hpp"
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
  TrunkUsage* usage = nullptr;  // the shared session counters and rates; null: no limits
  TimePoint now{};              // the shard clock when the INVITE arrived
  /// The call caps (call_limits.cpp): the shard's stats and when each cap logs. Null: no caps
  /// (unit tests of other stages).
  B2buaStats* stats = nullptr;
  CallCapLogs* cap_logs = nullptr;
  auth::DigestAuthenticator* digest = nullptr;  // may be null (no digest peers)

  // Filled in by the stages, in order.
  std::string source_peer;         // the trunk or access peer the request came from
  std::string authenticated_user;  // user@domain, from an `auth: digest` peer
  policy::CallPlan plan;           // the route's plan, `registered` targets resolved
  /// One of the source peer's max_calls_in (peer_limits), kept by the call.
  TrunkUsage::Slot in_slot;
  TrunkUsage::Slot source_slot;   // held for the call: the source peer's max_calls
  TrunkUsage::Slot total_slot;    // held for the call: limits.max_calls
  TrunkUsage::Slot address_slot;  // held for the call: limits.max_calls_per_source
};

/// One check of the chain.
using Stage = Verdict (*)(Admission& admission);

/// The stage that applies the source peer's inbound session limits (admission_limits.cpp):
/// max_calls_in (503) and cps_in (503 with Retry-After).
Verdict peer_limits(Admission& admission);

/// Runs every stage in order; the first rejection, or a pass with `admission.plan` filled.
Verdict admit(Admission& admission);

/// limits.max_media_streams: an offer with more m= lines is refused 488 before any parse
/// (call_limits.cpp).
Verdict media_streams_within_limit(Admission& admission);
/// The Warning line of a 488 for an offer over limits.max_media_streams (RFC 3261 §20.43).
std::string media_streams_warning(std::size_t max);
/// limits.max_calls and the source peer's max_calls (calls from and to a peer count together):
/// 503 with Retry-After when full; else the slots are held in the admission (call_limits.cpp).
Verdict calls_within_limits(Admission& admission);
/// The stage that authenticates requests from access peers marked `auth: digest`
/// (admission_digest.cpp): 407 with a challenge until the credentials check.
Verdict digest_credentials(Admission& admission);

/// The stage that resolves `registered` targets from the shard's binding directory
/// (b2bua_registered.cpp): drops those whose user has no reachable binding, 480 if none is left.
Verdict registered_targets(Admission& admission);

}  // namespace portico::b2bua
