// Timers that bound an unanswered call.
//
// Timer C (RFC 3261 §16.6 step 11, §16.7 step 2): B's INVITE that gets neither a final response
// nor a new provisional for timers.timer_c is given up: CANCEL towards B (or as soon as B sends
// its first provisional, §9.1) and 408 to A. Without it a callee that sends 180 and nothing
// else holds the call, its ports and its slots forever: Timer B stops at the first provisional.
// max_ringing caps the whole unanswered time, whatever provisionals keep Timer C alive.
// Both only act while the call is unanswered; they die with the call.

#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"

namespace portico::b2bua {
namespace {

bool unanswered(const Call& call) {
  return call.state == CallState::Routing || call.state == CallState::Early;
}

}  // namespace

void B2bua::Impl::arm_ringing_timers(B2bua& self, Call& call) {
  call.timer_c.bind(self.timers_);
  call.max_ringing.bind(self.timers_);
  const CallHandle h = call.handle;
  call.max_ringing.start(call.plan.policy->timers.max_ringing, [&self, h] {
    Call* c = find_call(self, h);
    if (c == nullptr) {
      return;
    }
    c->max_ringing.fired();
    if (!unanswered(*c)) {
      return;
    }
    ++self.stats_.ringing_expired;
    log::info("call.ringing_timeout", {{"call", c->log_id}, {"state", to_string(c->state)}});
    end_call(self, *c, "max_ringing", std::nullopt, 408);
    finish_if_done(self, *c);
  });
}

void B2bua::Impl::restart_timer_c(B2bua& self, Call& call) {
  const CallHandle h = call.handle;
  const sip::TxnId invite = call.leg(Side::B).invite_txn;
  call.timer_c.start(call.plan.policy->timers.timer_c, [&self, h, invite] {
    Call* c = find_call(self, h);
    if (c == nullptr) {
      return;
    }
    c->timer_c.fired();
    const Leg& b = c->leg(Side::B);
    if (!unanswered(*c) || b.invite_txn != invite || !b.invite_pending) {
      return;  // answered, failed over to another target, or already ending
    }
    ++self.stats_.timer_c_expired;
    log::info("call.timer_c", {{"call", c->log_id},
                               {"target", c->plan.targets[c->target_index].name},
                               {"provisional", b.provisional ? "yes" : "no"}});
    end_call(self, *c, "timer_c", std::nullopt, 408);
    finish_if_done(self, *c);
  });
}

}  // namespace portico::b2bua
