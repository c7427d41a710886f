// Server INVITE transactions (RFC 3261 §17.2.1, RFC 6026 §7.1).
//
//   (INVITE) --100 Trying--> Proceeding --1xx--> Proceeding
//       --2xx--> Accepted: 2xx re-sent at T1, 2T1, ... capped at T2 (UDP, §13.3.1.4) until
//                the ACK (matched by Call-ID, CSeq number and From tag); Timer L = 64*T1 ends
//                it, reporting on_server_timeout if no ACK came
//       --3xx-6xx--> Completed: Timer G re-sends (UDP), Timer H = 64*T1 ends it without ACK
//                --ACK--> Confirmed: Timer I = T4 (UDP) / 0 (reliable) absorbs ACK copies
//
// The 100 Trying is sent at once (§17.2.1: the TU may take longer than 200 ms).

#include <algorithm>

#include "transaction_internal.hpp"

namespace portico::sip {
namespace {

std::string ack_key(const Message& m) {
  return m.call_id() + "|" + std::to_string(m.cseq()) + "|" + m.from().tag;
}

}  // namespace

void TransactionLayer::Impl::create_server_invite(Message&& req, const transport::Flow& flow,
                                                  std::string key) {
  if (!admit_server(req, flow, true)) {
    return;
  }
  ServerTxn& t = add_server(req, flow, std::move(key), true);
  t.ack_key = ack_key(req);
  TxnId id = t.id;
  ResponseParts trying;
  trying.status = 100;
  respond_txn(t, trying);
  tu.on_request(id, std::move(req), flow);
}

void TransactionLayer::Impl::respond_invite(ServerTxn& t, std::string bytes, int status) {
  bool reliable = transport::is_reliable(t.flow.protocol);
  if (t.state == ServerState::Accepted && status >= 200 && status < 300) {
    // RFC 6026 §7.1: a 2xx the TU re-sends in Accepted goes straight to the transport.
    t.last_response = std::move(bytes);
    send(t.dst, t.last_response);
    return;
  }
  if (t.state != ServerState::Proceeding) {
    return;
  }
  t.last_response = std::move(bytes);
  send(t.dst, t.last_response);
  if (status < 200) {
    return;
  }
  invite_answered(t);
  TxnId id = t.id;
  if (status < 300) {
    t.state = ServerState::Accepted;
    accepted_index[t.ack_key] = id;
  } else {
    t.state = ServerState::Completed;
  }
  if (!reliable) {
    t.interval = t.cfg.t1;
    t.retransmit.start(t.interval, guarded(*this, [id](Impl& self) { self.on_timer_g(id); }));
  }
  // Timer L (Accepted) and Timer H (Completed) are both 64*T1 on every transport.
  t.lifetime.start(64 * t.cfg.t1,
                   guarded(*this, [id](Impl& self) { self.on_server_lifetime(id); }));
}

void TransactionLayer::Impl::on_timer_g(TxnId id) {
  ServerTxn* t = server(id);
  if (t == nullptr) {
    return;
  }
  t->retransmit.fired();
  if (t->state != ServerState::Completed && t->state != ServerState::Accepted) {
    return;
  }
  ++stats.retransmissions_sent;
  t->interval = std::min(2 * t->interval, t->cfg.t2);
  t->retransmit.start(t->interval, guarded(*this, [id](Impl& self) { self.on_timer_g(id); }));
  send(t->dst, t->last_response);
}

void TransactionLayer::Impl::on_ack_for_server(Message&& ack, const transport::Flow& flow) {
  // An ACK with the INVITE's branch acknowledges a non-2xx (§17.2.1) and stays here. RFC 2543
  // ACKs carry the To tag of our response, so the INVITE's own (empty) tag is tried as well.
  std::string key = server_key(ack, "ACK", ack.to().tag, flow);
  auto it = server_index.find(key);
  if (it == server_index.end() && !ack.to().tag.empty()) {
    it = server_index.find(server_key(ack, "ACK", "", flow));
  }
  ServerTxn* t = it == server_index.end() ? nullptr : server(it->second);
  if (t != nullptr && t->state == ServerState::Completed) {
    t->state = ServerState::Confirmed;
    t->retransmit.cancel();
    TxnId id = t->id;
    Millis i = lifetime_for(transport::is_reliable(t->flow.protocol), t->cfg.t4);
    if (i == Millis{0}) {
      erase_server(id);
    } else {
      t->lifetime.start(i, guarded(*this, [id](Impl& self) { self.on_server_lifetime(id); }));
    }
    return;
  }
  if (t != nullptr && t->state == ServerState::Confirmed) {
    ++stats.retransmissions_absorbed;
    return;
  }
  // An ACK for a 2xx is end-to-end (§13.2.2.4, new branch): it stops the 2xx retransmission
  // of the Accepted transaction it matches, which lives on until Timer L (RFC 6026 §7.1).
  if (auto a = accepted_index.find(ack_key(ack)); a != accepted_index.end()) {
    if (ServerTxn* accepted = server(a->second)) {
      accepted->acked = true;
      accepted->retransmit.cancel();
    }
  }
  tu.on_ack(std::move(ack), flow);
}

}  // namespace portico::sip
