#include "portico/runtime/sip_front_door.hpp"

#include "ingress_gate.hpp"

#include "portico/b2bua/b2bua.hpp"
#include "portico/common/log.hpp"
#include "portico/registrar/registrar.hpp"
#include "portico/registrar/trunk_registrations.hpp"
#include "portico/sip/message.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/shard_routing.hpp"
#include "portico/sip/status_map.hpp"

namespace portico::runtime {
namespace {

sip::TimerConfig timer_config(const policy::PolicySnapshot& p) {
  return sip::TimerConfig{p.timers.t1, p.timers.t2, p.timers.t4};
}

// The limits caps on transactions, each shard enforcing an equal share (rounded up).
sip::ServerLimits server_limits(const policy::PolicySnapshot& p, std::uint16_t shards) {
  const auto share = [shards](std::size_t cap) { return (cap + shards - 1) / shards; };
  const policy::Limits& l = p.limits;
  return sip::ServerLimits{
      share(l.max_server_transactions), share(l.max_server_transactions_per_source),
      share(l.max_pending_invites), share(l.max_pending_invites_per_source), l.retry_after};
}

// The realm whose REGISTERs the policy takes, or "" when it takes none.
std::string_view registration_realm(const policy::PolicySnapshot& p) {
  return p.registration.enabled ? std::string_view(p.registration.realm) : std::string_view{};
}

}  // namespace

SipFrontDoor::SipFrontDoor(std::uint16_t shard, std::uint16_t shard_count, TimerService& timers,
                           transport::Transport& wire, trace::CallTraces& traces,
                           std::shared_ptr<const policy::PolicySnapshot> policy, ToOwner to_owner)
    : shard_(shard),
      shard_count_(shard_count),
      policy_(std::move(policy)),
      to_owner_(std::move(to_owner)),
      traces_(traces),
      tracing_(wire, counts_, traces, &sip::find_call_id),
      guard_(timers),
      gate_(std::make_unique<IngressGate>()) {
  tracing_.set_log_messages(policy_->server.trace);
  guard_.configure(policy_->rate_limits);
  layer_ = std::make_unique<sip::TransactionLayer>(timers, tracing_, timer_config(*policy_), *this);
  layer_->set_limits(server_limits(*policy_, shard_count_));
}

SipFrontDoor::~SipFrontDoor() = default;

void SipFrontDoor::connect(b2bua::B2bua& b2bua, registrar::Registrar& registrar) {
  b2bua_ = &b2bua;
  registrar_ = &registrar;
}

void SipFrontDoor::set_policy(std::shared_ptr<const policy::PolicySnapshot> policy) {
  policy_ = std::move(policy);
  tracing_.set_log_messages(policy_->server.trace);
  layer_->set_config(timer_config(*policy_));
  guard_.configure(policy_->rate_limits);
  layer_->set_limits(server_limits(*policy_, shard_count_));
}

void SipFrontDoor::dispatch(transport::Inbound&& in) {
  // Rate limits and bans first: a banned or flooding source costs a look-up, not a parse.
  if (!guard_.admit(in.flow.remote.address)) {
    return;
  }
  // Every message of a call goes to the shard that owns the call, and every REGISTER of one
  // user to the shard that owns the binding, so neither ever needs a lock.
  const std::uint16_t owner =
      sip::owner_shard(in.data, in.flow.realm, registration_realm(*policy_), shard_, shard_count_);
  if (owner == shard_) {
    deliver(std::move(in));
    return;
  }
  to_owner_(owner, std::move(in));
}

void SipFrontDoor::deliver(transport::Inbound&& in) {
  ++stats_.messages;
  const auto& flow = in.flow;
  if (policy_->server.trace) {
    trace::log_message("in", flow.realm, flow.protocol, flow.remote, in.data);
  }
  // Shown to the call traces before it is handled, so the file keeps the wire order; what the
  // handling sends is batched until the end of the delivery.
  struct DeliveryEnd {
    trace::CallTraces& traces;
    ~DeliveryEnd() { traces.end_delivery(); }
  } delivery_end{traces_};
  if (auto refused = gate_->check(in, *policy_, stats_)) {
    if (refused->answer) {
      tracing_.send(transport::Destination{flow.realm, flow.protocol, flow.remote, flow.connection},
                    std::move(*refused->answer));
    }
    return;
  }
  if (traces_.active()) {
    traces_.inbound(sip::find_call_id(in.data), flow, in.data);
  }
  auto parsed = sip::Message::parse(in.data);
  if (!parsed.ok()) {
    reject_unparseable(in, parsed.error().reason, parsed.error().detail);
    return;
  }
  sip::Message msg = std::move(parsed.value());
  trace::count_message(counts_, flow.realm, "in",
                       trace::method_label(msg.is_request() ? msg.method() : msg.cseq_method()),
                       msg.status());
  if (auto err = msg.validate()) {
    reject_invalid(msg, flow, err->reason, err->detail);
    return;
  }
  layer_->receive(std::move(msg), flow);
}

void SipFrontDoor::reject_unparseable(const transport::Inbound& in, const std::string& reason,
                                      const std::string& detail) {
  ++stats_.unparseable;
  const auto& flow = in.flow;
  std::string why = reason;
  auto answer = sip::reject_unparseable(in.data, why);
  log::warn_limited("sip.unparseable", {{"reason", why},
                                        {"detail", detail},
                                        {"action", answer ? answer->substr(8, 3) : "drop"},
                                        {"realm", flow.realm},
                                        {"transport", transport::to_string(flow.protocol)},
                                        {"remote", flow.remote.to_string()},
                                        {"bytes", in.data.size()}});
  if (!answer) {
    ++stats_.dropped;
    return;
  }
  ++stats_.answered_400;
  // Straight back to where it came from: the Via could not be trusted to say otherwise.
  tracing_.send(transport::Destination{flow.realm, flow.protocol, flow.remote, flow.connection},
                std::move(*answer));
}

void SipFrontDoor::reject_invalid(const sip::Message& msg, const transport::Flow& flow,
                                  const std::string& reason, const std::string& detail) {
  ++stats_.invalid;
  const bool answer = msg.is_request() && msg.method() != "ACK" && !msg.vias().empty();
  const int status = sip::rejection_status(reason);
  log::warn_limited("sip.invalid", {{"reason", reason},
                                    {"detail", detail},
                                    {"action", answer ? std::to_string(status) : "drop"},
                                    {"realm", flow.realm},
                                    {"remote", flow.remote.to_string()}});
  if (!answer) {
    ++stats_.dropped;
    return;
  }
  ++stats_.answered_400;
  sip::ResponseParts parts;
  parts.status = status;
  parts.reason = status == 400 ? detail : "";
  layer_->respond_stateless(msg, flow, parts);
}

// --- sip::TransactionUser: by method and realm to the registrar, else to the B2BUA ----------

void SipFrontDoor::on_request(sip::TxnId txn, sip::Message&& req, const transport::Flow& flow) {
  // A REGISTER outside any dialog: the registrar's when the policy takes REGISTER on this realm
  // (it says so by taking it). Any other REGISTER is the B2BUA's to refuse (405, or 481 with a
  // To tag), as any request it does not serve.
  if (req.method() == "REGISTER" && req.to().tag.empty() &&
      registrar_->on_register(txn, req, flow)) {
    return;
  }
  b2bua_->on_request(txn, std::move(req), flow);
}

void SipFrontDoor::on_ack(sip::Message&& ack, const transport::Flow& flow) {
  b2bua_->on_ack(std::move(ack), flow);  // only INVITE is ACKed: never the registrar's
}

void SipFrontDoor::on_cancel(sip::TxnId invite_txn, sip::Message&& cancel) {
  b2bua_->on_cancel(invite_txn, std::move(cancel));
}

void SipFrontDoor::on_response(sip::TxnId txn, sip::Message&& resp) {
  // The registrar knows its own client transactions (upstream REGISTERs, OPTIONS pings),
  // and so do the trunk registrations (Portico's own REGISTERs).
  if ((trunks_ != nullptr && trunks_->on_response(txn, resp)) ||
      registrar_->on_response(txn, resp)) {
    return;
  }
  b2bua_->on_response(txn, std::move(resp));
}

void SipFrontDoor::on_client_failure(sip::TxnId txn, int status) {
  if ((trunks_ != nullptr && trunks_->on_client_failure(txn, status)) ||
      registrar_->on_client_failure(txn, status)) {
    return;
  }
  b2bua_->on_client_failure(txn, status);
}

void SipFrontDoor::on_server_timeout(sip::TxnId txn) {
  b2bua_->on_server_timeout(txn);  // a 2xx to an INVITE was not ACKed: only calls have them
}

void SipFrontDoor::on_stray_response(sip::Message&& resp, const transport::Flow& flow) {
  b2bua_->on_stray_response(std::move(resp), flow);
}

}  // namespace portico::runtime
