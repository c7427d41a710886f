// Dispatch: which call a message belongs to, and what Portico answers by itself.
// RFC 3261 §12.2.2: a request with a To tag belongs to a dialog or gets 481; §8.2.2.1 unknown
// methods get 501 outside a dialog; §11 OPTIONS is answered by the UAS core.

#include "portico/b2bua/b2bua.hpp"

#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sip/extensions.hpp"

namespace portico::b2bua {
namespace {

constexpr std::string_view kAllow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, MESSAGE, NOTIFY, REFER";

bool is_known_method(std::string_view m) {
  static constexpr std::string_view kKnown[] = {"INVITE", "ACK",    "CANCEL",    "BYE",
                                                "OPTIONS", "PRACK", "UPDATE",    "INFO",
                                                "MESSAGE", "NOTIFY", "REFER",    "SUBSCRIBE",
                                                "REGISTER", "PUBLISH"};
  for (auto k : kKnown) {
    if (m == k) {
      return true;
    }
  }
  return false;
}

}  // namespace

const char* to_string(CallState s) {
  switch (s) {
    case CallState::Routing: return "routing";
    case CallState::Early: return "early";
    case CallState::Confirmed: return "confirmed";
    case CallState::Ending: return "ending";
  }
  return "?";
}

B2bua::B2bua(sip::TransactionLayer& layer, std::uint16_t shard, TimerService& timers,
             transport::Transport& transport, TrunkUsage& trunk_usage,
             SessionMediaFactory& media_factory, PolicyView policy, std::string version)
    : layer_(layer),
      shard_(shard),
      timers_(timers),
      transport_(transport),
      trunk_usage_(trunk_usage),
      media_factory_(media_factory),
      policy_(std::move(policy)),
      version_(std::move(version)) {}

B2bua::~B2bua() {
  // Calls own timers bound to timers_; free them before the layer goes.
  calls_.clear();
}

void B2bua::on_request(sip::TxnId txn, sip::Message&& req, const transport::Flow& flow) {
  Side side = Side::A;
  Call* call = Impl::find_by_call_id(*this, req.call_id(), side);
  if (call != nullptr && !req.to().tag.empty()) {
    Impl::in_dialog(*this, *call, side, txn, std::move(req), flow);
    return;
  }
  if (!req.to().tag.empty()) {
    // RFC 3261 §12.2.2: a mid-dialog request for a dialog we do not know.
    ++stats_.unknown_dialog;
    log::info_limited("sip.unknown_dialog", {{"method", req.method()},
                                             {"call_id", req.call_id()},
                                             {"realm", flow.realm},
                                             {"remote", flow.remote.to_string()}});
    Impl::respond(*this, txn, 481);
    return;
  }
  if (call != nullptr) {
    // Same Call-ID, no To tag, while the call lives: a merged or looped request (§8.2.2.2).
    Impl::respond(*this, txn, 482);
    return;
  }
  Impl::out_of_dialog(*this, txn, std::move(req), flow);
}

void B2bua::on_ack(sip::Message&& ack, const transport::Flow& flow) {
  Side side = Side::A;
  Call* call = Impl::find_by_call_id(*this, ack.call_id(), side);
  if (call == nullptr) {
    return;  // ACK is never answered (RFC 3261 §17.2.3); a stray one is dropped
  }
  if (!Impl::from_leg_peer(*call, side, flow)) {
    ++stats_.in_dialog_wrong_source;  // never answered: dropped
    return;
  }
  Impl::ack(*this, *call, side, ack);
}

void B2bua::on_cancel(sip::TxnId invite_txn, sip::Message&& cancel) {
  auto it = server_txns_.find(invite_txn);
  if (it == server_txns_.end()) {
    return;
  }
  Call* call = Impl::find_call(*this, it->second);
  if (call == nullptr || call->leg(Side::A).invite_txn != invite_txn) {
    // A CANCEL of a re-INVITE: answer it 487; the other leg's transaction runs to its end.
    Impl::respond(*this, invite_txn, 487);
    return;
  }
  log::info("call.cancelled", {{"call", call->log_id}, {"call_id", cancel.call_id()}});
  Impl::end_call(*this, *call, "caller_cancelled", std::nullopt, 487);
  Impl::finish_if_done(*this, *call);  // freed now unless B has a transaction to finish
}

void B2bua::on_response(sip::TxnId txn, sip::Message&& resp) {
  auto it = pending_.find(txn);
  if (it == pending_.end()) {
    on_stray_response(std::move(resp), transport::Flow{});
    return;
  }
  auto [handle, p] = it->second;
  Call* call = Impl::find_call(*this, handle);
  if (resp.status() >= 200) {
    Impl::client_done(*this, txn);
  }
  if (call == nullptr) {
    return;
  }
  if ((resp.status() == 401 || resp.status() == 407) && !p.resend.empty() &&
      Impl::answer_challenge(*this, *call, p, resp)) {
    if (Call* c = Impl::find_call(*this, handle)) {
      Impl::finish_if_done(*this, *c);
    }
    return;
  }
  if (p.kind == PendingRequest::Kind::InitialInvite) {
    Impl::invite_response(*this, *call, txn, std::move(resp));
  } else {
    Impl::relayed_response(*this, *call, p, std::move(resp));
  }
  if (Call* c = Impl::find_call(*this, handle)) {
    Impl::finish_if_done(*this, *c);
  }
}

void B2bua::on_client_failure(sip::TxnId txn, int status) {
  auto it = pending_.find(txn);
  if (it == pending_.end()) {
    return;
  }
  auto [handle, p] = it->second;
  Impl::client_done(*this, txn);
  Call* call = Impl::find_call(*this, handle);
  if (call == nullptr) {
    return;
  }
  log::warn("call.request_failed", {{"call", call->log_id}, {"status", status},
                                    {"leg", p.leg == Side::A ? "a" : "b"},
                                    {"reason", status == 408 ? "timeout" : "transport_error"}});
  if (p.kind == PendingRequest::Kind::InitialInvite) {
    Impl::invite_failed(*this, *call, status, status == 408 ? "timeout" : "transport_error",
                        nullptr);
  } else if (p.server_txn != 0) {
    Impl::respond(*this, p.server_txn, status);
    if (call->state != CallState::Ending && p.kind == PendingRequest::Kind::ReInvite) {
      call->leg(p.leg).invite_pending = false;
      call->leg(other(p.leg)).invite_pending = false;
    }
  }
  if (Call* c = Impl::find_call(*this, handle)) {
    Impl::finish_if_done(*this, *c);
  }
}

void B2bua::on_server_timeout(sip::TxnId txn) {
  auto it = server_txns_.find(txn);
  if (it == server_txns_.end()) {
    return;
  }
  CallHandle h = it->second;
  server_txns_.erase(it);
  if (Call* call = Impl::find_call(*this, h)) {
    log::warn("call.no_ack", {{"call", call->log_id}});
    Impl::end_call(*this, *call, "no_ack", std::nullopt);
  }
}

void B2bua::on_stray_response(sip::Message&& resp, const transport::Flow&) {
  // A retransmitted 2xx after our INVITE transaction ended: re-send the ACK (§13.2.2.4).
  if (resp.status() < 200 || resp.status() >= 300 || resp.cseq_method() != "INVITE") {
    return;
  }
  Side side = Side::B;
  Call* call = Impl::find_by_call_id(*this, resp.call_id(), side);
  if (call == nullptr) {
    return;
  }
  const auto& acks = call->leg(side).acks;
  auto a = acks.find(resp.cseq());
  if (a != acks.end()) {
    layer_.send_stateless(a->second, call->leg(side).dst);
  }
}

void B2bua::end_all_calls(const std::string& reason) {
  std::vector<CallHandle> handles;
  handles.reserve(calls_.size());
  for (auto& [h, c] : calls_) {
    handles.push_back(h);
  }
  for (CallHandle h : handles) {
    if (Call* c = Impl::find_call(*this, h)) {
      Impl::end_call(*this, *c, reason, std::nullopt, 503);
    }
  }
}

// --- Impl: lookups and small helpers ---------------------------------------------------------

Call* B2bua::Impl::find_call(B2bua& self, CallHandle h) {
  auto it = self.calls_.find(h);
  return it == self.calls_.end() ? nullptr : it->second.get();
}

Call* B2bua::Impl::find_by_call_id(B2bua& self, const std::string& call_id, Side& side) {
  auto it = self.by_call_id_.find(call_id);
  if (it == self.by_call_id_.end()) {
    return nullptr;
  }
  Call* call = find_call(self, it->second);
  if (call != nullptr) {
    side = call->leg(Side::A).call_id == call_id ? Side::A : Side::B;
  }
  return call;
}

std::string B2bua::Impl::server_line(const B2bua& self, const policy::PolicySnapshot& p,
                                     std::string_view header) {
  // An empty server_name sends no Server/User-Agent at all: nothing for a scanner to read.
  const std::string v = policy::product_token(p.headers, self.version_);
  return v.empty() ? std::string() : std::string(header) + ": " + v + "\r\n";
}

void B2bua::Impl::respond(B2bua& self, sip::TxnId txn, int status, std::string reason,
                          std::string extra) {
  auto p = self.policy_();
  sip::ResponseParts parts;
  parts.status = status;
  parts.reason = std::move(reason);
  parts.to_tag = random_token(16);
  parts.extra_headers = std::move(extra) + server_line(self, *p, "Server");
  self.layer_.respond(txn, parts);
}

sip::TxnId B2bua::Impl::send_on_leg(B2bua& self, Call& call, Side side, std::string bytes,
                                    PendingRequest pending) {
  pending.leg = side;
  std::string trunk;
  if (pending.resend.empty() && pending.kind != PendingRequest::Kind::Cancel &&
      trunk_secret(call, side, trunk) != nullptr) {
    pending.resend = bytes;  // kept to answer the trunk's 401/407 (trunk_auth.cpp)
  }
  sip::TxnId id = self.layer_.send_request(std::move(bytes), call.leg(side).dst);
  if (id != 0) {
    self.pending_[id] = {call.handle, pending};
    ++call.open_client_txns;
  }
  return id;
}

namespace {

// REGISTER is allowed only where the policy takes registrations (RFC 3261 §20.5: Allow lists
// what this UA accepts on this flow), so a phone probing with OPTIONS learns the truth.
std::string allow_header(const policy::PolicySnapshot& p, const transport::Flow& flow) {
  const bool registers = p.registration.enabled && p.registration.realm == flow.realm;
  return "Allow: " + std::string(kAllow) + (registers ? ", REGISTER" : "") + "\r\n";
}

}  // namespace

void B2bua::Impl::out_of_dialog(B2bua& self, sip::TxnId txn, sip::Message&& req,
                                const transport::Flow& flow) {
  const std::string& m = req.method();
  if (std::string unsupported = m == "CANCEL" ? "" : sip::unsupported_options(req);
      !unsupported.empty()) {
    respond(self, txn, 420, {}, "Unsupported: " + unsupported + "\r\n");  // RFC 3261 §8.2.2.3
    return;
  }
  if (m == "INVITE") {
    initial_invite(self, txn, std::move(req), flow);
    return;
  }
  if (m == "OPTIONS") {
    respond(self, txn, 200, {},
            allow_header(*self.policy_(), flow) + "Accept: application/sdp\r\nSupported: 100rel\r\n");
    return;
  }
  if (m == "BYE" || m == "CANCEL" || m == "PRACK" || m == "UPDATE" || m == "INFO") {
    ++self.stats_.unknown_dialog;
    respond(self, txn, 481);
    return;
  }
  if (is_known_method(m)) {
    respond(self, txn, 405, {}, allow_header(*self.policy_(), flow));
    return;
  }
  log::info_limited("sip.unknown_method",
                    {{"method", m}, {"realm", flow.realm}, {"remote", flow.remote.to_string()}});
  respond(self, txn, 501, {}, allow_header(*self.policy_(), flow));
}

}  // namespace portico::b2bua
