// The admission stages that bound what new calls may hold: m= lines per offer,
// calls in progress in all and from one source address (limits.max_calls and
// max_calls_per_source, shared by the shards through TrunkUsage), and a
// peer's max_calls counting the calls it places as well as those it receives (one counter per
// peer name: the same slot kind try_next_target takes for calls to it).
//
// Each cap logs `call.limit_reached` once when it starts refusing on this shard and
// `call.limit_cleared` once it has refused nothing for a while (RefusalLog).

#include <string_view>

#include "admission.hpp"
#include "portico/common/log.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {
namespace {

// Indexes into Admission::cap_logs.
constexpr std::size_t kMaxCalls = 0;
constexpr std::size_t kPeerMaxCalls = 1;
constexpr std::size_t kMediaStreams = 2;
constexpr std::size_t kSourceMaxCalls = 3;

/// The key of limits.max_calls in TrunkUsage: no peer has an empty name.
const std::string kAllCalls;

/// The key of limits.max_calls_per_source: a peer name is a token, never holds a space. Only
/// identified (and, for `auth: digest` peers, authenticated) sources reach this stage, so the
/// keys are bounded by the addresses the policy lets place calls.
std::string address_key(const Admission& a) {
  return "source " + a.flow.remote.address.to_string();
}

void passed(Admission& a, std::size_t cap, std::string_view name) {
  if (a.cap_logs != nullptr && (*a.cap_logs)[cap].passed(a.now)) {
    log::info("call.limit_cleared", {{"limit", name}});
  }
}

Verdict refuse(Admission& a, std::size_t cap, std::string_view name, std::size_t max, int status,
               std::string reason, std::string extra) {
  if (a.cap_logs != nullptr && (*a.cap_logs)[cap].refused(a.now)) {
    log::warn("call.limit_reached", {{"limit", name},
                                     {"max", max},
                                     {"peer", a.source_peer},
                                     {"realm", a.flow.realm},
                                     {"remote", a.flow.remote.to_string()},
                                     {"call_id", a.req.call_id()},
                                     {"action", status}});
  }
  return {status, std::move(reason), std::move(extra)};
}

std::string retry_after(const Admission& a) {
  return "Retry-After: " + std::to_string(a.policy->limits.retry_after) + "\r\n";
}

int peer_max_calls(const policy::PolicySnapshot& p, const std::string& name) {
  if (const auto* t = p.find_trunk(name)) {
    return t->max_calls;
  }
  const auto* peer = p.find_access_peer(name);
  return peer == nullptr ? 0 : peer->max_calls;
}

}  // namespace

std::string media_streams_warning(std::size_t max) {
  return "Warning: 305 portico \"more than " + std::to_string(max) + " media streams\"\r\n";
}

Verdict media_streams_within_limit(Admission& a) {
  const std::size_t max = a.policy->limits.max_media_streams;
  if (a.req.body().empty() || sdp::count_media_lines(a.req.body()) <= max) {
    passed(a, kMediaStreams, "max_media_streams");
    return Verdict::pass();
  }
  if (a.stats != nullptr) {
    ++a.stats->refused_media_streams;
  }
  // RFC 3261 §21.4.26: 488 Not Acceptable Here, with a Warning saying why (§20.43).
  return refuse(a, kMediaStreams, "max_media_streams", max, 488, "too_many_media_streams",
                media_streams_warning(max));
}

Verdict calls_within_limits(Admission& a) {
  if (a.usage == nullptr) {
    return Verdict::pass();
  }
  const policy::Limits& limits = a.policy->limits;
  if (!a.usage->try_acquire(kAllCalls, static_cast<int>(limits.max_calls), a.total_slot)) {
    if (a.stats != nullptr) {
      ++a.stats->refused_max_calls;
    }
    return refuse(a, kMaxCalls, "max_calls", limits.max_calls, 503, "max_calls", retry_after(a));
  }
  passed(a, kMaxCalls, "max_calls");
  const int peer_max = peer_max_calls(*a.policy, a.source_peer);
  if (!a.usage->try_acquire(a.source_peer, peer_max, a.source_slot)) {
    a.total_slot.release();
    if (a.stats != nullptr) {
      ++a.stats->refused_peer_max_calls;
    }
    return refuse(a, kPeerMaxCalls, "peer_max_calls", static_cast<std::size_t>(peer_max), 503,
                  "peer_max_calls", retry_after(a));
  }
  passed(a, kPeerMaxCalls, "peer_max_calls");
  if (!a.usage->try_acquire(address_key(a), static_cast<int>(limits.max_calls_per_source),
                            a.address_slot)) {
    a.total_slot.release();
    a.source_slot.release();
    if (a.stats != nullptr) {
      ++a.stats->refused_source_max_calls;
    }
    return refuse(a, kSourceMaxCalls, "max_calls_per_source", limits.max_calls_per_source, 503,
                  "max_calls_per_source", retry_after(a));
  }
  passed(a, kSourceMaxCalls, "max_calls_per_source");
  return Verdict::pass();
}

}  // namespace portico::b2bua
