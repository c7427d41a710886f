// Client INVITE transactions (RFC 3261 §17.1.1, RFC 6026 §8.4).
//
//   Calling --Timer A (UDP: T1, 2T1, 4T1, ...)--> Calling; Timer B = 64*T1 --> 408, gone
//      --1xx--> Proceeding (A and B stop; the TU's Timer C governs ringing)
//      --2xx--> Accepted: every 2xx (retransmissions, forks) goes to the TU, which sends the
//               ACK itself; Timer M = 64*T1 ends it
//      --3xx-6xx--> Completed: the ACK is built and sent here (hop-by-hop, §17.1.1.3);
//               retransmitted finals get the same ACK; Timer D = 64*T1 (UDP) / 0 ends it.
//               RFC 3261 says "> 32 s", which is 64*T1 at the default T1 of 500 ms; scaling it
//               with T1 lets an operator who shortens T1 on a fast network free state sooner.

#include "transaction_internal.hpp"

namespace portico::sip {
namespace {

/// §17.1.1.3: Request-URI, Call-ID, From, CSeq number and top Via of the INVITE, To of the
/// response, the INVITE's Route set, method ACK.
std::string build_ack(const AckFields& f, const Message& resp) {
  auto b = MessageBuilder::request("ACK", f.request_uri);
  b.header("Via", f.via);
  for (const auto& r : f.routes) {
    b.header("Route", r);
  }
  b.header("Max-Forwards", "70");
  b.header("From", f.from);
  b.header("To", resp.to().raw);
  b.header("Call-ID", f.call_id);
  b.header("CSeq", std::to_string(f.cseq) + " ACK");
  return b.build();
}

}  // namespace

void TransactionLayer::Impl::on_invite_response(ClientTxn& t, Message&& resp) {
  const int status = resp.status();
  const TxnId id = t.id;
  if (t.state == ClientState::Accepted) {
    if (status >= 200 && status < 300) {
      tu.on_response(id, std::move(resp));
    }
    return;
  }
  if (t.state == ClientState::Completed) {
    if (status >= 300) {
      ++stats.retransmissions_absorbed;
      send(t.dst, t.ack);
    }
    return;
  }
  t.retransmit.cancel();
  t.timeout.cancel();
  if (status < 200) {
    t.state = ClientState::Proceeding;
  } else if (status < 300) {
    t.state = ClientState::Accepted;
    t.lifetime.start(64 * t.cfg.t1,
                     guarded(*this, [id](Impl& self) { self.on_client_lifetime(id); }));
  } else {
    t.state = ClientState::Completed;
    t.ack = build_ack(t.ack_fields, resp);
    send(t.dst, t.ack);
    Millis d = lifetime_for(t.reliable, 64 * t.cfg.t1);
    if (d == Millis{0}) {
      erase_client(id);
    } else {
      t.lifetime.start(d, guarded(*this, [id](Impl& self) { self.on_client_lifetime(id); }));
    }
  }
  tu.on_response(id, std::move(resp));
}

}  // namespace portico::sip
