// ServerLimits: caps on open server transactions and pending INVITEs, in all and
// per source address. Over a cap: one stateless 503 with Retry-After to the source, no
// transaction, counted; the cap frees as transactions end.

#include "transaction_fixture.hpp"

namespace portico::sip::test {
namespace {

// No rport, sent-by port 5070: a reply that followed the Via would go to port 5070.
std::string request(std::string_view method, int n, std::string_view call_id = "lim-1") {
  std::string m(method);
  return m + " sip:bob@example.com SIP/2.0\r\n" +
         "Via: SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKlim" + std::to_string(n) + "\r\n" +
         "Max-Forwards: 70\r\n"
         "To: <sip:bob@example.com>\r\n"
         "From: <sip:alice@example.com>;tag=a1\r\n"
         "Call-ID: " +
         std::string(call_id) +
         "\r\n"
         "CSeq: " +
         std::to_string(n) + " " + m +
         "\r\n"
         "Content-Length: 0\r\n"
         "\r\n";
}

class ServerLimitsTest : public TransactionFixture {
 protected:
  transport::Flow other = make_flow(transport::Protocol::Udp, "198.51.100.8", 5062);

  std::size_t requests_seen() const {
    std::size_t n = 0;
    for (const auto& e : tu.events) {
      n += e.kind == "request" ? 1 : 0;
    }
    return n;
  }
};

TEST_F(ServerLimitsTest, PerSourceCapAnswers503ToTheSourceAndKeepsNothing) {
  ServerLimits limits;
  limits.max_transactions_per_source = 2;
  layer.set_limits(limits);
  deliver(request("OPTIONS", 1), udp);
  deliver(request("OPTIONS", 2), udp);
  transport.take();
  deliver(request("OPTIONS", 3), udp);
  EXPECT_EQ(requests_seen(), 2u);
  EXPECT_EQ(layer.server_count(), 2u);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].data.substr(0, 32), "SIP/2.0 503 Service Unavailable\r");
  EXPECT_NE(transport.sent[0].data.find("\r\nRetry-After: 5\r\n"), std::string::npos);
  EXPECT_EQ(transport.sent[0].dst.remote.to_string(), "198.51.100.7:5062");  // not :5070
  EXPECT_EQ(layer.stats().refused_source_transactions, 1u);
  // Its retransmission is refused again: nothing was kept to absorb it.
  deliver(request("OPTIONS", 3), udp);
  EXPECT_EQ(layer.stats().refused_source_transactions, 2u);
  // Another source is not affected.
  deliver(request("OPTIONS", 4), other);
  EXPECT_EQ(requests_seen(), 3u);
  // Once the first two end (Timer J), the source may open transactions again.
  layer.respond(tu.events[0].txn, ResponseParts{});
  layer.respond(tu.events[1].txn, ResponseParts{});
  timers.advance(Millis{32000});
  deliver(request("OPTIONS", 5), udp);
  EXPECT_EQ(requests_seen(), 4u);
}

TEST_F(ServerLimitsTest, GlobalCapCountsEverySource) {
  ServerLimits limits;
  limits.max_transactions = 1;
  layer.set_limits(limits);
  deliver(request("OPTIONS", 1), udp);
  deliver(request("OPTIONS", 2), other);
  EXPECT_EQ(requests_seen(), 1u);
  EXPECT_EQ(layer.stats().refused_transactions, 1u);
}

TEST_F(ServerLimitsTest, PendingInvitesCapFreesWhenAnInviteIsAnswered) {
  ServerLimits limits;
  limits.max_pending_invites_per_source = 1;
  layer.set_limits(limits);
  deliver(request("INVITE", 1, "c1"), udp);
  deliver(request("INVITE", 2, "c2"), udp);
  EXPECT_EQ(requests_seen(), 1u);
  EXPECT_EQ(layer.stats().refused_source_invites, 1u);
  deliver(request("OPTIONS", 3), udp);  // not an INVITE: not under this cap
  EXPECT_EQ(requests_seen(), 2u);
  ResponseParts busy;
  busy.status = 486;
  busy.to_tag = "b1";
  layer.respond(tu.events[0].txn, busy);  // the transaction lives on (Timer H), not pending
  deliver(request("INVITE", 4, "c4"), udp);
  EXPECT_EQ(requests_seen(), 3u);
  limits.max_pending_invites_per_source = 0;
  limits.max_pending_invites = 1;
  layer.set_limits(limits);
  deliver(request("INVITE", 5, "c5"), other);
  EXPECT_EQ(layer.stats().refused_invites, 1u);
}

TEST_F(ServerLimitsTest, CancelOfAnAdmittedInviteIsNeverRefused) {
  ServerLimits limits;
  limits.max_transactions_per_source = 1;
  layer.set_limits(limits);
  deliver(request("INVITE", 1, "c1"), udp);
  std::string cancel = request("INVITE", 1, "c1");
  cancel.replace(0, 6, "CANCEL");
  cancel.replace(cancel.find("1 INVITE"), 8, "1 CANCEL");
  deliver(cancel, udp);
  ASSERT_EQ(tu.events.size(), 2u);
  EXPECT_EQ(tu.events[1].kind, "cancel");
  EXPECT_EQ(layer.stats().refused_source_transactions, 0u);
}

}  // namespace
}  // namespace portico::sip::test
