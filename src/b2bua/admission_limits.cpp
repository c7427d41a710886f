// The admission stage of the source peer's inbound session limits (SessionLimits, policy
// max_calls_in and cps_in of a trunk or access peer). Both are shared by all shards through
// TrunkUsage, so a peer's limit holds whichever shard its INVITEs land on. Over either: 503
// (RFC 3261 §21.5.4), with Retry-After when the rate says when the next call would be taken.

#include <string>

#include "admission.hpp"
#include "portico/common/log.hpp"

namespace portico::b2bua {
namespace {

Verdict refuse(Admission& a, const std::string& key, const char* reason, std::string headers) {
  if (a.usage->log_refusal(key, a.now)) {
    log::warn("call.limited", {{"reason", reason},
                               {"peer", a.source_peer},
                               {"realm", a.flow.realm},
                               {"remote", a.flow.remote.to_string()},
                               {"call_id", a.req.call_id()}});
  }
  return {503, reason, std::move(headers)};
}

}  // namespace

Verdict peer_limits(Admission& a) {
  const policy::SessionLimits* limits = a.policy->session_limits(a.source_peer);
  if (limits == nullptr || a.usage == nullptr) {
    return Verdict::pass();
  }
  const std::string key = "in/" + a.source_peer;  // '/' is in no peer name: no clash
  if (limits->max_calls_in > 0 && !a.usage->try_acquire(key, limits->max_calls_in, a.in_slot)) {
    return refuse(a, key + "/calls", "inbound_call_limit", {});
  }
  const auto turn = a.usage->reserve_rate(key, limits->in_rate(), a.now, Nanos{0});
  if (!turn.admitted) {
    a.in_slot.release();
    return refuse(a, key + "/cps", "inbound_cps_limit",
                  "Retry-After: " + std::to_string(retry_after_seconds(turn.wait)) + "\r\n");
  }
  return Verdict::pass();
}

}  // namespace portico::b2bua
