// Ending calls. A call in Ending state waits for its open client transactions (BYE, CANCEL,
// the INVITE a CANCEL is racing) to finish, then it is freed with everything it owns: no
// orphan state, whatever the peers do (every client transaction ends by Timer B/F at worst).

#include "b2bua_impl.hpp"
#include "portico/b2bua/srtp_media.hpp"
#include "portico/common/log.hpp"

namespace portico::b2bua {

void B2bua::Impl::end_call(B2bua& self, Call& call, const std::string& reason,
                           std::optional<Side> bye_from, int a_status) {
  if (call.state == CallState::Ending) {
    return;
  }
  CallState prev = call.state;
  call.state = CallState::Ending;
  call.end_reason = reason;
  call.max_duration.cancel();
  call.leg(Side::A).reliable_retransmit.cancel();
  leave_pacing(call);  // a call still waiting for its turn on a target's cps_out
  if (prev == CallState::Confirmed) {
    for (Side s : {Side::A, Side::B}) {
      if (!bye_from || *bye_from != s) {
        send_bye(self, call, s);
      }
    }
    auto secs = std::chrono::duration_cast<Millis>(self.timers_.now() - call.answered).count();
    log::info("call.ended", {{"call", call.log_id}, {"reason", reason}, {"duration_ms", secs}});
  } else {
    // Not answered yet: answer A's INVITE, and stop B's (CANCEL once B has sent a 1xx,
    // RFC 3261 §9.1; before that the CANCEL waits for the first provisional).
    Leg& a = call.leg(Side::A);
    Leg& b = call.leg(Side::B);
    if (a.invite_pending) {
      a.final_status = a_status != 0 ? a_status : 487;
      // A 488 from the media layer (an answer it refused) says why, like a refused offer.
      respond(self, a.invite_txn, a.final_status, {},
              a.final_status == 488 ? srtp_warning(reason, a.local_host) : std::string());
      a.invite_pending = false;
    }
    if (b.invite_pending) {
      if (b.provisional) {
        send_cancel(self, call);
      } else {
        b.cancel_pending = true;
      }
    }
    log::info("call.ended", {{"call", call.log_id}, {"reason", reason},
                             {"state", to_string(prev)}});
  }
  if (call.media) {
    call.media->close();
  }
}

void B2bua::Impl::send_bye(B2bua& self, Call& call, Side side) {
  Leg& l = call.leg(side);
  if (l.remote_tag.empty()) {
    return;
  }
  std::string host;
  std::uint16_t port = 0;
  local_address(self, l, host, port);
  std::uint32_t cseq = ++l.local_cseq;
  std::string extra;
  if (!call.plan.policy->headers.pass_user_agent) {
    extra = server_line(self, *call.plan.policy, "User-Agent");
  }
  std::string bytes = leg_request(l, "BYE", cseq, host, port, new_branch(), extra, "", "");
  send_on_leg(self, call, side, std::move(bytes),
              PendingRequest{PendingRequest::Kind::Bye, side, 0, cseq});
}

void B2bua::Impl::send_cancel(B2bua& self, Call& call) {
  Leg& leg = call.leg(Side::B);
  leg.cancel_pending = false;
  auto b = sip::MessageBuilder::request("CANCEL", leg.invite_ruri);
  b.header("Via", leg.invite_via);
  b.header("Max-Forwards", "70");
  b.header("From", leg.local_uri + ";tag=" + leg.local_tag);
  b.header("To", leg.invite_to);
  b.header("Call-ID", leg.call_id);
  b.header("CSeq", std::to_string(leg.invite_cseq) + " CANCEL");
  send_on_leg(self, call, Side::B, b.build(),
              PendingRequest{PendingRequest::Kind::Cancel, Side::B, 0, leg.invite_cseq});
}

void B2bua::Impl::client_done(B2bua& self, sip::TxnId txn) {
  auto it = self.pending_.find(txn);
  if (it == self.pending_.end()) {
    return;
  }
  if (Call* call = find_call(self, it->second.first)) {
    --call->open_client_txns;
  }
  self.pending_.erase(it);
}

void B2bua::Impl::finish_if_done(B2bua& self, Call& call) {
  if (call.state == CallState::Ending && call.open_client_txns <= 0) {
    destroy(self, call.handle);
  }
}

void B2bua::Impl::destroy(B2bua& self, CallHandle h) {
  auto it = self.calls_.find(h);
  if (it == self.calls_.end()) {
    return;
  }
  Call& call = *it->second;
  for (const Leg& leg : call.legs) {
    if (!leg.call_id.empty()) {
      self.by_call_id_.erase(leg.call_id);
    }
  }
  for (sip::TxnId t : call.server_txn_ids) {
    self.server_txns_.erase(t);
  }
  log::debug("call.freed", {{"call", call.log_id}, {"reason", call.end_reason}});
  if (self.traces_ != nullptr) {
    self.traces_->end(call.trace);
  }
  emit_cdr(self, call);
  self.calls_.erase(it);
}

}  // namespace portico::b2bua
