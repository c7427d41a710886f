#pragma once
// The SIP front door of one shard: the one way in for SIP messages, and the one owner of the
// shard's transaction layer and of the tracing transport every SIP send goes down through.
//
// One inbound message, in a straight line:
//   ShardTransport (frames bytes) -> dispatch(): sip::owner_shard (shard_routing.hpp); another
//   shard's message is handed to `to_owner` (ShardSet::invoke_on) and arrives in its deliver()
//   -> deliver(): inbound counters, `sip.trace` log -> ingress gate (header caps, unknown
//   sources: refused before any parse or transaction, ingress_gate.hpp) -> call traces
//   -> parse (unparseable: 400 from the raw bytes, or drop) -> validate (invalid: stateless 400 or drop) -> message counts
//   -> sip::TransactionLayer::receive() (retransmissions absorbed, 100 Trying)
//   -> this object, as the layer's TransactionUser:
//        REGISTER without a To tag on the registration realm  -> registrar::Registrar
//        responses/failures of the registrar's client transactions -> registrar::Registrar
//        everything else                                         -> b2bua::B2bua
// Sends go the other way: B2bua/Registrar -> TransactionLayer -> trace::TracingTransport (count,
// log, trace) -> ShardTransport. Nothing below calls back up into the runtime.
//
// Threads (docs/style.md, "Threading"): every method runs on the shard's own thread; other
// shards reach deliver() only by a post (ShardSet::invoke_on). Per field below: RO = set in the
// constructor or connect() before traffic flows, then only read; shard-local = read and written
// on this shard's thread only.

#include <cstdint>
#include <functional>
#include <memory>

#include "portico/common/timer_service.hpp"
#include "portico/edge/source_guard.hpp"
#include "portico/policy/model.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/trace/call_traces.hpp"
#include "portico/trace/message_counts.hpp"
#include "portico/trace/tracing_transport.hpp"
#include "portico/transport/transport.hpp"

namespace portico::b2bua {
class B2bua;
}  // namespace portico::b2bua

namespace portico::registrar {
class Registrar;
class TrunkRegistrations;
}  // namespace portico::registrar

namespace portico::runtime {

/// Inbound counters of one shard (parse failures and drops by reason). Shard-local.
struct InboundStats {
  std::uint64_t messages = 0;
  std::uint64_t unparseable = 0;  // libosip2 could not parse: dropped
  std::uint64_t invalid = 0;      // parsed but invalid (missing header...): 400 or dropped
  std::uint64_t answered_400 = 0;
  std::uint64_t dropped = 0;
  // Refused before the parse (policy `ingress`, runtime/ingress_gate.hpp).
  std::uint64_t too_many_headers = 0;         // over ingress.max_headers: 513 or dropped
  std::uint64_t too_many_vias = 0;            // over ingress.max_vias: 513 or dropped
  std::uint64_t unknown_source_rejected = 0;  // one stateless 403
  std::uint64_t unknown_source_dropped = 0;   // nothing sent
};

class IngressGate;

class SipFrontDoor final : public sip::TransactionUser {
 public:
  /// Hands a message to shard `owner`'s front door, on that shard's thread.
  using ToOwner = std::function<void(std::uint16_t owner, transport::Inbound&& in)>;

  /// `wire` (the shard's transport) and `traces` outlive this object.
  SipFrontDoor(std::uint16_t shard, std::uint16_t shard_count, TimerService& timers,
               transport::Transport& wire, trace::CallTraces& traces,
               std::shared_ptr<const policy::PolicySnapshot> policy, ToOwner to_owner);
  ~SipFrontDoor() override;
  SipFrontDoor(const SipFrontDoor&) = delete;
  SipFrontDoor& operator=(const SipFrontDoor&) = delete;

  /// The two users of the layer; both outlive the traffic (set once, before it flows).
  void connect(b2bua::B2bua& b2bua, registrar::Registrar& registrar);
  /// Portico's own registrations to trunks, on the shard that holds them (null elsewhere):
  /// it gets the responses and failures of its REGISTERs first. Set before traffic flows.
  void set_trunk_registrations(registrar::TrunkRegistrations* trunks) { trunks_ = trunks; }

  /// The transaction layer (owned here): the B2BUA and the registrar send through it.
  sip::TransactionLayer& layer() { return *layer_; }
  const sip::TransactionLayer& layer() const { return *layer_; }
  /// The per-source limits and bans checked before anything is parsed (policy `rate_limits`).
  edge::SourceGuard& source_guard() { return guard_; }
  const edge::SourceGuard& source_guard() const { return guard_; }
  /// What every SIP send goes through (counted, logged, traced).
  transport::Transport& transport() { return tracing_; }

  /// A message the shard's transport framed: delivered here, or handed to the shard that owns
  /// it (by the rules of sip/shard_routing.hpp).
  void dispatch(transport::Inbound&& in);
  /// A message this shard owns: trace, parse, validate, then the transaction layer.
  void deliver(transport::Inbound&& in);
  /// A new policy: registration realm, `server.trace`, the transaction timers.
  void set_policy(std::shared_ptr<const policy::PolicySnapshot> policy);

  const InboundStats& stats() const { return stats_; }
  const trace::MessageCounts& message_counts() const { return counts_; }

  // sip::TransactionUser
  void on_request(sip::TxnId txn, sip::Message&& req, const transport::Flow& flow) override;
  void on_ack(sip::Message&& ack, const transport::Flow& flow) override;
  void on_cancel(sip::TxnId invite_txn, sip::Message&& cancel) override;
  void on_response(sip::TxnId txn, sip::Message&& resp) override;
  void on_client_failure(sip::TxnId txn, int status) override;
  void on_server_timeout(sip::TxnId txn) override;
  void on_stray_response(sip::Message&& resp, const transport::Flow& flow) override;

 private:
  /// Unparseable bytes: answered 400 straight back when a Via can be read, else dropped.
  void reject_unparseable(const transport::Inbound& in, const std::string& reason,
                          const std::string& detail);
  /// Parsed but invalid: a stateless error response for a request with a Via, else dropped.
  void reject_invalid(const sip::Message& msg, const transport::Flow& flow,
                      const std::string& reason, const std::string& detail);

  std::uint16_t shard_;                                   // RO
  std::uint16_t shard_count_;                             // RO
  std::shared_ptr<const policy::PolicySnapshot> policy_;  // shard-local; swapped on reload
  ToOwner to_owner_;                                      // RO; posts, never runs inline
  trace::CallTraces& traces_;                             // shard-local (the shard's)
  trace::MessageCounts counts_;                           // shard-local; in here, out in tracing_
  trace::TracingTransport tracing_;                       // shard-local; wraps the shard's wire
  std::unique_ptr<sip::TransactionLayer> layer_;          // shard-local; its user is *this
  b2bua::B2bua* b2bua_ = nullptr;                         // RO after connect(); not owned
  registrar::Registrar* registrar_ = nullptr;             // RO after connect(); not owned
  registrar::TrunkRegistrations* trunks_ = nullptr;       // RO once set; not owned; may be null
  InboundStats stats_;                                    // shard-local
  edge::SourceGuard guard_;                               // shard-local; bans posted by Shard
  std::unique_ptr<IngressGate> gate_;                     // shard-local; checks before the parse
};

}  // namespace portico::runtime
