// Outbound session limits of a route target (SessionLimits of a trunk or access peer):
// max_calls_out, and cps_out with pacing. Carriers allow 1-15 calls per second and refuse the
// excess, so a call over the target's rate is not failed but held: its INVITE waits for its
// turn (at most `pacing_wait`, at most `pacing_queue` calls per target over all shards), then
// goes out. A target whose queue is full, or whose next turn is too far, is skipped like a
// full max_calls: the call fails over to the route's next target, which may have room, and when
// none is left A gets 503 with Retry-After (RFC 3261 §21.5.4) and the reason
// outbound_cps_limit.
//
// The turn is reserved in TrunkUsage's bucket (shared by all shards) when the call is queued,
// so turns are handed out in arrival order whichever shard holds the call. A CANCEL (or any
// end) while queued stops the timer and leaves the queue; the reserved turn is not reused.

#include <chrono>

#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"

namespace portico::b2bua {

void B2bua::Impl::count_limited(B2bua& self, const std::string& reason) {
  if (reason == "inbound_call_limit") {
    ++self.stats_.limited_in_calls;
  } else if (reason == "inbound_cps_limit") {
    ++self.stats_.limited_in_cps;
  }
}

B2bua::Impl::Pace B2bua::Impl::pace_target(B2bua& self, Call& call,
                                           const policy::ResolvedTarget& t) {
  leave_pacing(call);
  call.out_slot.release();
  const policy::SessionLimits* limits = call.plan.policy->session_limits(t.name);
  if (limits == nullptr) {
    return Pace::Go;  // a registered user's contact: no session limits
  }
  TrunkUsage& usage = self.trunk_usage_;
  const TimePoint now = self.timers_.now();
  const std::string key = "out/" + t.name;  // '/' is in no target name: no clash
  if (limits->max_calls_out > 0 && !usage.try_acquire(key, limits->max_calls_out, call.out_slot)) {
    ++self.stats_.limited_out_calls;
    if (usage.log_refusal(key + "/calls", now)) {
      log::warn("call.target_limited", {{"call", call.log_id},
                                        {"target", t.name},
                                        {"reason", "outbound_call_limit"},
                                        {"max_calls_out", limits->max_calls_out}});
    }
    return Pace::Skip;
  }
  const RateSpec rate = limits->out_rate();
  if (rate.unlimited()) {
    return Pace::Go;
  }
  // A place in the queue first, so that a full queue reserves no turn.
  const bool may_wait =
      limits->pacing_queue > 0 && limits->pacing_wait.count() > 0 &&
      usage.try_acquire("queue/" + t.name, limits->pacing_queue, call.queue_place);
  const auto turn = usage.reserve_rate(key, rate, now, may_wait ? limits->pacing_wait : Nanos{0});
  if (!turn.admitted) {
    call.queue_place.release();
    call.out_slot.release();
    ++self.stats_.limited_out_cps;
    call.retry_after = std::max(call.retry_after, retry_after_seconds(turn.wait));
    if (usage.log_refusal(key + "/cps", now)) {
      log::warn("call.target_limited", {{"call", call.log_id},
                                        {"target", t.name},
                                        {"reason", "outbound_cps_limit"},
                                        {"queue", may_wait ? "waiting too long" : "full"},
                                        {"cps_out", limits->cps_out}});
    }
    return Pace::Skip;
  }
  if (turn.wait.count() == 0) {
    call.queue_place.release();
    return Pace::Go;
  }
  ++self.stats_.calls_paced;
  // Whole milliseconds, rounded up: never before the reserved turn.
  const auto wait = std::chrono::ceil<Millis>(turn.wait);
  const CallHandle h = call.handle;
  call.pacing.bind(self.timers_);
  call.pacing.start(wait, [&self, h] { paced_turn(self, h); });
  log::debug("call.paced", {{"call", call.log_id}, {"target", t.name}, {"wait_ms", wait.count()}});
  return Pace::Queued;
}

void B2bua::Impl::paced_turn(B2bua& self, CallHandle h) {
  Call* call = find_call(self, h);
  if (call == nullptr) {
    return;
  }
  call->pacing.fired();
  call->queue_place.release();
  if (call->state == CallState::Ending) {
    finish_if_done(self, *call);  // ended while it waited (leave_pacing normally ran)
    return;
  }
  const Start started = start_target(self, *call);
  if (started == Start::Sent) {
    return;
  }
  if (started == Start::NoListener) {
    call->slot.release();
    call->out_slot.release();
    ++call->target_index;
    if (try_next_target(self, *call)) {
      return;
    }
  }
  no_target_left(self, *call);
}

void B2bua::Impl::leave_pacing(Call& call) {
  call.pacing.cancel();
  call.queue_place.release();
}

}  // namespace portico::b2bua
