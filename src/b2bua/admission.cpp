// The admission chain of a new call (see admission.hpp): each stage below checks one thing,
// in the order of kStages. A stage that refuses a call says why in a `call.rejected` line.

#include "admission.hpp"

#include <array>
#include <string_view>
#include <variant>

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/transport/tls.hpp"

namespace portico::b2bua {
namespace {

// RFC 3261 §21.5.4: while shutting down, 503 with Retry-After sends the caller back later, or
// elsewhere.
Verdict not_draining(Admission& a) {
  if (!a.draining) {
    return Verdict::pass();
  }
  log::info("call.rejected", {{"status", 503},
                              {"reason", "shutting_down"},
                              {"realm", a.flow.realm},
                              {"remote", a.flow.remote.to_string()},
                              {"call_id", a.req.call_id()}});
  return {503, "shutting_down", "Retry-After: 30\r\n"};
}

// RFC 3261 §16.3 step 3: a request that may not be forwarded once more.
Verdict max_forwards_left(Admission& a) {
  auto mf = a.req.max_forwards();
  return mf && *mf <= 0 ? Verdict{483, {}, {}} : Verdict::pass();
}

// RFC 3261 §21.4.16: a session description Portico cannot hand to the media layer.
Verdict relayable_body(Admission& a) {
  const std::string type = a.req.content_type();
  const std::string ct = to_lower(trim(std::string_view(type).substr(0, type.find(';'))));
  const bool relayable = ct == "application/sdp" || ct == "multipart/mixed" ||
                         ct == "multipart/alternative";
  return a.req.body().empty() || relayable
             ? Verdict::pass()
             : Verdict{415, {}, "Accept: application/sdp, multipart/mixed\r\n"};
}

Verdict policy_reject(const Admission& a, const policy::Reject& r) {
  log::info("call.rejected", {{"status", r.status},
                              {"reason", r.reason},
                              {"detail", r.detail},
                              {"realm", a.flow.realm},
                              {"remote", a.flow.remote.to_string()},
                              {"call_id", a.req.call_id()}});
  return {r.status, r.reason, {}};
}

// The trunk or access peer the request comes from, by realm and source address.
Verdict known_source(Admission& a) {
  a.source_peer = policy::identify_source(*a.policy, a.flow.realm, a.flow.remote.address,
                                          a.flow.tls ? &a.flow.tls->peer_names : nullptr);
  if (!a.source_peer.empty()) {
    return Verdict::pass();
  }
  // The front door refuses unknown sources before any transaction exists (one stateless 403 or
  // nothing: runtime/ingress_gate.hpp), so this is only reached when the B2BUA is driven
  // directly; it refuses the same way policy::match does.
  return policy_reject(a, policy::unknown_source(a.flow.realm, a.flow.remote.address));
}

// The first route that takes the call: its targets and rewritten number.
Verdict route(Admission& a) {
  auto ruri = a.req.request_uri_parts();
  policy::RequestFacts facts{a.flow.realm, a.flow.remote.address, ruri ? ruri->user : ""};
  auto decision = policy::match(a.policy, facts);
  if (auto* reject = std::get_if<policy::Reject>(&decision)) {
    return policy_reject(a, *reject);
  }
  a.plan = std::move(std::get<policy::CallPlan>(decision));
  return Verdict::pass();
}

// In order; the first refusal answers the INVITE. Limits per target (max_calls) are not a
// stage: a full target is skipped for the next one when the call tries its targets.
constexpr std::array<Stage, 10> kStages = {
    not_draining,                // 503 shutting_down
    max_forwards_left,           // 483
    relayable_body,              // 415
    media_streams_within_limit,  // 488 too_many_media_streams (call_limits.cpp)
    known_source,                // 403 unknown_source
    digest_credentials,          // 407 (admission_digest.cpp)
    peer_limits,          // 503 inbound_call_limit / inbound_cps_limit (admission_limits.cpp)
    calls_within_limits,  // 503 max_calls / peer_max_calls (call_limits.cpp)
    route,                // 404 no_route
    registered_targets,   // 480 not_registered / contact_unreachable (b2bua_registered.cpp)
};

}  // namespace

Verdict admit(Admission& admission) {
  for (Stage stage : kStages) {
    Verdict v = stage(admission);
    if (!v.admitted()) {
      return v;
    }
  }
  return Verdict::pass();
}

}  // namespace portico::b2bua
