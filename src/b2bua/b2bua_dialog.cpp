// In-dialog requests (RFC 3261 §12.2.2, §14): BYE ends both dialogs; re-INVITE, UPDATE, INFO,
// OPTIONS, MESSAGE, NOTIFY, REFER are re-originated on the other leg from that leg's dialog
// state and their responses relayed back. ACK for a 2xx to a re-INVITE crosses end to end when
// it carries the SDP answer (late offer); otherwise each leg is ACKed as soon as it answers.

#include "admission.hpp"
#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {
namespace {

bool refreshes_target(std::string_view m) { return m == "INVITE" || m == "UPDATE"; }

// A relayed re-INVITE holds both legs (another on either gets 491, RFC 3261 §14.2); its end
// frees both.
void reinvite_over(Call& call) {
  for (Leg& leg : call.legs) {
    leg.invite_pending = false;
  }
}

}  // namespace

bool B2bua::Impl::from_leg_peer(const Call& call, Side from, const transport::Flow& flow) {
  // Call-ID and tags travel in clear text, so they prove nothing about the sender: the leg's
  // own peer (its address, or its connection) may send in-dialog requests, and so may another
  // address of the same trunk or access peer (a peer that moved, or answers from a cluster).
  // A registered phone's leg accepts any known source of its realm.
  const Leg& x = call.leg(from);
  if (flow.realm != x.realm) {
    return false;
  }
  if ((x.dst.connection.valid() && flow.connection == x.dst.connection) ||
      flow.remote.address == x.dst.remote.address) {
    return true;
  }
  const std::string peer =
      policy::identify_source(*call.plan.policy, flow.realm, flow.remote.address);
  if (peer.empty()) {
    return false;
  }
  if (from == Side::A) {
    return peer == call.plan.source_peer;
  }
  if (call.target_index >= call.plan.targets.size()) {
    return false;
  }
  const policy::ResolvedTarget& t = call.plan.targets[call.target_index];
  return t.kind == policy::PeerKind::Registered || peer == t.name;
}

void B2bua::Impl::in_dialog(B2bua& self, Call& call, Side from, sip::TxnId txn, sip::Message&& req,
                            const transport::Flow& flow) {
  Leg& x = call.leg(from);
  const std::string& m = req.method();
  if (req.to().tag != x.local_tag || req.from().tag != x.remote_tag) {
    ++self.stats_.unknown_dialog;
    respond(self, txn, 481);
    return;
  }
  if (!from_leg_peer(call, from, flow)) {
    ++self.stats_.in_dialog_wrong_source;
    if (!call.wrong_source_logged) {
      call.wrong_source_logged = true;
      log::warn("call.wrong_source", {{"call", call.log_id},
                                      {"method", m},
                                      {"leg", from == Side::A ? "a" : "b"},
                                      {"realm", flow.realm},
                                      {"remote", flow.remote.to_string()}});
    }
    respond(self, txn, 403);
    return;
  }
  if (m != "ACK" && m != "CANCEL" && req.cseq() <= x.remote_cseq && x.remote_cseq != 0 &&
      !(m == "PRACK")) {
    // §12.2.2: lower CSeq than the last in-dialog request is out of order.
    respond(self, txn, 500, "CSeq Out of Order");
    return;
  }
  x.remote_cseq = std::max(x.remote_cseq, req.cseq());
  self.server_txns_[txn] = call.handle;
  call.server_txn_ids.push_back(txn);
  if (m == "BYE") {
    respond(self, txn, 200);
    log::info("call.bye", {{"call", call.log_id}, {"from", from == Side::A ? "a" : "b"}});
    end_call(self, call, from == Side::A ? "a_bye" : "b_bye", from, 487);
    finish_if_done(self, call);
    return;
  }
  if (call.state == CallState::Ending) {
    respond(self, txn, 481);
    return;
  }
  if (m == "PRACK") {
    if (from == Side::A) {
      prack_from_a(self, call, txn, req);
    } else {
      respond(self, txn, 481);
    }
    return;
  }
  if (m == "INVITE") {
    Leg& y = call.leg(other(from));
    if (call.state != CallState::Confirmed || x.invite_pending || y.invite_pending) {
      respond(self, txn, 491);  // RFC 3261 §14.2: an INVITE is already pending
      return;
    }
    x.invite_pending = true;
    y.invite_pending = true;
  }
  if (refreshes_target(m)) {
    auto contacts = req.contacts();
    if (!contacts.empty()) {
      x.remote_target = contacts.front().uri;
    }
  }
  relay_request(self, call, from, txn, req);
}

void B2bua::Impl::relay_request(B2bua& self, Call& call, Side from, sip::TxnId txn,
                                const sip::Message& req) {
  Side to = other(from);
  Leg& y = call.leg(to);
  const std::string& m = req.method();
  auto mf = req.max_forwards();
  if (mf && *mf <= 0) {
    respond(self, txn, 483);
    return;
  }
  if (req.body().size() > call.plan.policy->headers.max_body) {
    ++self.stats_.too_long_refused;  // what crosses is bounded in a dialog too (RFC 3261 §21.4.14)
    respond(self, txn, 413);
    if (m == "INVITE") {
      reinvite_over(call);
    }
    return;
  }
  std::string body;
  const std::size_t max_streams = call.plan.policy->limits.max_media_streams;
  if (refreshes_target(m) && sdp::count_media_lines(req.body()) > max_streams) {
    // limits.max_media_streams, as for the initial INVITE (call_limits.cpp).
    ++self.stats_.refused_media_streams;
    respond(self, txn, 488, {}, media_streams_warning(max_streams));
    if (m == "INVITE") {
      reinvite_over(call);
    }
    return;
  }
  if (!req.body().empty()) {
    SdpRole role = (m == "INVITE" || m == "UPDATE") ? SdpRole::Offer : SdpRole::Answer;
    auto r = call.media->relay_body(from, role, req.content_type(), req.body());
    if (!r.ok()) {
      respond(self, txn, media_failure_status(r.error().reason), {},
              media_warning(r.error().reason));
      if (m == "INVITE") {
        reinvite_over(call);
      }
      return;
    }
    body = std::move(r.value());
  }
  std::string host;
  std::uint16_t port = 0;
  local_address(self, y, host, port);
  const auto& policy = *call.plan.policy;
  std::string extra = passed_headers(self, call, from, req, host);
  if (!policy.headers.pass_user_agent) {
    extra += server_line(self, policy, "User-Agent");
  }
  std::uint32_t cseq = ++y.local_cseq;
  std::string bytes = leg_request(y, m, cseq, host, port, new_branch(), extra,
                                  body.empty() ? "" : req.content_type(), body,
                                  mf ? std::min(*mf - 1, 70) : 70);
  PendingRequest p;
  p.kind = m == "INVITE" ? PendingRequest::Kind::ReInvite : PendingRequest::Kind::Relay;
  p.server_txn = txn;
  p.cseq = cseq;
  p.server_cseq = req.cseq();
  p.offer_in_request = !req.body().empty();
  log::debug("call.relay", {{"call", call.log_id}, {"method", m},
                            {"from", from == Side::A ? "a" : "b"}});
  send_on_leg(self, call, to, std::move(bytes), p);
}

void B2bua::Impl::relayed_response(B2bua& self, Call& call, const PendingRequest& p,
                                   sip::Message&& resp) {
  int status = resp.status();
  bool relayable = p.kind == PendingRequest::Kind::ReInvite || p.kind == PendingRequest::Kind::Relay;
  if (status == 100 || !relayable || p.server_txn == 0) {
    return;
  }
  Side back = other(p.leg);
  Leg& y = call.leg(p.leg);
  const std::string& m = resp.cseq_method();
  if (status >= 200 && status < 300 && refreshes_target(m)) {
    auto contacts = resp.contacts();
    if (!contacts.empty()) {
      y.remote_target = contacts.front().uri;
    }
  }
  const auto& policy = *call.plan.policy;
  sip::ResponseParts parts;
  parts.status = status;
  parts.reason = relayed_reason(resp, policy.headers);
  parts.to_tag = call.leg(back).local_tag;
  parts.extra_headers = passed_headers(self, call, p.leg, resp, call.leg(back).local_host);
  if (status >= 200 && status < 300 && refreshes_target(m)) {
    parts.extra_headers += "Contact: " + call.leg(back).contact + "\r\n";
  }
  parts.extra_headers += server_line(self, policy, "Server");
  if (!resp.body().empty()) {
    SdpRole role = p.offer_in_request ? SdpRole::Answer : SdpRole::Offer;
    auto r = call.media->relay_body(p.leg, role, resp.content_type(), resp.body());
    if (r.ok()) {
      parts.content_type = resp.content_type();
      parts.body = std::move(r.value());
    }
  }
  self.layer_.respond(p.server_txn, parts);
  if (p.kind != PendingRequest::Kind::ReInvite || status < 200) {
    return;
  }
  reinvite_over(call);
  if (status >= 300) {
    return;  // the transaction layer ACKs a non-2xx hop by hop
  }
  if (p.offer_in_request) {
    send_ack(self, call, p.leg, p.cseq, "", "");
  } else {
    call.leg(back).ack_relay[p.server_cseq] = p.cseq;
  }
}

void B2bua::Impl::ack(B2bua& self, Call& call, Side from, const sip::Message& ack) {
  auto& map = call.leg(from).ack_relay;
  auto it = map.find(ack.cseq());
  if (it == map.end()) {
    return;  // this leg's 2xx was already ACKed on the other side
  }
  std::uint32_t cseq = it->second;
  map.erase(it);
  std::string body;
  if (!ack.body().empty()) {
    auto r = call.media->relay_body(from, SdpRole::Answer, ack.content_type(), ack.body());
    if (r.ok()) {
      body = std::move(r.value());
    }
  }
  send_ack(self, call, other(from), cseq, body.empty() ? "" : ack.content_type(), body);
}

void B2bua::Impl::send_ack(B2bua& self, Call& call, Side side, std::uint32_t cseq,
                           const std::string& content_type, const std::string& body) {
  Leg& l = call.leg(side);
  std::string host;
  std::uint16_t port = 0;
  local_address(self, l, host, port);
  std::string bytes = leg_request(l, "ACK", cseq, host, port, new_branch(), "", content_type, body);
  l.acks[cseq] = bytes;
  self.layer_.send_stateless(std::move(bytes), l.dst);
}

}  // namespace portico::b2bua
