// Relaying B's provisional and final answers to A, and reliable provisionals on each leg
// (RFC 3262): Portico PRACKs B's reliable 18x itself and, when A supports 100rel, sends its
// own reliable 18x to A and answers A's PRACK. Each leg negotiates 100rel on its own.

#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"

namespace portico::b2bua {
namespace {

std::optional<std::uint32_t> header_uint(const sip::Message& m, std::string_view name) {
  auto v = m.header(name);
  if (!v) {
    return std::nullopt;
  }
  auto n = parse_uint(trim(*v));
  if (!n || *n > 0xffffffffu) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*n);
}

SdpRole answer_role(const Call& call) {
  // Early offer: B's SDP answers A's INVITE offer. Late offer: B's SDP is the offer.
  return call.caller_body.empty() ? SdpRole::Offer : SdpRole::Answer;
}

// RFC 3262 per leg: A gets a reliable 18x when it requires 100rel, or supports it and B's 18x
// was reliable.
bool reliable_toward_a(const Call& call, bool b_reliable) {
  const Leg& a = call.leg(Side::A);
  return a.peer_requires_100rel || (a.peer_supports_100rel && b_reliable);
}

}  // namespace

bool B2bua::Impl::send_prack(B2bua& self, Call& call, const sip::Message& resp) {
  auto rseq = header_uint(resp, "RSeq");
  if (!rseq) {
    return true;  // no RSeq: not a usable reliable provisional; relay it as unreliable
  }
  Leg& b = call.leg(Side::B);
  if (*rseq <= b.last_rseq) {
    return false;
  }
  b.last_rseq = *rseq;
  std::string rack = std::to_string(*rseq) + " " + std::to_string(resp.cseq()) + " INVITE";
  // The 18x with B's offer goes to A reliably (see relay_provisional), so A answers in a PRACK.
  if (call.caller_body.empty() && !resp.body().empty() && reliable_toward_a(call, true) &&
      !call.leg(Side::A).unacked_rseq) {
    b.prack_rack = std::move(rack);  // sent with A's answer by prack_from_a
    return true;
  }
  send_b_prack(self, call, rack, "", "");
  return true;
}

void B2bua::Impl::send_b_prack(B2bua& self, Call& call, const std::string& rack,
                               const std::string& content_type, const std::string& body) {
  std::string host;
  std::uint16_t port = 0;
  Leg& b = call.leg(Side::B);
  local_address(self, b, host, port);
  std::uint32_t cseq = ++b.local_cseq;
  std::string bytes = leg_request(b, "PRACK", cseq, host, port, new_branch(),
                                  "RAck: " + rack + "\r\n", content_type, body);
  send_on_leg(self, call, Side::B, std::move(bytes),
              PendingRequest{PendingRequest::Kind::Prack, Side::B, 0, cseq});
}

std::optional<Error> B2bua::Impl::a_response_parts(B2bua& self, Call& call,
                                                   const sip::Message& resp,
                                                   sip::ResponseParts& parts) {
  const auto& policy = *call.plan.policy;
  parts.status = resp.status();
  parts.reason = relayed_reason(resp, policy.headers);
  const Leg& a = call.leg(Side::A);
  parts.to_tag = a.local_tag;
  parts.extra_headers = passed_headers(self, call, Side::B, resp, a.local_host) +
                        "Contact: " + a.contact + "\r\n" + server_line(self, policy, "Server");
  if (resp.body().empty()) {
    return std::nullopt;
  }
  auto r = call.media->relay_body(Side::B, answer_role(call), resp.content_type(), resp.body());
  if (!r.ok()) {
    return r.error();
  }
  parts.content_type = resp.content_type();
  parts.body = std::move(r.value());
  return std::nullopt;
}

void B2bua::Impl::relay_provisional(B2bua& self, Call& call, const sip::Message& resp) {
  sip::ResponseParts parts;
  if (auto err = a_response_parts(self, call, resp, parts)) {
    // Early media refused by the media layer: ringing still reaches the caller, without SDP.
    log::warn("call.media_refused", {{"call", call.log_id}, {"reason", err->reason}});
  } else if (!parts.body.empty()) {
    call.leg(Side::B).early_sdp = true;
  }
  if (call.state == CallState::Routing) {
    call.state = CallState::Early;
  }
  if (!call.progress_seen) {
    call.progress_seen = true;
    self.stats_.to_progress.observe(static_cast<double>(
        std::chrono::duration_cast<Millis>(self.timers_.now() - call.started).count()));
  }
  Leg& a = call.leg(Side::A);
  bool reliable = reliable_toward_a(call, resp.has_option("Require", "100rel"));
  if (reliable && !a.unacked_rseq) {
    std::uint32_t rseq = a.next_rseq++;
    a.unacked_rseq = rseq;
    parts.extra_headers += "Require: 100rel\r\nRSeq: " + std::to_string(rseq) + "\r\n";
    a.reliable_parts = parts;
    Millis t1 = call.plan.policy->timers.t1;
    a.reliable_interval = t1;
    a.reliable_deadline = self.timers_.now() + 64 * t1;
    CallHandle h = call.handle;
    a.reliable_retransmit.start(t1, [&self, h] { retransmit_reliable(self, h); });
  }
  log::info("call.progress", {{"call", call.log_id}, {"status", parts.status},
                              {"sdp", parts.body.empty() ? "no" : "yes"},
                              {"reliable", reliable ? "yes" : "no"}});
  self.layer_.respond(a.invite_txn, parts);
}

void B2bua::Impl::retransmit_reliable(B2bua& self, CallHandle h) {
  Call* call = find_call(self, h);
  if (call == nullptr) {
    return;
  }
  Leg& a = call->leg(Side::A);
  a.reliable_retransmit.fired();
  if (!a.unacked_rseq || (call->state != CallState::Early && !a.held_answer)) {
    return;
  }
  if (self.timers_.now() >= a.reliable_deadline && a.held_answer) {
    // The callee answered; a caller that never PRACKs should still get the call.
    log::warn("call.prack_timeout", {{"call", call->log_id}, {"action", "sending 2xx"}});
    a.unacked_rseq.reset();
    self.layer_.respond(a.invite_txn, *a.held_answer);
    a.held_answer.reset();
    return;
  }
  if (self.timers_.now() >= a.reliable_deadline) {
    // RFC 3262 §3: no PRACK within 64*T1: reject the INVITE with 5xx.
    log::warn("call.prack_timeout", {{"call", call->log_id}});
    end_call(self, *call, "prack_timeout", std::nullopt, 504);
    finish_if_done(self, *call);
    return;
  }
  self.layer_.respond(a.invite_txn, a.reliable_parts);
  a.reliable_interval = std::min(a.reliable_interval * 2, call->plan.policy->timers.t2);
  a.reliable_retransmit.start(a.reliable_interval, [&self, h] { retransmit_reliable(self, h); });
}

void B2bua::Impl::prack_from_a(B2bua& self, Call& call, sip::TxnId txn, const sip::Message& req) {
  Leg& a = call.leg(Side::A);
  Leg& b = call.leg(Side::B);
  auto rack = req.header("RAck");
  std::optional<std::uint32_t> rseq;
  if (rack) {
    std::string_view v = trim(*rack);
    rseq = parse_uint(v.substr(0, v.find(' ')));
  }
  if (!rseq || !a.unacked_rseq || *rseq != *a.unacked_rseq) {
    respond(self, txn, 481);
    return;
  }
  a.unacked_rseq.reset();
  a.reliable_retransmit.cancel();
  sip::ResponseParts parts;
  parts.status = 200;
  parts.to_tag = a.local_tag;
  parts.extra_headers = server_line(self, *call.plan.policy, "Server");
  self.layer_.respond(txn, parts);
  if (b.prack_rack) {
    // A answered B's offer in its PRACK: that answer goes to B in Portico's PRACK.
    std::string content_type;
    std::string body;
    if (!req.body().empty()) {
      auto r = call.media->relay_body(Side::A, SdpRole::Answer, req.content_type(), req.body());
      if (r.ok()) {
        content_type = req.content_type();
        body = std::move(r.value());
      } else {
        log::warn("call.media_refused", {{"call", call.log_id}, {"reason", r.error().reason}});
      }
    }
    send_b_prack(self, call, *b.prack_rack, content_type, body);
    b.prack_rack.reset();
  }
  if (a.held_answer) {
    self.layer_.respond(a.invite_txn, *a.held_answer);
    a.held_answer.reset();
  }
}

void B2bua::Impl::relay_answer(B2bua& self, Call& call, const sip::Message& resp) {
  sip::ResponseParts parts;
  if (auto err = a_response_parts(self, call, resp, parts)) {
    log::warn("call.media_refused", {{"call", call.log_id}, {"reason", err->reason}});
    send_ack(self, call, Side::B, resp.cseq(), "", "");
    send_bye(self, call, Side::B);
    end_call(self, call, err->reason, Side::B, 488);
    return;
  }
  Leg& a = call.leg(Side::A);
  call.state = CallState::Confirmed;
  call.answered = self.timers_.now();
  call.media->call_answered();
  a.invite_pending = false;
  const bool wait_for_prack = a.unacked_rseq && !a.reliable_parts.body.empty();
  if (!wait_for_prack) {
    a.reliable_retransmit.cancel();
    a.unacked_rseq.reset();
  }
  ++self.stats_.calls_answered;
  self.stats_.to_answer.observe(static_cast<double>(
      std::chrono::duration_cast<Millis>(call.answered - call.started).count()));
  call.wall_answered = std::chrono::system_clock::now();
  a.final_status = parts.status;
  if (wait_for_prack) {
    a.held_answer = std::move(parts);  // sent by prack_from_a (or at the PRACK deadline)
  } else {
    self.layer_.respond(a.invite_txn, parts);
  }
  if (!call.caller_body.empty()) {
    send_ack(self, call, Side::B, resp.cseq(), "", "");
  } else {
    // Late offer: B's 2xx carries the offer, A's ACK the answer, which B's ACK must carry.
    // Keyed by the INVITE's CSeq: a PRACK from A has moved remote_cseq on since.
    a.ack_relay[a.invite_cseq] = resp.cseq();
  }
  auto setup = std::chrono::duration_cast<Millis>(call.answered - call.started).count();
  log::info("call.answered",
            {{"call", call.log_id}, {"status", a.final_status}, {"setup_ms", setup}});
}

}  // namespace portico::b2bua
