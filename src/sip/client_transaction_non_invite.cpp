// Client non-INVITE transactions (RFC 3261 §17.1.2).
//
//   Trying --Timer E (UDP: T1, 2T1, ... capped at T2)--> Trying; Timer F = 64*T1 --> 408
//      --1xx--> Proceeding (E continues every T2, F keeps running)
//      --final--> Completed: retransmitted finals are absorbed; Timer K = T4 (UDP) / 0 ends it

#include "transaction_internal.hpp"

namespace portico::sip {

void TransactionLayer::Impl::on_non_invite_response(ClientTxn& t, Message&& resp) {
  const int status = resp.status();
  const TxnId id = t.id;
  if (t.state == ClientState::Completed) {
    ++stats.retransmissions_absorbed;
    return;
  }
  if (status < 200) {
    t.state = ClientState::Proceeding;
    tu.on_response(id, std::move(resp));
    return;
  }
  t.state = ClientState::Completed;
  t.retransmit.cancel();
  t.timeout.cancel();
  Millis k = lifetime_for(t.reliable, t.cfg.t4);
  if (k == Millis{0}) {
    erase_client(id);
  } else {
    t.lifetime.start(k, guarded(*this, [id](Impl& self) { self.on_client_lifetime(id); }));
  }
  tu.on_response(id, std::move(resp));
}

}  // namespace portico::sip
