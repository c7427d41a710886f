// Server transactions (RFC 3261 §17.2, RFC 6026): 100 Trying, absorption of retransmitted
// requests, 2xx retransmission until the ACK / Timer L, Timer G/H/I for non-2xx finals,
// Timer J, CANCEL matching, RFC 2543 matching, reliable transports, stateless replies.

#include "transaction_fixture.hpp"

namespace portico::sip::test {
namespace {

std::string request(std::string_view method, std::string_view branch = "z9hG4bKsrv1",
                    std::string_view cseq_method = "", std::string_view to_tag = "",
                    std::string_view proto = "UDP") {
  std::string cm(cseq_method.empty() ? method : cseq_method);
  std::string to = "<sip:bob@example.com>";
  if (!to_tag.empty()) {
    to += ";tag=" + std::string(to_tag);
  }
  std::string via = "SIP/2.0/" + std::string(proto) + " 10.1.1.1:4540";
  if (!branch.empty()) {
    via += ";branch=" + std::string(branch);
  }
  return std::string(method) + " sip:bob@example.com SIP/2.0\r\n" + "Via: " + via +
         ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "To: " + to + "\r\n"
         "From: <sip:alice@example.com>;tag=a1\r\n"
         "Call-ID: srv-1\r\n"
         "CSeq: 10 " + cm + "\r\n"
         "Content-Length: 0\r\n"
         "\r\n";
}

const std::string kTopVia =
    "Via: SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bKsrv1;received=198.51.100.7;rport=5062\r\n";

std::string expected_response(std::string_view status_line, std::string_view to,
                              std::string_view cseq = "10 INVITE") {
  return std::string(status_line) + "\r\n" + kTopVia +
         "From: <sip:alice@example.com>;tag=a1\r\n"
         "To: " + std::string(to) + "\r\n"
         "Call-ID: srv-1\r\n"
         "CSeq: " + std::string(cseq) + "\r\n"
         "Content-Length: 0\r\n\r\n";
}

class ServerTransactionTest : public TransactionFixture {};

ResponseParts parts(int status, std::string to_tag = "b1") {
  ResponseParts p;
  p.status = status;
  p.to_tag = std::move(to_tag);
  return p;
}

TEST_F(ServerTransactionTest, InviteSends100TryingAtOnceAndReportsRequest) {
  deliver(request("INVITE"), udp);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data,
            expected_response("SIP/2.0 100 Trying", "<sip:bob@example.com>"));
  EXPECT_EQ(transport.sent[0].dst.remote.to_string(), "198.51.100.7:5062");  // RFC 3581
  EXPECT_EQ(transport.sent[0].dst.realm, "access");
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].kind, "request");
  EXPECT_EQ(tu.events[0].method, "INVITE");
  TxnId id = tu.events[0].txn;
  EXPECT_NE(id, 0u);
  ASSERT_NE(layer.flow(id), nullptr);
  EXPECT_EQ(layer.flow(id)->remote.port, 5062);
  EXPECT_EQ(layer.server_count(), 1u);
  EXPECT_EQ(timers.armed(), 0u);  // Proceeding runs no timer
}

TEST_F(ServerTransactionTest, RetransmittedInviteGetsLastResponse) {
  deliver(request("INVITE"), udp);
  deliver(request("INVITE"), udp);
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(transport.sent[1].data, transport.sent[0].data);  // 100 again
  layer.respond(tu.events[0].txn, parts(180));
  deliver(request("INVITE"), udp);
  ASSERT_EQ(transport.sent.size(), 4u);
  EXPECT_EQ(transport.sent[2].data,
            expected_response("SIP/2.0 180 Ringing", "<sip:bob@example.com>;tag=b1"));
  EXPECT_EQ(transport.sent[3].data, transport.sent[2].data);
  EXPECT_EQ(tu.events.size(), 1u);  // the TU saw one INVITE
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 2u);
}

TEST_F(ServerTransactionTest, Invite2xxRetransmittedUntilAckThenTimerL) {
  deliver(request("INVITE"), udp);
  TxnId id = tu.events[0].txn;
  transport.take();
  layer.respond(id, parts(200));
  ASSERT_EQ(transport.sent.size(), 1u);
  std::string ok = expected_response("SIP/2.0 200 OK", "<sip:bob@example.com>;tag=b1");
  EXPECT_EQ(transport.sent[0].data, ok);
  // §13.3.1.4: T1, 2T1, 4T1 ... capped at T2.
  EXPECT_EQ(sends_during(Millis{8000}), (std::vector<long>{500, 1500, 3500, 7500}));
  for (const auto& s : transport.sent) {
    EXPECT_EQ(s.data, ok);
  }
  // The ACK for a 2xx has its own branch and To tag; it matches on Call-ID, CSeq, From tag.
  deliver(request("ACK", "z9hG4bKack2", "", "b1"), udp);
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request", "ack"}));
  EXPECT_EQ(sends_during(Millis{23999}), std::vector<long>{});
  EXPECT_EQ(layer.server_count(), 1u);  // RFC 6026: Accepted until Timer L
  timers.advance(Millis{1});            // 32000 ms after the 2xx
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request", "ack"}));  // no timeout: ACKed
  EXPECT_EQ(layer.stats().server_timeouts, 0u);
  EXPECT_EQ(layer.stats().retransmissions_sent, 4u);
  expect_idle();
}

TEST_F(ServerTransactionTest, AcceptedResends2xxForInviteRetransmissionsUntilAcked) {
  deliver(request("INVITE"), udp);
  TxnId id = tu.events[0].txn;
  layer.respond(id, parts(200));
  transport.take();
  std::string ok = expected_response("SIP/2.0 200 OK", "<sip:bob@example.com>;tag=b1");
  deliver(request("INVITE"), udp);  // the UAC missed the 2xx
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data, ok);
  layer.respond(id, parts(200));  // RFC 6026 §7.1: a TU retransmission goes out too
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(transport.sent[1].data, ok);
  layer.respond(id, parts(486));  // but no non-2xx after a 2xx
  EXPECT_EQ(transport.sent.size(), 2u);
  deliver(request("ACK", "z9hG4bKack2", "", "b1"), udp);
  deliver(request("INVITE"), udp);  // after the ACK: absorbed silently
  EXPECT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 2u);
  EXPECT_EQ(tu.events.size(), 2u);  // request, ack
}

TEST_F(ServerTransactionTest, Invite2xxWithoutAckEndsAtTimerL) {
  deliver(request("INVITE"), udp);
  TxnId id = tu.events[0].txn;
  transport.take();
  layer.respond(id, parts(200));
  EXPECT_EQ(sends_during(Millis{32000}),
            (std::vector<long>{500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500,
                               31500}));
  // (the initial 2xx was sent before stepping; it is transport.sent[0])
  ASSERT_EQ(tu.events.size(), 2u);
  EXPECT_EQ(tu.events[1].kind, "server_timeout");
  EXPECT_EQ(tu.events[1].txn, id);
  EXPECT_EQ(layer.stats().server_timeouts, 1u);
  EXPECT_EQ(layer.flow(id), nullptr);
  expect_idle();
}

TEST_F(ServerTransactionTest, InviteNon2xxTimerGThenAckThenTimerI) {
  deliver(request("INVITE"), udp);
  TxnId id = tu.events[0].txn;
  transport.take();
  layer.respond(id, parts(486));
  std::string busy = expected_response("SIP/2.0 486 Busy Here", "<sip:bob@example.com>;tag=b1");
  EXPECT_EQ(transport.sent[0].data, busy);
  EXPECT_EQ(sends_during(Millis{4000}), (std::vector<long>{500, 1500, 3500}));
  // §17.2.1: the ACK for a non-2xx has the INVITE's branch; it is absorbed, not passed up.
  deliver(request("ACK", "z9hG4bKsrv1", "", "b1"), udp);
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request"}));
  deliver(request("ACK", "z9hG4bKsrv1", "", "b1"), udp);  // ACK retransmission
  deliver(request("INVITE"), udp);                         // Confirmed absorbs INVITEs too
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 2u);
  EXPECT_EQ(sends_during(Millis{4999}), std::vector<long>{});
  EXPECT_EQ(layer.server_count(), 1u);
  timers.advance(Millis{1});  // Timer I = T4 after the ACK
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request"}));
  expect_idle();
}

TEST_F(ServerTransactionTest, InviteNon2xxWithoutAckEndsAtTimerH) {
  deliver(request("INVITE"), udp);
  TxnId id = tu.events[0].txn;
  transport.take();
  layer.respond(id, parts(603));
  EXPECT_EQ(sends_during(Millis{32000}),
            (std::vector<long>{500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500,
                               31500}));
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request", "server_timeout"}));
  EXPECT_EQ(layer.stats().server_timeouts, 1u);
  EXPECT_EQ(layer.stats().retransmissions_sent, 10u);
  expect_idle();
}

TEST_F(ServerTransactionTest, NonInviteTryingAbsorbsThenCompletedResendsUntilTimerJ) {
  deliver(request("OPTIONS"), udp);
  EXPECT_TRUE(transport.sent.empty());  // no 100 for non-INVITE
  deliver(request("OPTIONS"), udp);
  EXPECT_TRUE(transport.sent.empty());  // Trying: absorbed silently
  TxnId id = tu.events[0].txn;
  layer.respond(id, parts(200));
  std::string ok =
      expected_response("SIP/2.0 200 OK", "<sip:bob@example.com>;tag=b1", "10 OPTIONS");
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data, ok);
  layer.respond(id, parts(500));  // a second final is discarded
  deliver(request("OPTIONS"), udp);
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(transport.sent[1].data, ok);
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 2u);
  EXPECT_EQ(sends_during(Millis{31999}), std::vector<long>{});  // no timer retransmissions
  EXPECT_EQ(layer.server_count(), 1u);
  timers.advance(Millis{1});  // Timer J = 64*T1
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request"}));
  expect_idle();
}

TEST_F(ServerTransactionTest, CancelMatchesInviteAnd200IsSentByTheLayer) {
  deliver(request("INVITE"), udp);
  TxnId invite = tu.events[0].txn;
  transport.take();
  deliver(request("CANCEL"), udp);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data,
            expected_response("SIP/2.0 200 OK", "<sip:bob@example.com>", "10 CANCEL"));
  ASSERT_EQ(tu.events.size(), 2u);
  EXPECT_EQ(tu.events[1].kind, "cancel");
  EXPECT_EQ(tu.events[1].txn, invite);
  deliver(request("CANCEL"), udp);  // retransmitted CANCEL: same 200, no second on_cancel
  ASSERT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(transport.sent[1].data, transport.sent[0].data);
  EXPECT_EQ(tu.events.size(), 2u);
  layer.respond(invite, parts(487));
  EXPECT_EQ(transport.sent[2].data,
            expected_response("SIP/2.0 487 Request Terminated", "<sip:bob@example.com>;tag=b1"));
  deliver(request("ACK", "z9hG4bKsrv1", "", "b1"), udp);
  EXPECT_EQ(layer.server_count(), 2u);  // INVITE Confirmed (Timer I), CANCEL Completed (J)
  timers.advance(Millis{32000});
  expect_idle();
}

TEST_F(ServerTransactionTest, CancelAfterFinalIsAnsweredButNotReported) {
  deliver(request("INVITE"), udp);
  layer.respond(tu.events[0].txn, parts(200));
  transport.take();
  deliver(request("CANCEL"), udp);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data.substr(0, 16), "SIP/2.0 200 OK\r\n");
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request"}));
}

// Branch, sent-by and Call-ID are in clear text; a CANCEL (or a "retransmission")
// from another host must not end or touch the INVITE.
TEST_F(ServerTransactionTest, CancelFromAnotherSourceDoesNotCancel) {
  deliver(request("INVITE"), udp);
  transport.take();
  deliver(request("CANCEL"), make_flow(transport::Protocol::Udp, "203.0.113.66", 5062));
  deliver(request("INVITE"), make_flow(transport::Protocol::Udp, "203.0.113.66", 5062));
  ASSERT_EQ(tu.events.size(), 3u);
  EXPECT_EQ(tu.events[1].kind, "request");  // not "cancel": the TU answers it 481
  EXPECT_EQ(tu.events[1].method, "CANCEL");
  EXPECT_EQ(tu.events[2].kind, "request");  // a new INVITE, not a retransmission
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 0u);
  EXPECT_TRUE(transport.sent.size() == 1u);  // only the new INVITE's 100 Trying
}

TEST_F(ServerTransactionTest, CancelMatchingNothingGoesToTheTu) {
  deliver(request("CANCEL", "z9hG4bKnone"), udp);
  EXPECT_TRUE(transport.sent.empty());
  ASSERT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(tu.events[0].kind, "request");
  EXPECT_EQ(tu.events[0].method, "CANCEL");
  layer.respond(tu.events[0].txn, parts(481));
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data.substr(0, 43),
            "SIP/2.0 481 Call/Transaction Does Not Exist");
}

TEST_F(ServerTransactionTest, StrayAckGoesToTheTu) {
  deliver(request("ACK", "z9hG4bKstray", "", "x"), udp);
  EXPECT_EQ(kinds(), (std::vector<std::string>{"ack"}));
  expect_idle();
}

TEST_F(ServerTransactionTest, Rfc2543RequestsMatchWithoutMagicCookie) {
  deliver(request("INVITE", "old-branch"), udp);
  deliver(request("INVITE", "old-branch"), udp);
  EXPECT_EQ(tu.events.size(), 1u);
  EXPECT_EQ(layer.stats().retransmissions_absorbed, 1u);
  TxnId id = tu.events[0].txn;
  layer.respond(id, parts(404));
  // The ACK carries our To tag; it still matches the INVITE (tag-less at the time).
  deliver(request("ACK", "old-branch", "", "b1"), udp);
  EXPECT_EQ(kinds(), (std::vector<std::string>{"request"}));
  deliver(request("INVITE", ""), udp);  // no branch at all: another transaction
  EXPECT_EQ(tu.events.size(), 2u);
}

TEST_F(ServerTransactionTest, ReliableTransportRunsNoRetransmissionTimers) {
  auto tcp = make_flow(transport::Protocol::Tcp, "198.51.100.7", 40000, 9);
  deliver(request("INVITE", "z9hG4bKsrv1", "", "", "TCP"), tcp);
  TxnId id = tu.events[0].txn;
  EXPECT_EQ(transport.sent[0].dst.connection.id, 9u);
  layer.respond(id, parts(486));
  EXPECT_EQ(timers.armed(), 1u);  // Timer H only, no Timer G
  EXPECT_EQ(sends_during(Millis{1000}), std::vector<long>{});
  deliver(request("ACK", "z9hG4bKsrv1", "", "b1", "TCP"), tcp);
  expect_idle();  // Timer I = 0 on reliable transports

  deliver(request("OPTIONS", "z9hG4bKopt", "", "", "TCP"), tcp);
  layer.respond(tu.events.back().txn, parts(200));
  expect_idle();  // Timer J = 0
}

TEST_F(ServerTransactionTest, RespondFromInsideOnRequestIsSafe) {
  auto tcp = make_flow(transport::Protocol::Tcp, "198.51.100.7", 40000, 9);
  tu.request_hook = [this](TxnId txn, const Message&) { layer.respond(txn, parts(200)); };
  deliver(request("OPTIONS", "z9hG4bKin", "", "", "TCP"), tcp);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data.substr(0, 16), "SIP/2.0 200 OK\r\n");
  expect_idle();
}

TEST_F(ServerTransactionTest, RespondToUnknownOrEndedTransactionIsIgnored) {
  layer.respond(12345, parts(200));
  EXPECT_EQ(layer.flow(12345), nullptr);
  EXPECT_TRUE(transport.sent.empty());
  ResponseParts bad;
  bad.status = 42;
  deliver(request("OPTIONS"), udp);
  layer.respond(tu.events[0].txn, bad);
  EXPECT_TRUE(transport.sent.empty());
}

TEST_F(ServerTransactionTest, RespondStatelessRoutesLikeAResponse) {
  auto req = Message::parse(request("BYE", "z9hG4bKbye"));
  ASSERT_TRUE(req.ok());
  ResponseParts p;
  p.status = 400;
  p.reason = "Missing Call-ID header";
  layer.respond_stateless(*req, udp, p);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].dst.remote.to_string(), "198.51.100.7:5062");
  EXPECT_EQ(transport.sent[0].data,
            "SIP/2.0 400 Missing Call-ID header\r\n"
            "Via: SIP/2.0/UDP 10.1.1.1:4540;branch=z9hG4bKbye;received=198.51.100.7;"
            "rport=5062\r\n"
            "From: <sip:alice@example.com>;tag=a1\r\n"
            "To: <sip:bob@example.com>\r\n"
            "Call-ID: srv-1\r\n"
            "CSeq: 10 BYE\r\n"
            "Content-Length: 0\r\n\r\n");
  expect_idle();
}

TEST_F(ServerTransactionTest, ServerSendFailuresAreCounted) {
  transport.accept_sends = false;
  deliver(request("INVITE"), udp);
  EXPECT_EQ(layer.stats().transport_errors, 1u);
  EXPECT_EQ(tu.events.size(), 1u);
}

}  // namespace
}  // namespace portico::sip::test
