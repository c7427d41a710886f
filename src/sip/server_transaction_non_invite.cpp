// Server non-INVITE transactions (RFC 3261 §17.2.2) and CANCEL (§9.2).
//
//   Trying --1xx--> Proceeding --final--> Completed --Timer J (64*T1 UDP, 0 reliable)--> gone
//
// Retransmitted requests are absorbed: nothing is sent in Trying, the last response otherwise.
// A CANCEL is its own non-INVITE transaction (same branch, method CANCEL). When it matches a
// server INVITE transaction the layer answers it 200 itself and, if the INVITE has no final
// response yet, tells the TU, which answers the INVITE 487. A CANCEL that matches nothing goes
// to the TU as an ordinary request (it answers 481).

#include "transaction_internal.hpp"

namespace portico::sip {

ServerTxn& TransactionLayer::Impl::add_server(const Message& req, const transport::Flow& flow,
                                              std::string key, bool invite) {
  auto t = std::make_unique<ServerTxn>(timers);
  t->id = new_id();
  t->invite = invite;
  t->pending_invite = invite;
  t->cfg = config;
  t->key = std::move(key);
  t->basis = response_basis(req);
  t->flow = flow;
  const Via& via = req.top_via();
  t->dst = response_destination(via, flow);
  t->top_via = via_with_received(via, flow.remote.address.to_string(), flow.remote.port);
  t->state = invite ? ServerState::Proceeding : ServerState::Trying;
  ServerTxn& ref = *t;
  server_index[ref.key] = ref.id;
  servers.emplace(ref.id, std::move(t));
  count_server(ref, +1);
  return ref;
}

void TransactionLayer::Impl::create_server_non_invite(Message&& req, const transport::Flow& flow,
                                                      std::string key) {
  if (!admit_server(req, flow, false)) {
    return;
  }
  TxnId id = add_server(req, flow, std::move(key), false).id;
  tu.on_request(id, std::move(req), flow);
}

void TransactionLayer::Impl::respond_txn(ServerTxn& t, const ResponseParts& parts) {
  if (parts.status < 100 || parts.status > 699) {
    return;
  }
  std::string bytes = build_response(t.basis, t.top_via, parts);
  if (t.invite) {
    respond_invite(t, std::move(bytes), parts.status);
  } else {
    respond_non_invite(t, std::move(bytes), parts.status);
  }
}

void TransactionLayer::Impl::respond_non_invite(ServerTxn& t, std::string bytes, int status) {
  if (t.state != ServerState::Trying && t.state != ServerState::Proceeding) {
    return;  // §17.2.2: any other final from the TU is discarded once Completed
  }
  t.last_response = std::move(bytes);
  send(t.dst, t.last_response);
  if (status < 200) {
    t.state = ServerState::Proceeding;
    return;
  }
  t.state = ServerState::Completed;
  Millis j = lifetime_for(transport::is_reliable(t.flow.protocol), 64 * t.cfg.t1);
  if (j == Millis{0}) {
    erase_server(t.id);  // Timer J is zero on reliable transports
    return;
  }
  TxnId id = t.id;
  t.lifetime.start(j, guarded(*this, [id](Impl& self) { self.on_server_lifetime(id); }));
}

void TransactionLayer::Impl::handle_cancel(Message&& cancel, const transport::Flow& flow,
                                           std::string key) {
  // §9.2: the CANCEL matches the INVITE with the same branch/sent-by (or, for RFC 2543 peers,
  // the same identifying fields) but method INVITE, from the same source (server_key()).
  std::string invite_key = server_key(cancel, "INVITE", cancel.to().tag, flow);
  auto it = server_index.find(invite_key);
  ServerTxn* invite = it == server_index.end() ? nullptr : server(it->second);
  if (invite == nullptr) {
    create_server_non_invite(std::move(cancel), flow, std::move(key));
    return;
  }
  TxnId invite_id = invite->id;
  bool pending = invite->state == ServerState::Proceeding;
  // Not capped: it can only end a transaction the caps already admitted.
  ServerTxn& t = add_server(cancel, flow, std::move(key), false);
  ResponseParts ok;
  ok.status = 200;
  respond_txn(t, ok);  // may end `t` at once on a reliable transport
  if (pending) {
    tu.on_cancel(invite_id, std::move(cancel));
  }
}

void TransactionLayer::Impl::on_server_lifetime(TxnId id) {
  ServerTxn* t = server(id);
  if (t == nullptr) {
    return;
  }
  t->lifetime.fired();
  // Timer H (Completed INVITE) and Timer L (Accepted without ACK) mean the ACK never came.
  bool timed_out = t->invite && (t->state == ServerState::Completed ||
                                 (t->state == ServerState::Accepted && !t->acked));
  erase_server(id);
  if (timed_out) {
    ++stats.server_timeouts;
    tu.on_server_timeout(id);
  }
}

}  // namespace portico::sip
