// The initial INVITE: policy routing, the B leg towards each target in turn, and the relay of
// provisional and final responses back to A.
//
// Failover (RFC 3261 §16.7 style serial forking, done by a B2BUA): a 408, a 5xx or a
// transport failure from one target makes Portico try the next target of the route, with a
// brand-new B dialog, as long as no provisional with SDP has been relayed (after early media
// the caller has heard the first target) and the caller has not cancelled.

#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/rewrite.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {
namespace {

}  // namespace

bool supported_extensions_only(const sip::Message& req, std::string& unsupported) {
  for (const auto& v : req.header_values("Require")) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string opt(trim(std::string_view(v).substr(
          start, comma == std::string::npos ? std::string::npos : comma - start)));
      if (!opt.empty() && !iequals(opt, "100rel") && !iequals(opt, "timer")) {
        unsupported += unsupported.empty() ? opt : ", " + opt;
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return unsupported.empty();
}

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

void fill_a_leg(Call& call, const sip::Message& req, const transport::Flow& flow) {
  Leg& a = call.a;
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
  call.a_invite_cseq = req.cseq();
  a.dst = transport::Destination{flow.realm, flow.protocol, flow.remote, flow.connection};
  a.peer_requires_100rel = req.has_option("Require", "100rel");
  a.peer_supports_100rel = a.peer_requires_100rel || req.has_option("Supported", "100rel");
  a.invite_pending = true;
}

}  // namespace

bool relayable_body(std::string_view content_type) {
  std::string ct = to_lower(trim(content_type.substr(0, content_type.find(';'))));
  return ct == "application/sdp" || ct == "multipart/mixed" || ct == "multipart/alternative";
}

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
  if (self.draining_) {
    // RFC 3261 §21.5.4: 503 with Retry-After tells the caller to come back, or try elsewhere.
    ++self.stats_.calls_rejected;
    log::info("call.rejected", {{"status", 503}, {"reason", "shutting_down"},
                                {"realm", flow.realm}, {"remote", flow.remote.to_string()},
                                {"call_id", req.call_id()}});
    respond(self, txn, 503, {}, "Retry-After: 30\r\n");
    emit_rejected_cdr(self, req, flow, 503, "shutting_down");
    return;
  }
  auto mf = req.max_forwards();
  if (mf && *mf <= 0) {
    respond(self, txn, 483);
    return;
  }
  if (!req.body().empty() && !relayable_body(req.content_type())) {
    // RFC 3261 §21.4.16: a session description Portico cannot hand to the media layer.
    respond(self, txn, 415, {}, "Accept: application/sdp, multipart/mixed\r\n");
    return;
  }
  auto ruri = req.request_uri_parts();
  policy::RequestFacts facts{flow.realm, flow.remote.address, ruri ? ruri->user : ""};
  auto decision = policy::match(self.policy_(), facts);
  if (auto* reject = std::get_if<policy::Reject>(&decision)) {
    ++self.stats_.calls_rejected;
    log::info("call.rejected", {{"status", reject->status}, {"reason", reject->reason},
                                {"detail", reject->detail}, {"realm", flow.realm},
                                {"remote", flow.remote.to_string()}, {"call_id", req.call_id()}});
    respond(self, txn, reject->status);
    emit_rejected_cdr(self, req, flow, reject->status, reject->reason);
    return;
  }
  if (!resolve_registered(self, txn, req, flow, std::get<policy::CallPlan>(decision))) {
    return;  // answered 480: the user has no (reachable) binding and no other target is left
  }
  auto call = std::make_unique<Call>();
  Call& c = *call;
  c.handle = self.next_handle_++;
  c.log_id = random_token(10);
  c.plan = std::move(std::get<policy::CallPlan>(decision));
  c.started = self.timers_.now();
  c.wall_started = std::chrono::system_clock::now();
  fill_a_leg(c, req, flow);
  std::string host;
  std::uint16_t port = 0;
  local_address(self, c.a, host, port);
  c.a.contact = contact_for(host, port, flow.protocol);
  c.a.local_host = host;
  c.a_invite_txn = txn;
  c.a_invite_body = std::string(req.body());
  c.a_invite_content_type = req.content_type();
  c.invite_headers = relayed_headers(req, c.plan.policy->headers, "");  // hidden per target
  c.caller_display = req.from().display;
  auto from_uri = sip::parse_uri(req.from().uri);
  c.caller_user = from_uri ? from_uri->user : "";
  c.max_forwards = mf ? std::min(*mf - 1, 70) : 70;
  c.media = self.media_factory_.create(c.log_id, c.plan.policy);
  c.media->set_leg(Side::A, LegPeer{flow.realm, flow.remote.address});
  c.server_txn_ids.push_back(txn);
  c.max_duration.bind(self.timers_);
  c.reliable_retransmit.bind(self.timers_);
  CallHandle h = c.handle;
  c.max_duration.start(c.plan.policy->timers.max_call_duration, [&self, h] {
    if (Call* cc = find_call(self, h)) {
      cc->max_duration.fired();
      ++self.stats_.calls_timed_out;
      end_call(self, *cc, "max_call_duration", std::nullopt, 408);
      finish_if_done(self, *cc);
    }
  });
  log::info("call.new", {{"call", c.log_id}, {"realm", flow.realm},
                         {"transport", transport::to_string(flow.protocol)},
                         {"remote", flow.remote.to_string()}, {"peer", c.plan.source_peer},
                         {"route", c.plan.route}, {"user", c.plan.ruri_user},
                         {"call_id", c.a.call_id}});
  if (self.traces_ != nullptr) {
    c.trace = self.traces_->begin(c.log_id, c.a.call_id, c.wall_started, c.trace_file);
    if (!c.trace_file.empty()) {
      log::info("call.trace", {{"call", c.log_id}, {"file", c.trace_file}});
    }
  }
  self.by_call_id_[c.a.call_id] = h;
  self.server_txns_[txn] = h;
  self.calls_.emplace(h, std::move(call));
  c.media->set_failure_handler([&self, h](const std::string& reason) {
    if (Call* cc = find_call(self, h)) {
      end_call(self, *cc, reason, std::nullopt, 408);
      finish_if_done(self, *cc);
    }
  });
  if (!try_next_target(self, c)) {
    if (c.media_error) {
      invite_failed(self, c, media_failure_status(c.media_error->reason), c.media_error->reason,
                    nullptr);
    } else {
      invite_failed(self, c, 503, "no_target_available", nullptr);
    }
    finish_if_done(self, c);
  }
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
    Leg b;
    b.realm = t.realm;
    b.dst = transport::Destination{t.realm, t.transport, t.remote, t.connection};
    std::string host;
    std::uint16_t port = 0;
    if (!local_address(self, b, host, port)) {
      log::error("call.no_listener", {{"call", call.log_id}, {"realm", t.realm},
                                      {"transport", transport::to_string(t.transport)}});
      continue;
    }
    if (!call.b.call_id.empty()) {
      self.by_call_id_.erase(call.b.call_id);
    }
    b.call_id = make_call_id(self.shard_);
    b.local_tag = random_token(16);
    std::string h6 = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    b.local_uri = name_addr(call.caller_display,
                            "sip:" + (call.caller_user.empty() ? "anonymous" : call.caller_user) +
                                "@" + h6);
    b.remote_uri = !t.to_uri.empty() ? t.to_uri
                                     : "<sip:" + call.plan.ruri_user + "@" +
                                           t.remote.host_for_uri() + ">";
    b.remote_target = !t.request_uri.empty() ? t.request_uri
                                             : target_uri(call.plan.ruri_user, t.remote, t.transport);
    b.local_cseq = 1;
    b.contact = contact_for(host, port, t.transport);
    b.local_host = host;
    b.invite_pending = true;
    call.b = std::move(b);
    call.slot = std::move(slot);
    self.by_call_id_[call.b.call_id] = call.handle;
    if (self.traces_ != nullptr) {
      self.traces_->add_call_id(call.trace, call.b.call_id);
    }

    call.media->set_leg(Side::B, LegPeer{t.realm, t.remote.address});
    std::string body;
    if (!call.a_invite_body.empty()) {
      auto r = call.media->relay_body(Side::A, SdpRole::Offer, call.a_invite_content_type,
                                      call.a_invite_body);
      if (!r.ok()) {
        log::warn("call.media_refused", {{"call", call.log_id}, {"reason", r.error().reason},
                                         {"detail", r.error().detail}});
        call.media_error = r.error();
        return false;
      }
      body = std::move(r.value());
    }
    std::string branch = new_branch();
    const auto& rules = call.plan.policy->headers;
    std::string extra = hide_ip_hosts(call.invite_headers, host) + "Supported: 100rel\r\n";
    if (!rules.pass_user_agent) {
      extra += "User-Agent: " + server_header(self, *call.plan.policy) + "\r\n";
    }
    call.b_invite_ruri = call.b.remote_target;
    call.b_invite_via = via_value(t.transport, host, port, branch);
    call.b_invite_to = call.b.remote_uri;
    call.b_provisional = false;
    call.b_early_sdp = false;
    call.b_last_rseq = 0;
    std::string bytes = leg_request(call.b, "INVITE", 1, host, port, branch, extra,
                                    body.empty() ? "" : call.a_invite_content_type, body,
                                    call.max_forwards);
    ++call.attempts;
    call.b_invite_txn = send_on_leg(self, call, Side::B, std::move(bytes),
                                    PendingRequest{PendingRequest::Kind::InitialInvite});
    log::info("call.attempt", {{"call", call.log_id}, {"target", t.name},
                               {"attempt", call.target_index + 1}, {"realm", t.realm},
                               {"transport", transport::to_string(t.transport)},
                               {"remote", t.remote.to_string()}, {"b_call_id", call.b.call_id}});
    return true;
  }
  return false;
}

void B2bua::Impl::invite_response(B2bua& self, Call& call, sip::TxnId txn,
                                  sip::Message&& resp) {
  int status = resp.status();
  if (txn != call.b_invite_txn || status == 100) {
    return;
  }
  Leg& b = call.b;
  if (!resp.to().tag.empty()) {
    b.remote_tag = resp.to().tag;
  }
  auto contacts = resp.contacts();
  if (status < 300 && !contacts.empty()) {
    b.remote_target = contacts.front().uri;  // §12.1.2 remote target
    b.route_set = route_set(resp, true);
  }
  if (status < 200) {
    call.b_provisional = true;
    if (call.cancel_pending) {
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
      send_ack(self, call, Side::B, 1, "", "");
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
            {{"call", call.log_id}, {"status", status},
             {"target", call.plan.targets[call.target_index].name},
             {"offered", offered_formats(call.a_invite_body)},
             {"detail", "the callee accepted none of the offered media; a codec mismatch is the "
                        "usual cause (compare with the codecs the trunk supports)"}});
}

}  // namespace

void B2bua::Impl::invite_failed(B2bua& self, Call& call, int status, const std::string& reason,
                                const sip::Message* resp) {
  call.b.invite_pending = false;
  call.slot.release();
  bool retryable = status == 408 || (status >= 500 && status < 600);
  bool more = call.target_index + 1 < call.plan.targets.size();
  if (call.state != CallState::Ending && retryable && !call.b_early_sdp && more) {
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
  sip::ResponseParts parts;
  parts.status = status;
  parts.to_tag = call.a.local_tag;
  parts.extra_headers = "Server: " + server_header(self, *call.plan.policy) + "\r\n";
  if (resp != nullptr) {
    parts.reason = resp->reason_phrase();
    parts.extra_headers += relayed_headers(*resp, call.plan.policy->headers, call.a.local_host);
  }
  call.a_final_status = status;
  self.layer_->respond(call.a_invite_txn, parts);
  log::info("call.failed", {{"call", call.log_id}, {"status", status},
                            {"reason", reason.empty() ? "remote_status" : reason}});
  if (status == 488 || status == 606) {
    log_not_acceptable(call, status);
  }
  call.a.invite_pending = false;
  call.state = CallState::Ending;
  call.end_reason = reason.empty() ? "status_" + std::to_string(status) : reason;
  call.max_duration.cancel();
  call.reliable_retransmit.cancel();
  call.media->close();
}

}  // namespace portico::b2bua
