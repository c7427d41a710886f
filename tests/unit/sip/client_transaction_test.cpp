// Client transactions (RFC 3261 §17.1, RFC 6026): Timer A/B, Timer E capped at T2, Timer F,
// provisional handling, the ACK built for a non-2xx, Timers D/K/M, 2xx retransmissions in
// Accepted, stray responses, transport failures (503) and reliable transports.

#include "transaction_fixture.hpp"

namespace portico::sip::test {
namespace {

class ClientTransactionTest : public TransactionFixture {
 protected:
  transport::Destination dst = make_dst(transport::Protocol::Udp, "203.0.113.9", 5060);
};

std::string outbound(std::string_view method, std::string_view branch = "z9hG4bKcli1") {
  return std::string(method) + " sip:+15551234@carrier.example.net;user=phone SIP/2.0\r\n" +
         "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" + std::string(branch) + "\r\n"
         "Route: <sip:edge1.carrier.example.net;lr>\r\n"
         "Route: <sip:edge2.carrier.example.net;lr>\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:sbc@192.0.2.10>;tag=p1\r\n"
         "To: <sip:+15551234@carrier.example.net;user=phone>\r\n"
         "Call-ID: cli-1@192.0.2.10\r\n"
         "CSeq: 7 " + std::string(method) + "\r\n"
         "Contact: <sip:sbc@192.0.2.10:5060>\r\n"
         "Content-Length: 0\r\n"
         "\r\n";
}

std::string response(int status, std::string_view reason, std::string_view method,
                     std::string_view branch = "z9hG4bKcli1", std::string_view to_tag = "c9") {
  std::string to = "<sip:+15551234@carrier.example.net;user=phone>";
  if (!to_tag.empty()) {
    to += ";tag=" + std::string(to_tag);
  }
  return "SIP/2.0 " + std::to_string(status) + " " + std::string(reason) + "\r\n" +
         "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" + std::string(branch) + "\r\n"
         "From: <sip:sbc@192.0.2.10>;tag=p1\r\n"
         "To: " + to + "\r\n"
         "Call-ID: cli-1@192.0.2.10\r\n"
         "CSeq: 7 " + std::string(method) + "\r\n"
         "Content-Length: 0\r\n"
         "\r\n";
}

const transport::Flow kCarrier = make_flow(transport::Protocol::Udp, "203.0.113.9", 5060);

TEST_F(ClientTransactionTest, InviteTimerADoublesThenTimerBReports408) {
  TxnId id = layer.send_request(outbound("INVITE"), dst);
  EXPECT_NE(id, 0u);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data, outbound("INVITE"));
  EXPECT_EQ(transport.sent[0].dst.remote.to_string(), "203.0.113.9:5060");
  // Intervals 0.5, 1, 2, 4, 8, 16 s; the 32 s one would fire after Timer B = 64*T1.
  EXPECT_EQ(sends_during(Millis{31999}),
            (std::vector<long>{500, 1500, 3500, 7500, 15500, 31500}));
  EXPECT_TRUE(tu.events.empty());
  timers.advance(Millis{1});
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].kind, "failure");
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 408);
  EXPECT_EQ(layer.stats().client_timeouts, 1u);
  EXPECT_EQ(layer.stats().retransmissions_sent, 6u);
  for (const auto& s : transport.sent) {
    EXPECT_EQ(s.data, outbound("INVITE"));
  }
  expect_idle();
}

TEST_F(ClientTransactionTest, NonInviteTimerECappedAtT2ThenTimerF) {
  TxnId id = layer.send_request(outbound("OPTIONS"), dst);
  EXPECT_EQ(sends_during(Millis{32000}),
            (std::vector<long>{500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500,
                               31500}));
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 408);
  expect_idle();
}

TEST_F(ClientTransactionTest, NonInviteProvisionalSwitchesTimerEToT2) {
  TxnId id = layer.send_request(outbound("OPTIONS"), dst);
  timers.advance(Millis{700});
  EXPECT_EQ(transport.sent.size(), 2u);  // 0 and 500
  deliver(response(100, "Trying", "OPTIONS"), kCarrier);
  // Timer E was armed for 1500; from then on every T2 (§17.1.2.2), Timer F still at 32 s.
  EXPECT_EQ(sends_during(Millis{31300}),
            (std::vector<long>{800, 4800, 8800, 12800, 16800, 20800, 24800, 28800}));
  EXPECT_EQ(kinds(), (std::vector<std::string>{"response", "failure"}));
  EXPECT_EQ(tu.events[1].txn, id);
  EXPECT_EQ(tu.events[1].status, 408);
  expect_idle();
}

TEST_F(ClientTransactionTest, NonInviteFinalThenTimerKAbsorbsRetransmissions) {
  TxnId id = layer.send_request(outbound("OPTIONS"), dst);
  deliver(response(200, "OK", "OPTIONS"), kCarrier);
  deliver(response(200, "OK", "OPTIONS"), kCarrier);
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].kind, "response");
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 200);
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 1u);
  EXPECT_EQ(sends_during(Millis{4999}), std::vector<long>{});
  EXPECT_EQ(layer.client_count(), 1u);
  timers.advance(Millis{1});  // Timer K = T4
  expect_idle();
}

TEST_F(ClientTransactionTest, InviteProvisionalStopsTimersAAndB) {
  TxnId id = layer.send_request(outbound("INVITE"), dst);
  deliver(response(180, "Ringing", "INVITE"), kCarrier);
  EXPECT_EQ(timers.armed(), 0u);
  EXPECT_EQ(sends_during(Millis{40000}), std::vector<long>{});
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 180);
  EXPECT_EQ(layer.client_count(), 1u);
}

TEST_F(ClientTransactionTest, Invite2xxAcceptedPassesRetransmissionsUntilTimerM) {
  TxnId id = layer.send_request(outbound("INVITE"), dst);
  transport.take();
  deliver(response(200, "OK", "INVITE"), kCarrier);
  timers.advance(Millis{1000});
  deliver(response(200, "OK", "INVITE"), kCarrier);                          // retransmission
  deliver(response(200, "OK", "INVITE", "z9hG4bKcli1", "fork2"), kCarrier);  // another fork
  deliver(response(486, "Busy Here", "INVITE"), kCarrier);                    // ignored now
  EXPECT_TRUE(transport.sent.empty());  // the ACK for a 2xx is the TU's
  ASSERT_EQ(tu.events.size(), 3u);
  for (const auto& e : tu.events) {
    EXPECT_EQ(e.kind, "response");
    EXPECT_EQ(e.txn, id);
    EXPECT_EQ(e.status, 200);
  }
  timers.advance(Millis{30999});
  EXPECT_EQ(layer.client_count(), 1u);
  timers.advance(Millis{1});  // Timer M = 64*T1 after the first 2xx
  expect_idle();
  deliver(response(200, "OK", "INVITE"), kCarrier);
  EXPECT_EQ(tu.events.back().kind, "stray");
}

TEST_F(ClientTransactionTest, InviteNon2xxIsAcknowledgedHere) {
  TxnId id = layer.send_request(outbound("INVITE"), dst);
  transport.take();
  deliver(response(486, "Busy Here", "INVITE"), kCarrier);
  const std::string ack =
      "ACK sip:+15551234@carrier.example.net;user=phone SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcli1\r\n"
      "Route: <sip:edge1.carrier.example.net;lr>\r\n"
      "Route: <sip:edge2.carrier.example.net;lr>\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:sbc@192.0.2.10>;tag=p1\r\n"
      "To: <sip:+15551234@carrier.example.net;user=phone>;tag=c9\r\n"
      "Call-ID: cli-1@192.0.2.10\r\n"
      "CSeq: 7 ACK\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data, ack);
  EXPECT_EQ(transport.sent[0].dst.remote.to_string(), "203.0.113.9:5060");
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 486);
  // A retransmitted final gets the same ACK and is not passed up again.
  timers.advance(Millis{2000});
  deliver(response(486, "Busy Here", "INVITE"), kCarrier);
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(transport.sent[1].data, ack);
  EXPECT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 1u);
  timers.advance(Millis{29999});
  EXPECT_EQ(layer.client_count(), 1u);
  timers.advance(Millis{1});  // Timer D = 32 s after the first final
  expect_idle();
}

TEST_F(ClientTransactionTest, TimerDScalesWithT1) {
  layer.set_config(TimerConfig{Millis{50}, Millis{400}, Millis{500}});
  layer.send_request(outbound("INVITE"), dst);
  deliver(response(486, "Busy Here", "INVITE"), kCarrier);
  timers.advance(Millis{3199});
  EXPECT_EQ(layer.client_count(), 1u);
  timers.advance(Millis{1});  // 64 * 50 ms
  expect_idle();
}

TEST_F(ClientTransactionTest, CancelIsItsOwnTransactionOnTheSameBranch) {
  TxnId invite = layer.send_request(outbound("INVITE"), dst);
  deliver(response(180, "Ringing", "INVITE"), kCarrier);
  TxnId cancel = layer.send_request(outbound("CANCEL"), dst);
  EXPECT_NE(cancel, invite);
  deliver(response(200, "OK", "CANCEL"), kCarrier);
  deliver(response(487, "Request Terminated", "INVITE"), kCarrier);
  ASSERT_EQ(tu.events.size(), 3u);
  EXPECT_EQ(tu.events[1].txn, cancel);
  EXPECT_EQ(tu.events[1].method, "CANCEL");
  EXPECT_EQ(tu.events[2].txn, invite);
  EXPECT_EQ(tu.events[2].status, 487);
  timers.advance(Millis{32000});
  expect_idle();
}

TEST_F(ClientTransactionTest, UnmatchedResponsesAreStray) {
  deliver(response(200, "OK", "INVITE", "z9hG4bKnobody"), kCarrier);
  layer.send_request(outbound("INVITE"), dst);
  deliver(response(200, "OK", "BYE"), kCarrier);  // same branch, other method
  EXPECT_EQ(kinds(), (std::vector<std::string>{"stray", "stray"}));
}

TEST_F(ClientTransactionTest, SendRefusedReports503FromATimer) {
  transport.accept_sends = false;
  TxnId id = layer.send_request(outbound("INVITE"), dst);
  EXPECT_TRUE(tu.events.empty());  // never re-entrant from send_request()
  timers.advance(Millis{0});
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].kind, "failure");
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 503);
  EXPECT_EQ(layer.stats().transport_errors, 1u);
  expect_idle();
}

TEST_F(ClientTransactionTest, AsynchronousSendFailureReports503) {
  TxnId id = layer.send_request(outbound("OPTIONS"), dst);
  ASSERT_EQ(transport.sent.size(), 1u);
  ASSERT_TRUE(static_cast<bool>(transport.sent[0].on_failure));
  transport.sent[0].on_failure();
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 503);
  expect_idle();
  transport.sent[0].on_failure();  // late duplicate: ignored
  EXPECT_EQ(tu.events.size(), 1u);
}

TEST_F(ClientTransactionTest, FailureCallbackAfterLayerIsGoneIsHarmless) {
  transport::SendFailure late;
  {
    TransactionLayer other(timers, transport, TimerConfig{}, tu);
    other.send_request(outbound("OPTIONS"), dst);
    late = transport.sent.back().on_failure;
  }
  EXPECT_EQ(timers.armed(), 0u);
  late();
  EXPECT_TRUE(tu.events.empty());
}

TEST_F(ClientTransactionTest, ReliableTransportHasNoRetransmissions) {
  auto tcp = make_dst(transport::Protocol::Tcp, "203.0.113.9", 5060);
  TxnId id = layer.send_request(outbound("INVITE"), tcp);
  EXPECT_EQ(timers.armed(), 1u);  // Timer B only
  EXPECT_EQ(sends_during(Millis{32000}), std::vector<long>{});
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].status, 408);
  EXPECT_EQ(tu.events[0].txn, id);
  expect_idle();

  layer.send_request(outbound("INVITE", "z9hG4bKcli2"), tcp);
  transport.take();
  deliver(response(503, "Service Unavailable", "INVITE", "z9hG4bKcli2"), kCarrier);
  ASSERT_EQ(transport.sent.size(), 1u);  // the ACK
  EXPECT_EQ(transport.sent[0].data.substr(0, 4), "ACK ");
  expect_idle();  // Timer D = 0

  layer.send_request(outbound("OPTIONS", "z9hG4bKcli3"), tcp);
  deliver(response(200, "OK", "OPTIONS", "z9hG4bKcli3"), kCarrier);
  expect_idle();  // Timer K = 0
}

TEST_F(ClientTransactionTest, UnparseableRequestFailsAndAckIsStateless) {
  TxnId bad = layer.send_request("not sip at all", dst);
  EXPECT_TRUE(transport.sent.empty());
  timers.advance(Millis{0});
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].txn, bad);
  EXPECT_EQ(tu.events[0].status, 503);
  std::string ack = outbound("ACK");
  EXPECT_EQ(layer.send_request(ack, dst), 0u);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data, ack);
  layer.send_stateless("raw bytes", dst);
  EXPECT_EQ(transport.sent.back().data, "raw bytes");
  expect_idle();
}

TEST_F(ClientTransactionTest, SetConfigAppliesToNewTransactions) {
  layer.set_config(TimerConfig{Millis{100}, Millis{400}, Millis{1000}});
  EXPECT_EQ(layer.config().t1, Millis{100});
  layer.send_request(outbound("OPTIONS"), dst);
  EXPECT_EQ(sends_during(Millis{6400}),
            (std::vector<long>{100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900,
                               4300, 4700, 5100, 5500, 5900, 6300}));
  EXPECT_EQ(tu.events.size(), 1u);  // Timer F = 64*T1 = 6.4 s
  expect_idle();
}

// The branch alone is no proof; a 200 from another address (or another port of
// the same host) must not complete the transaction, and the real answer still does.
TEST_F(ClientTransactionTest, ResponseFromAnotherFlowIsDroppedAndCounted) {
  TxnId id = layer.send_request(outbound("INVITE"), dst);
  deliver(response(200, "OK", "INVITE"), make_flow(transport::Protocol::Udp, "203.0.113.66", 5060));
  deliver(response(200, "OK", "INVITE"), make_flow(transport::Protocol::Udp, "203.0.113.9", 5070));
  EXPECT_TRUE(tu.events.empty());
  EXPECT_EQ(layer.stats().responses_wrong_source, 2u);
  EXPECT_EQ(layer.client_count(), 1u);
  deliver(response(200, "OK", "INVITE"), kCarrier);
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].txn, id);
  EXPECT_EQ(tu.events[0].status, 200);
}

TEST_F(ClientTransactionTest, ResponseOnTheRequestsConnectionIsAccepted) {
  auto tcp = make_dst(transport::Protocol::Tcp, "198.51.100.20", 40100);
  tcp.connection = transport::ConnectionRef{0, 7};
  layer.send_request(outbound("OPTIONS"), tcp);
  // Same address, another connection and port: a forgery.
  deliver(response(200, "OK", "OPTIONS"),
          make_flow(transport::Protocol::Tcp, "198.51.100.20", 40200, 8));
  EXPECT_TRUE(tu.events.empty());
  deliver(response(200, "OK", "OPTIONS"),
          make_flow(transport::Protocol::Tcp, "198.51.100.20", 40100, 7));
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].status, 200);
}

}  // namespace
}  // namespace portico::sip::test
