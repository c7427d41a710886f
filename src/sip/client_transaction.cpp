// Client transactions, common part (RFC 3261 §17.1): starting one, Timer A/E retransmission,
// Timer B/F timeout, the end-of-life timers, and transport failures (§17.1.4: reported to the
// TU as 503, like §8.1.3.1 says).
//
// The TU's request bytes are parsed once here to learn the branch and method (the match key,
// §17.1.3) and, for INVITE, what a non-2xx ACK must repeat.

#include <algorithm>

#include "transaction_internal.hpp"

namespace portico::sip {
namespace {

std::string start_line_uri(std::string_view raw) {
  std::string_view line = raw.substr(0, raw.find_first_of("\r\n"));
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) {
    return {};
  }
  return std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
}

AckFields ack_fields(const Message& req) {
  AckFields f;
  f.request_uri = start_line_uri(req.raw());
  f.via = req.top_via().raw;
  for (const auto& r : req.routes()) {
    f.routes.push_back(r.raw);
  }
  f.from = req.from().raw;
  f.call_id = req.call_id();
  f.cseq = req.cseq();
  return f;
}

}  // namespace

TxnId TransactionLayer::Impl::start_client(std::string bytes, const transport::Destination& dst) {
  auto parsed = Message::parse(bytes);
  if (parsed.ok() && parsed->is_request() && parsed->method() == "ACK") {
    send(dst, bytes);  // an ACK has no client transaction (§17.1.1.3 / §13.2.2.4)
    return 0;
  }
  auto t = std::make_unique<ClientTxn>(timers);
  TxnId id = new_id();
  t->id = id;
  t->cfg = config;
  t->dst = dst;
  t->reliable = transport::is_reliable(dst.protocol);
  t->bytes = std::move(bytes);
  bool usable = parsed.ok() && parsed->is_request() && !parsed->vias().empty();
  if (usable) {
    t->invite = parsed->method() == "INVITE";
    t->key = parsed->top_via().branch + "|" + parsed->method();
    t->state = t->invite ? ClientState::Calling : ClientState::Trying;
    if (t->invite) {
      t->ack_fields = ack_fields(*parsed);
    }
    client_index[t->key] = id;
  }
  ClientTxn& ref = *t;
  clients.emplace(id, std::move(t));
  if (!usable) {
    // Responses could never be matched: fail it, from a timer (no re-entrant callback).
    ref.lifetime.start(Millis{0}, guarded(*this, [id](Impl& self) { self.fail_client(id, 503); }));
    return id;
  }
  if (!ref.reliable) {
    ref.interval = ref.cfg.t1;  // Timer A / E start at T1
    ref.retransmit.start(ref.interval,
                         guarded(*this, [id](Impl& self) { self.on_timer_retransmit(id); }));
  }
  ref.timeout.start(64 * ref.cfg.t1,
                    guarded(*this, [id](Impl& self) { self.on_timer_timeout(id); }));
  send_client(ref);
  return id;
}

void TransactionLayer::Impl::send_client(ClientTxn& t) {
  TxnId id = t.id;
  auto on_failure = guarded(*this, [id](Impl& self) { self.on_send_failure(id); });
  if (!transport.send(t.dst, t.bytes, on_failure)) {
    on_send_failure(id);
  }
}

void TransactionLayer::Impl::on_send_failure(TxnId id) {
  ++stats.transport_errors;
  ClientTxn* t = client(id);
  if (t == nullptr || t->state == ClientState::Accepted || t->state == ClientState::Completed) {
    return;  // a final response already arrived; nothing left to report
  }
  if (api_depth > 0) {
    // Inside a method the TU called: report from a zero-delay timer instead.
    t->retransmit.cancel();
    t->timeout.cancel();
    t->lifetime.start(Millis{0}, guarded(*this, [id](Impl& self) { self.fail_client(id, 503); }));
    return;
  }
  fail_client(id, 503);
}

void TransactionLayer::Impl::fail_client(TxnId id, int status) {
  ClientTxn* t = client(id);
  if (t == nullptr || t->state == ClientState::Accepted || t->state == ClientState::Completed) {
    return;
  }
  erase_client(id);
  tu.on_client_failure(id, status);
}

void TransactionLayer::Impl::on_timer_retransmit(TxnId id) {
  ClientTxn* t = client(id);
  if (t == nullptr) {
    return;
  }
  t->retransmit.fired();
  bool calling = t->state == ClientState::Calling;
  bool trying = t->state == ClientState::Trying;
  bool proceeding = !t->invite && t->state == ClientState::Proceeding;
  if (!calling && !trying && !proceeding) {
    return;
  }
  // Timer A doubles without a cap (§17.1.1.2); Timer E doubles up to T2, and is T2 once a
  // provisional response arrived (§17.1.2.2).
  if (t->invite) {
    t->interval = 2 * t->interval;
  } else {
    t->interval = proceeding ? t->cfg.t2 : std::min(2 * t->interval, t->cfg.t2);
  }
  t->retransmit.start(t->interval,
                      guarded(*this, [id](Impl& self) { self.on_timer_retransmit(id); }));
  ++stats.retransmissions_sent;
  send_client(*t);  // may end the transaction: nothing after this
}

void TransactionLayer::Impl::on_timer_timeout(TxnId id) {
  ClientTxn* t = client(id);
  if (t == nullptr) {
    return;
  }
  t->timeout.fired();
  // Timer B fires only in Calling (§17.1.1.2); Timer F in Trying or Proceeding (§17.1.2.2).
  bool pending = t->state == ClientState::Calling || t->state == ClientState::Trying ||
                 (!t->invite && t->state == ClientState::Proceeding);
  if (!pending) {
    return;
  }
  ++stats.client_timeouts;
  erase_client(id);
  tu.on_client_failure(id, 408);
}

void TransactionLayer::Impl::on_client_lifetime(TxnId id) {
  if (ClientTxn* t = client(id)) {
    t->lifetime.fired();
    erase_client(id);  // Timer D, K or M: the transaction is over
  }
}

void TransactionLayer::Impl::on_client_response(ClientTxn& t, Message&& resp) {
  if (t.invite) {
    on_invite_response(t, std::move(resp));
  } else {
    on_non_invite_response(t, std::move(resp));
  }
}

}  // namespace portico::sip
