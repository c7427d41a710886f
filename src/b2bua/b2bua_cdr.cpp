// Call Detail Records: what happened to a call, in one line an operator can grep or load. Built
// on the shard when the call is freed (its last transaction is over), handed to the CDR sink.

#include "b2bua_impl.hpp"
#include "portico/common/strings.hpp"
#include "portico/transport/tls.hpp"

namespace portico::b2bua {
namespace {

// Who ended the call, from its stable end reason.
const char* disconnect_of(const std::string& reason) {
  if (reason == "a_bye" || reason == "caller_cancelled") {
    return "caller";
  }
  if (reason == "b_bye" || reason.starts_with("status_")) {
    return "callee";
  }
  return "portico";
}

}  // namespace

void B2bua::Impl::count_attempt(B2bua& self, const std::string& realm, const std::string& route,
                                const std::string& target, int final_status) {
  std::string cls = final_status >= 200 && final_status < 700
                        ? std::to_string(final_status / 100) + "xx"
                        : "none";
  ++self.stats_.attempts[AttemptKey{realm, route, target, std::move(cls)}];
}

std::map<std::tuple<std::string, std::string, std::string>, std::size_t> B2bua::active_calls()
    const {
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> out;
  for (const auto& [handle, call] : calls_) {
    std::string target;
    if (call->attempts > 0 && call->target_index < call->plan.targets.size()) {
      target = call->plan.targets[call->target_index].name;
    }
    ++out[{call->leg(Side::A).realm, call->plan.route, std::move(target)}];
  }
  return out;
}

void B2bua::Impl::emit_cdr(B2bua& self, const Call& call) {
  std::string target;
  if (call.attempts > 0 && !call.plan.targets.empty()) {
    target = call.plan.targets[std::min(call.target_index, call.plan.targets.size() - 1)].name;
  }
  const Leg& a = call.leg(Side::A);
  const Leg& b = call.leg(Side::B);
  count_attempt(self, a.realm, call.plan.route, target, a.final_status);
  if (!self.cdr_sink_) {
    return;
  }
  cdr::CallRecord r;
  r.call = call.log_id;
  r.a_call_id = a.call_id;
  r.b_call_id = b.call_id;
  r.realm_in = a.realm;
  r.source_peer = call.plan.source_peer;
  r.route = call.plan.route;
  if (!target.empty()) {
    r.target = std::move(target);
    r.realm_out = b.realm;
  }
  r.caller = call.caller_user;
  r.callee = call.plan.ruri_user;
  r.attempts = call.attempts;
  r.start = call.wall_started;
  if (call.wall_answered != std::chrono::system_clock::time_point{}) {
    r.answer = call.wall_answered;
  }
  r.end = std::chrono::system_clock::now();
  r.final_status = a.final_status;
  r.end_reason = call.end_reason;
  r.disconnect = disconnect_of(call.end_reason);
  if (a.tls) {
    r.a_tls_version = a.tls->version;
    r.a_tls_cipher = a.tls->cipher;
  }
  // The B leg's connection as it is now: reopened mid-call, the CDR shows the last one.
  if (auto b_tls = self.transport_.tls_info(b.dst)) {
    r.b_tls_version = b_tls->version;
    r.b_tls_cipher = b_tls->cipher;
  }
  if (call.media) {
    MediaSummary m = call.media->summary();
    r.media_anchored = m.anchored;
    r.codec = std::move(m.codec);
    r.packets_a_to_b = m.packets_a_to_b;
    r.packets_b_to_a = m.packets_b_to_a;
    if (m.quality_a_to_b.reported) {
      r.lost_a_to_b = m.quality_a_to_b.lost;
      r.jitter_ms_a_to_b = m.quality_a_to_b.jitter_ms;
    }
    if (m.quality_b_to_a.reported) {
      r.lost_b_to_a = m.quality_b_to_a.lost;
      r.jitter_ms_b_to_a = m.quality_b_to_a.jitter_ms;
    }
  }
  r.trace = call.trace_file;
  self.cdr_sink_(std::move(r));
}

void B2bua::Impl::emit_rejected_cdr(B2bua& self, const sip::Message& req,
                                    const transport::Flow& flow, int status,
                                    const std::string& reason) {
  count_attempt(self, flow.realm, "", "", status);
  if (!self.cdr_sink_) {
    return;
  }
  cdr::CallRecord r;
  r.call = random_token(10);
  r.a_call_id = req.call_id();
  r.realm_in = flow.realm;
  auto from = sip::parse_uri(req.from().uri);
  r.caller = from ? from->user : "";
  auto ruri = req.request_uri_parts();
  r.callee = ruri ? ruri->user : "";
  r.start = r.end = std::chrono::system_clock::now();
  r.final_status = status;
  r.end_reason = reason;
  r.disconnect = "portico";
  self.cdr_sink_(std::move(r));
}

}  // namespace portico::b2bua
