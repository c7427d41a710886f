// The initial INVITE: the call created once admission (admission.cpp) let it in, the B leg
// towards each target in turn, and what B's responses to it do (the relay of its provisionals
// and answer to A is in b2bua_answer.cpp).
//
// Failover (RFC 3261 §16.7 style serial forking, done by a B2BUA): a 408, a 5xx or a
// transport failure from one target makes Portico try the next target of the route, with a
// brand-new B dialog, as long as no provisional with SDP has been relayed (after early media
// the caller has heard the first target) and the caller has not cancelled.

#include <algorithm>

#include "admission.hpp"
#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/rewrite.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {

namespace {

std::vector<std::string> route_set(const sip::Message& msg, bool reverse) {
  std::vector<std::string> out;
  for (const auto& rr : msg.record_routes()) {
    out.push_back(rr.raw);
  }
  if (reverse) {
    std::reverse(out.begin(), out.end());
  }
  return out;
}

void fill_a_leg(Leg& a, const sip::Message& req, const transport::Flow& flow, sip::TxnId txn) {
  a.realm = flow.realm;
  a.call_id = req.call_id();
  a.local_tag = random_token(16);
  a.remote_tag = req.from().tag;
  a.local_uri = name_addr(req.to().display, req.to().uri);
  a.remote_uri = name_addr(req.from().display, req.from().uri);
  auto contacts = req.contacts();
  a.remote_target = contacts.empty() ? req.from().uri : contacts.front().uri;
  a.route_set = route_set(req, false);  // UAS: Record-Route in order (§12.1.1)
  a.remote_cseq = req.cseq();
  a.dst = transport::Destination{flow.realm, flow.protocol, flow.remote, flow.connection};
  a.tls = flow.tls;
  a.invite_txn = txn;
  a.invite_cseq = req.cseq();
  a.invite_pending = true;
  a.peer_requires_100rel = req.has_option("Require", "100rel");
  a.peer_supports_100rel = a.peer_requires_100rel || req.has_option("Supported", "100rel");
}

// B's dialog towards target `t`, Portico at host:port: the caller's number in From on
// Portico's own host, the target's URI in To and as Request-URI.
void fill_b_leg(Leg& b, const Call& call, const policy::ResolvedTarget& t, const std::string& host,
                std::uint16_t port) {
  b.local_tag = random_token(16);
  std::string h6 = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  // libosip2 unescaped the user parts: escaped again, "0044%3E%3Btag%3Dx" stays one user
  // and cannot close the URI and add parameters to To or the Request-URI.
  const std::string caller = sip::escape_user(call.caller_user);
  const std::string callee = sip::escape_user(call.plan.ruri_user);
  b.local_uri =
      name_addr(call.caller_display, "sip:" + (caller.empty() ? "anonymous" : caller) + "@" + h6);
  b.remote_uri = !t.to_uri.empty() ? t.to_uri
                                   : "<sip:" + callee + "@" + t.remote.host_for_uri() + ">";
  b.remote_target = !t.request_uri.empty() ? t.request_uri
                                           : target_uri(callee, t.remote, t.transport);
  b.local_cseq = 1;
  b.invite_cseq = 1;
  b.contact = contact_for(host, port, t.transport);
  b.local_host = host;
  b.invite_pending = true;
}

}  // namespace

int media_failure_status(const std::string& reason) {
  return reason == "ports_exhausted" ? 503 : 488;
}

bool B2bua::Impl::local_address(B2bua& self, const Leg& leg, std::string& host,
                                std::uint16_t& port) {
  return self.transport_.local_address(leg.realm, leg.dst.protocol,
                                       leg.dst.remote.address.is_v6(), host, port);
}

void B2bua::Impl::initial_invite(B2bua& self, sip::TxnId txn, sip::Message&& req,
                                 const transport::Flow& flow) {
  ++self.stats_.calls_attempted;
  Admission admission{req, flow, self.policy_(), self.draining_, self.bindings_};
  admission.usage = &self.trunk_usage_;
  admission.stats = &self.stats_;
  admission.cap_logs = &self.cap_logs_;
  admission.digest = self.digest_;
  admission.now = self.timers_.now();
  const Verdict verdict = admit(admission);
  if (!verdict.admitted()) {
    if (!verdict.reason.empty()) {
      ++self.stats_.calls_rejected;
      count_limited(self, verdict.reason);
    }
    respond(self, txn, verdict.status, {}, verdict.extra_headers);
    if (!verdict.reason.empty()) {
      emit_rejected_cdr(self, req, flow, verdict.status, verdict.reason);
    }
    return;
  }
  const CrossingCheck limits = check_crossing(req, admission.plan.policy->headers, self.stats_);
  if (limits.status != 0) {
    ++self.stats_.calls_rejected;
    respond(self, txn, limits.status);
    emit_rejected_cdr(self, req, flow, limits.status, limits.reason);
    return;
  }
  Call& c = create_call(self, txn, req, flow, std::move(admission.plan));
  c.in_slot = std::move(admission.in_slot);
  c.source_slot = std::move(admission.source_slot);
  c.total_slot = std::move(admission.total_slot);
  c.address_slot = std::move(admission.address_slot);
  c.caller_display = limits.display;  // truncated to max_display_name if it was longer
  if (!try_next_target(self, c)) {
    no_target_left(self, c);
  }
}

void B2bua::Impl::no_target_left(B2bua& self, Call& c) {
  if (c.media_error) {
    invite_failed(self, c, media_failure_status(c.media_error->reason), c.media_error->reason,
                  nullptr);
  } else if (c.retry_after > 0) {
    invite_failed(self, c, 503, "outbound_cps_limit", nullptr);
  } else {
    invite_failed(self, c, 503, "no_target_available", nullptr);
  }
  finish_if_done(self, c);
}

Call& B2bua::Impl::create_call(B2bua& self, sip::TxnId txn, const sip::Message& req,
                               const transport::Flow& flow, policy::CallPlan&& plan) {
  auto call = std::make_unique<Call>();
  Call& c = *call;
  c.handle = self.next_handle_++;
  c.log_id = random_token(10);
  c.plan = std::move(plan);
  c.started = self.timers_.now();
  c.wall_started = std::chrono::system_clock::now();
  Leg& a = c.leg(Side::A);
  fill_a_leg(a, req, flow, txn);
  std::string host;
  std::uint16_t port = 0;
  local_address(self, a, host, port);
  a.contact = contact_for(host, port, flow.protocol);
  a.local_host = host;
  c.caller_body = std::string(req.body());
  c.caller_content_type = req.content_type();
  c.invite_headers = passed_headers(self, c, Side::A, req, "");  // hosts hidden per target
  c.caller_display = req.from().display;
  auto from_uri = sip::parse_uri(req.from().uri);
  c.caller_user = from_uri ? from_uri->user : "";
  auto mf = req.max_forwards();
  c.max_forwards = mf ? std::min(*mf - 1, 70) : 70;
  c.media = self.media_factory_.create(c.log_id, c.plan.policy);
  c.media->set_leg(Side::A,
                   LegPeer{flow.realm, flow.remote.address, c.plan.source_peer, flow.protocol});
  c.server_txn_ids.push_back(txn);
  log::info("call.new", {{"call", c.log_id},
                         {"realm", flow.realm},
                         {"transport", transport::to_string(flow.protocol)},
                         {"remote", flow.remote.to_string()},
                         {"peer", c.plan.source_peer},
                         {"route", c.plan.route},
                         {"user", c.plan.ruri_user},
                         {"call_id", a.call_id}});
  if (self.traces_ != nullptr) {
    c.trace = self.traces_->begin(c.log_id, a.call_id, c.wall_started, c.trace_file);
    if (!c.trace_file.empty()) {
      log::info("call.trace", {{"call", c.log_id}, {"file", c.trace_file}});
    }
  }
  self.by_call_id_[a.call_id] = c.handle;
  self.server_txns_[txn] = c.handle;
  self.calls_.emplace(c.handle, std::move(call));
  arm_call_timers(self, c);
  return c;
}

void B2bua::Impl::arm_call_timers(B2bua& self, Call& c) {
  c.max_duration.bind(self.timers_);
  arm_ringing_timers(self, c);
  c.leg(Side::A).reliable_retransmit.bind(self.timers_);
  const CallHandle h = c.handle;
  c.max_duration.start(c.plan.policy->timers.max_call_duration, [&self, h] {
    if (Call* cc = find_call(self, h)) {
      cc->max_duration.fired();
      ++self.stats_.calls_timed_out;
      end_call(self, *cc, "max_call_duration", std::nullopt, 408);
      finish_if_done(self, *cc);
    }
  });
  c.media->set_failure_handler([&self, h](const std::string& reason) {
    if (Call* cc = find_call(self, h)) {
      end_call(self, *cc, reason, std::nullopt, 408);
      finish_if_done(self, *cc);
    }
  });
}

bool B2bua::Impl::try_next_target(B2bua& self, Call& call) {
  const auto& targets = call.plan.targets;
  for (; call.target_index < targets.size(); ++call.target_index) {
    const auto& t = targets[call.target_index];
    TrunkUsage::Slot slot;
    if (!self.trunk_usage_.try_acquire(t.name, t.max_calls, slot)) {
      log::warn("call.target_full", {{"call", call.log_id}, {"target", t.name},
                                     {"max_calls", t.max_calls}});
      continue;
    }
    const Pace pace = pace_target(self, call, t);
    if (pace == Pace::Skip) {
      continue;
    }
    call.slot = std::move(slot);
    if (pace == Pace::Queued) {
      return true;  // paced_turn() starts it (b2bua_pacing.cpp)
    }
    const Start started = start_target(self, call);
    if (started != Start::NoListener) {
      return started == Start::Sent;
    }
    call.slot.release();
    call.out_slot.release();
  }
  return false;
}

B2bua::Impl::Start B2bua::Impl::start_target(B2bua& self, Call& call) {
  const auto& t = call.plan.targets[call.target_index];
  Leg b;
  b.realm = t.realm;
  b.dst = transport::Destination{t.realm, t.transport, t.remote, t.connection};
  std::string host;
  std::uint16_t port = 0;
  if (!local_address(self, b, host, port)) {
    log::error("call.no_listener", {{"call", call.log_id},
                                    {"realm", t.realm},
                                    {"transport", transport::to_string(t.transport)}});
    return Start::NoListener;
  }
  if (!call.leg(Side::B).call_id.empty()) {
    self.by_call_id_.erase(call.leg(Side::B).call_id);
  }
  b.call_id = make_call_id(self.shard_);
  fill_b_leg(b, call, t, host, port);
  call.leg(Side::B) = std::move(b);  // a fresh dialog: nothing of the last target's is kept
  self.by_call_id_[call.leg(Side::B).call_id] = call.handle;
  if (self.traces_ != nullptr) {
    self.traces_->add_call_id(call.trace, call.leg(Side::B).call_id);
  }
  return send_initial_invite(self, call, host, port) ? Start::Sent : Start::MediaRefused;
}

bool B2bua::Impl::send_initial_invite(B2bua& self, Call& call, const std::string& host,
                                      std::uint16_t port) {
  const policy::ResolvedTarget& t = call.plan.targets[call.target_index];
  Leg& b = call.leg(Side::B);
  call.media->set_leg(Side::B, LegPeer{t.realm, t.remote.address, t.name, t.transport});
  std::string body;
  if (!call.caller_body.empty()) {
    auto r =
        call.media->relay_body(Side::A, SdpRole::Offer, call.caller_content_type, call.caller_body);
    if (!r.ok()) {
      log::warn(
          "call.media_refused",
          {{"call", call.log_id}, {"reason", r.error().reason}, {"detail", r.error().detail}});
      call.media_error = r.error();
      return false;
    }
    body = std::move(r.value());
  }
  std::string branch = new_branch();
  const auto& rules = call.plan.policy->headers;
  std::string extra = hide_hosts(call.invite_headers, host) + "Supported: 100rel\r\n";
  if (!rules.pass_user_agent) {
    extra += server_line(self, *call.plan.policy, "User-Agent");
  }
  b.invite_ruri = b.remote_target;
  b.invite_via = via_value(t.transport, host, port, branch);
  b.invite_to = b.remote_uri;
  std::string bytes = leg_request(b, "INVITE", b.invite_cseq, host, port, branch, extra,
                                  body.empty() ? "" : call.caller_content_type, body,
                                  call.max_forwards);
  ++call.attempts;
  b.invite_txn = send_on_leg(self, call, Side::B, std::move(bytes),
                             PendingRequest{PendingRequest::Kind::InitialInvite});
  restart_timer_c(self, call);
  log::info("call.attempt", {{"call", call.log_id},
                             {"target", t.name},
                             {"attempt", call.target_index + 1},
                             {"realm", t.realm},
                             {"transport", transport::to_string(t.transport)},
                             {"remote", t.remote.to_string()},
                             {"b_call_id", b.call_id}});
  return true;
}

void B2bua::Impl::invite_response(B2bua& self, Call& call, sip::TxnId txn,
                                  sip::Message&& resp) {
  int status = resp.status();
  if (txn != call.leg(Side::B).invite_txn || status == 100) {
    return;
  }
  Leg& b = call.leg(Side::B);
  if (!resp.to().tag.empty()) {
    b.remote_tag = resp.to().tag;
  }
  auto contacts = resp.contacts();
  if (status < 300 && !contacts.empty()) {
    b.remote_target = contacts.front().uri;  // §12.1.2 remote target
    b.route_set = route_set(resp, true);
  }
  if (status < 200) {
    b.provisional = true;
    restart_timer_c(self, call);  // RFC 3261 §16.7 step 2: each provisional resets Timer C
    if (b.cancel_pending) {
      send_cancel(self, call);
      return;
    }
    if (call.state == CallState::Ending) {
      return;
    }
    if (resp.has_option("Require", "100rel") && !send_prack(self, call, resp)) {
      return;  // retransmission of a reliable provisional: discarded (RFC 3262 §4)
    }
    relay_provisional(self, call, resp);
    return;
  }
  b.invite_pending = false;
  if (status < 300) {
    if (call.state == CallState::Ending) {
      // The 200 crossed our CANCEL (or the caller went away): take the call and hang up.
      send_ack(self, call, Side::B, b.invite_cseq, "", "");
      send_bye(self, call, Side::B);
      return;
    }
    relay_answer(self, call, resp);
    return;
  }
  invite_failed(self, call, status, "", &resp);
}

namespace {

/// "PCMU,PCMA,telephone-event": the formats of every m= line of an SDP body, in order.
std::string offered_formats(std::string_view body) {
  auto session = sdp::parse(body);
  if (!session) {
    return {};
  }
  std::string out;
  for (const sdp::Media& m : session->media) {
    for (const std::string& pt : m.formats) {
      const std::string name = sdp::encoding_name(m, pt);
      out += (out.empty() ? "" : ",") + (name.empty() ? pt : name);
    }
  }
  return out;
}

// 488/606 to an offer nearly always means "none of these codecs": say so, with the list, so
// the operator does not have to open the trace to see the mismatch.
void log_not_acceptable(const Call& call, int status) {
  log::warn("call.not_acceptable",
            {{"call", call.log_id},
             {"status", status},
             {"target", call.plan.targets[call.target_index].name},
             {"offered", offered_formats(call.caller_body)},
             {"detail",
              "the callee accepted none of the offered media; a codec mismatch is the "
              "usual cause (compare with the codecs the trunk supports)"}});
}

}  // namespace

void B2bua::Impl::invite_failed(B2bua& self, Call& call, int status, const std::string& reason,
                                const sip::Message* resp) {
  call.leg(Side::B).invite_pending = false;
  call.slot.release();
  call.out_slot.release();
  bool retryable = status == 408 || (status >= 500 && status < 600);
  bool more = call.target_index + 1 < call.plan.targets.size();
  if (call.state != CallState::Ending && retryable && !call.leg(Side::B).early_sdp && more) {
    ++self.stats_.failovers;
    log::info("call.failover", {{"call", call.log_id}, {"status", status},
                                {"from", call.plan.targets[call.target_index].name},
                                {"reason", reason.empty() ? "status" : reason}});
    ++call.target_index;
    if (try_next_target(self, call)) {
      return;
    }
  }
  if (call.state == CallState::Ending) {
    return;  // A was already answered (487 after CANCEL)
  }
  ++self.stats_.calls_failed;
  Leg& a = call.leg(Side::A);
  sip::ResponseParts parts;
  parts.status = status;
  parts.to_tag = a.local_tag;
  parts.extra_headers = server_line(self, *call.plan.policy, "Server");
  if (resp == nullptr && status == 503 && call.retry_after > 0) {
    parts.extra_headers += "Retry-After: " + std::to_string(call.retry_after) + "\r\n";
  }
  if (resp != nullptr) {
    parts.reason = relayed_reason(*resp, call.plan.policy->headers);
    parts.extra_headers += passed_headers(self, call, Side::B, *resp, a.local_host);
  } else if (status == 488) {
    parts.extra_headers += media_warning(reason, a.local_host);
  }
  a.final_status = status;
  self.layer_.respond(a.invite_txn, parts);
  log::info("call.failed", {{"call", call.log_id}, {"status", status},
                            {"reason", reason.empty() ? "remote_status" : reason}});
  if (status == 488 || status == 606) {
    log_not_acceptable(call, status);
  }
  a.invite_pending = false;
  call.state = CallState::Ending;
  call.end_reason = reason.empty() ? "status_" + std::to_string(status) : reason;
  call.max_duration.cancel();
  a.reliable_retransmit.cancel();
  call.media->close();
}

}  // namespace portico::b2bua
