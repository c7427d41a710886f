// The B2BUA driven in-process: real transaction layer, real policy loader, virtual time, and a
// transport that records what would go on the wire. Each test plays both peers by hand.

#include "portico/b2bua/b2bua.hpp"

#include <gtest/gtest.h>

#include "portico/auth/digest.hpp"
#include "portico/common/strings.hpp"
#include "portico/policy/loader.hpp"
#include "portico/sip/message.hpp"
#include "recording_transport.hpp"

namespace portico::b2bua {
namespace {

using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

constexpr const char* kPolicy = R"(
server: {shards: 1}
timers: {t1: 500ms, t2: 4s, t4: 5s, max_call_duration: 60s}
headers: {server_name: Portico}
realms:
  access: {listeners: ["udp://198.51.100.1:5060"]}
  carrier: {listeners: ["udp://203.0.113.1:5060"]}
trunks:
  primary: {realm: carrier, host: 203.0.113.50, port: 5060, max_calls: 2}
  backup: {realm: carrier, host: 203.0.113.51, port: 5060}
access_peers:
  pbx: {realm: access, sources: ["10.1.1.0/24"], host: 10.1.1.5, port: 5060, trusted: true}
routes:
  - name: out
    match: {realm: access, user_prefix: "0"}
    rewrite: {strip: 1, prepend: "+44"}
    targets: [{trunk: primary}, {trunk: backup}]
  - name: capped
    match: {realm: access, user_prefix: "7"}
    targets: [{trunk: primary}]
  - name: in
    match: {realm: carrier}
    targets: [{peer: pbx}]
)";

// A's CANCEL of the default invite() (same branch, RFC 3261 §9.1).
const std::string kCancelFromPbx =
    "CANCEL sip:02079460000@198.51.100.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKaaa1;rport\r\nMax-Forwards: 70\r\n"
    "From: \"Alice\" <sip:1001@10.1.1.5>;tag=atag1\r\nTo: <sip:02079460000@198.51.100.1>\r\n"
    "Call-ID: a-call-1@10.1.1.5\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";

const Endpoint kPbx{asio::ip::make_address("10.1.1.5"), 5060};
const Endpoint kPrimary{asio::ip::make_address("203.0.113.50"), 5060};
const Endpoint kBackup{asio::ip::make_address("203.0.113.51"), 5060};

std::string branch_of(const std::string& call_id) {
  return call_id == "a-call-1@10.1.1.5" ? "aaa1" : "x" + std::to_string(std::hash<std::string>{}(call_id));
}

std::string invite(const std::string& user = "02079460000", const std::string& call_id = "a-call-1@10.1.1.5",
                   const std::string& extra = "") {
  std::string body = "v=0\r\no=- 1 1 IN IP4 10.1.1.5\r\ns=-\r\nc=IN IP4 10.1.1.5\r\nt=0 0\r\n"
                     "m=audio 4000 RTP/AVP 0\r\n";
  return "INVITE sip:" + user + "@198.51.100.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bK" + branch_of(call_id) + ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: \"Alice\" <sip:1001@10.1.1.5>;tag=atag1\r\n"
         "To: <sip:" + user + "@198.51.100.1>\r\n"
         "Call-ID: " + call_id + "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Contact: <sip:1001@10.1.1.5:5060>\r\n"
         "User-Agent: SecretPBX 9.1\r\n"
         "P-Asserted-Identity: <sip:+442079460001@10.1.1.5>\r\n"
         "X-Internal-Route: pbx-cluster-7\r\n" + extra +
         "Content-Type: application/sdp\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class B2buaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sip::init_parser();
    transport_.realm_hosts = {{"access", "198.51.100.1"}, {"carrier", "203.0.113.1"}};
  }

  Flow from_pbx() const {
    return Flow{Protocol::Udp, "access", {asio::ip::make_address("198.51.100.1"), 5060}, kPbx, {}};
  }
  Flow from_trunk(const Endpoint& ep) const {
    return Flow{Protocol::Udp, "carrier", {asio::ip::make_address("203.0.113.1"), 5060}, ep, {}};
  }

  void inject(const std::string& text, const Flow& flow) {
    auto m = sip::Message::parse(text);
    ASSERT_TRUE(m.ok()) << text;
    ASSERT_FALSE(m->validate().has_value()) << m->validate()->detail;
    layer_.receive(std::move(m.value()), flow);
  }

  /// Messages sent to `to` since the last call, parsed.
  std::vector<sip::Message> sent_to(const Endpoint& to) {
    std::vector<sip::Message> out;
    std::vector<test::RecordingTransport::Sent> keep;
    for (auto& s : transport_.take()) {
      if (s.dst.remote == to) {
        auto m = sip::Message::parse(s.data);
        EXPECT_TRUE(m.ok()) << s.data;
        if (m.ok()) out.push_back(std::move(m.value()));
      } else {
        keep.push_back(std::move(s));
      }
    }
    transport_.sent = std::move(keep);
    return out;
  }

  static const sip::Message* find(const std::vector<sip::Message>& msgs, std::string_view method,
                                  int status = 0) {
    for (const auto& m : msgs) {
      if (status == 0 ? (m.is_request() && m.method() == method)
                      : (m.is_response() && m.status() == status && m.cseq_method() == method)) {
        return &m;
      }
    }
    return nullptr;
  }

  /// Response from a trunk to the request `req` Portico sent it.
  static std::string response_to(const sip::Message& req, int status, const std::string& to_tag,
                                  const std::string& extra = "", const std::string& body = "") {
    std::string s = "SIP/2.0 " + std::to_string(status) + " " + (status == 200 ? "OK" : "Status") +
                    "\r\n";
    for (const auto& v : req.vias()) s += "Via: " + v.raw + "\r\n";
    s += "From: " + req.from().raw + "\r\n";
    s += "To: " + req.to().raw + (req.to().tag.empty() && !to_tag.empty() ? ";tag=" + to_tag : "") +
         "\r\n";
    s += "Call-ID: " + req.call_id() + "\r\n";
    s += "CSeq: " + std::to_string(req.cseq()) + " " + req.cseq_method() + "\r\n";
    if (status >= 101 && status < 300 && req.method() == "INVITE") {
      s += "Contact: <sip:carrier-core@203.0.113.50:5060>\r\n";
    }
    s += "Server: CarrierSwitch 4.2\r\n" + extra;
    if (!body.empty()) s += "Content-Type: application/sdp\r\n";
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return s;
  }

  /// An in-dialog request from a peer, built from a message Portico sent it (its INVITE or 2xx).
  static std::string request_in_dialog(const std::string& method, const std::string& ruri,
                                       const std::string& from, const std::string& to,
                                       const std::string& call_id, int cseq, const std::string& via) {
    return method + " " + ruri + " SIP/2.0\r\nVia: " + via + "\r\nMax-Forwards: 70\r\nFrom: " +
           from + "\r\nTo: " + to + "\r\nCall-ID: " + call_id + "\r\nCSeq: " +
           std::to_string(cseq) + " " + method + "\r\nContent-Length: 0\r\n\r\n";
  }

  /// Sets up an answered call; returns Portico's INVITE to the trunk.
  sip::Message answered_call() {
    inject(invite(), from_pbx());
    auto to_trunk = sent_to(kPrimary);
    EXPECT_EQ(to_trunk.size(), 1u);
    sip::Message inv = std::move(to_trunk.front());
    inject(response_to(inv, 200, "btag1", "", "v=0\r\n"), from_trunk(kPrimary));
    std::string a_tag;
    for (const auto& m : sent_to(kPbx)) {
      if (m.is_response() && m.status() == 200) a_tag = m.to().tag;
    }
    EXPECT_FALSE(a_tag.empty());
    a_tag_ = a_tag;
    inject(request_in_dialog("ACK", "sip:x@198.51.100.1", "\"Alice\" <sip:1001@10.1.1.5>;tag=atag1",
                             "<sip:02079460000@198.51.100.1>;tag=" + a_tag, "a-call-1@10.1.1.5", 1,
                             "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKack1"),
           from_pbx());
    sent_to(kPrimary);
    return inv;
  }

  std::string a_tag_;  // Portico's To tag on the A leg of answered_call()
  ManualTimerService timers_;
  test::RecordingTransport transport_;
  TrunkUsage usage_;
  PassthroughMediaFactory media_;
  std::shared_ptr<const policy::PolicySnapshot> policy_ =
      policy::load_policy_texts({{"policy.yaml", kPolicy}});
  // The front door's part: the shard's transaction layer, with the B2BUA as its user.
  sip::TransactionLayer layer_{
      timers_, transport_,
      sip::TimerConfig{policy_->timers.t1, policy_->timers.t2, policy_->timers.t4}, b2b_};
  B2bua b2b_{layer_, 0, timers_, transport_, usage_, media_, [this] { return policy_; }, "9.9.9"};
};

TEST_F(B2buaTest, InviteGoesToTrunkWithFreshIdentityAndNothingFromTheAccessSide) {
  inject(invite(), from_pbx());
  auto to_pbx = sent_to(kPbx);
  ASSERT_NE(find(to_pbx, "INVITE", 100), nullptr);
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  const sip::Message& out = to_trunk[0];
  EXPECT_EQ(out.method(), "INVITE");
  auto ruri = out.request_uri_parts();
  ASSERT_TRUE(ruri.ok());
  EXPECT_EQ(ruri->user, "+442079460000");  // strip 1, prepend +44
  EXPECT_EQ(ruri->host, "203.0.113.50");
  EXPECT_NE(out.call_id(), "a-call-1@10.1.1.5");
  EXPECT_NE(out.from().tag, "atag1");
  EXPECT_EQ(out.top_via().host, "203.0.113.1");
  EXPECT_EQ(out.vias().size(), 1u);
  EXPECT_EQ(out.max_forwards(), 69);
  std::string raw(out.raw());
  size_t body_at = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, body_at);
  for (const char* leak : {"10.1.1.5", "a-call-1", "atag1", "SecretPBX", "X-Internal-Route",
                           "198.51.100.1", "z9hG4bKaaa1"}) {
    EXPECT_EQ(head.find(leak), std::string::npos) << "leaked " << leak << " in\n" << head;
  }
  // allowed by policy, with the PBX's address replaced by Portico's carrier-side address
  EXPECT_NE(head.find("P-Asserted-Identity: <sip:+442079460001@203.0.113.1>"), std::string::npos)
      << head;
  EXPECT_NE(head.find("User-Agent: Portico\r\n"), std::string::npos);  // no version
  EXPECT_EQ(out.body().substr(0, 4), "v=0\r");  // SDP relayed unchanged in this layer
  EXPECT_EQ(b2b_.call_count(), 1u);
}

TEST_F(B2buaTest, AnsweredCallThenCallerByeFreesEverything) {
  inject(invite(), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  sent_to(kPbx);
  inject(response_to(inv, 180, "btag1"), from_trunk(kPrimary));
  auto ringing = sent_to(kPbx);
  const sip::Message* r180 = find(ringing, "INVITE", 180);
  ASSERT_NE(r180, nullptr);
  EXPECT_EQ(r180->call_id(), "a-call-1@10.1.1.5");
  EXPECT_FALSE(r180->to().tag.empty());
  ASSERT_EQ(r180->contacts().size(), 1u);
  EXPECT_NE(r180->contacts()[0].uri.find("198.51.100.1"), std::string::npos);
  EXPECT_EQ(std::string(r180->raw()).find("203.0.113.50"), std::string::npos);
  EXPECT_EQ(std::string(r180->raw()).find("CarrierSwitch"), std::string::npos);

  inject(response_to(inv, 200, "btag1", "", "v=0\r\n"), from_trunk(kPrimary));
  auto ok = sent_to(kPbx);
  const sip::Message* r200 = find(ok, "INVITE", 200);
  ASSERT_NE(r200, nullptr);
  EXPECT_EQ(r200->to().tag, r180->to().tag);
  auto acks = sent_to(kPrimary);
  const sip::Message* ack = find(acks, "ACK");
  ASSERT_NE(ack, nullptr);  // early offer: B is ACKed at once
  EXPECT_EQ(ack->call_id(), inv.call_id());
  EXPECT_EQ(ack->to().tag, "btag1");
  EXPECT_EQ(ack->cseq(), 1u);

  // ACK from A, then BYE from A.
  std::string a_to = "<sip:02079460000@198.51.100.1>;tag=" + r200->to().tag;
  inject(request_in_dialog("ACK", "sip:x@198.51.100.1", "\"Alice\" <sip:1001@10.1.1.5>;tag=atag1",
                           a_to, "a-call-1@10.1.1.5", 1, "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKack1"),
         from_pbx());
  inject(request_in_dialog("BYE", "sip:x@198.51.100.1", "\"Alice\" <sip:1001@10.1.1.5>;tag=atag1",
                           a_to, "a-call-1@10.1.1.5", 2, "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKbye1"),
         from_pbx());
  ASSERT_NE(find(sent_to(kPbx), "BYE", 200), nullptr);
  auto byes = sent_to(kPrimary);
  const sip::Message* bye = find(byes, "BYE");
  ASSERT_NE(bye, nullptr);
  EXPECT_EQ(bye->request_uri(), "sip:carrier-core@203.0.113.50:5060");
  EXPECT_EQ(bye->cseq(), 2u);
  EXPECT_EQ(b2b_.call_count(), 1u);  // until the BYE transaction completes
  inject(response_to(*bye, 200, ""), from_trunk(kPrimary));
  EXPECT_EQ(b2b_.call_count(), 0u);
  timers_.advance(Millis(64 * 500 + 100));
  EXPECT_EQ(layer_.server_count(), 0u);
  EXPECT_EQ(layer_.client_count(), 0u);
  EXPECT_EQ(timers_.armed(), 0u);
}

TEST_F(B2buaTest, CalleeByeIsRelayedToCallerContactOverItsFlow) {
  sip::Message inv = answered_call();
  sent_to(kPbx);
  std::string from = inv.to().raw + ";tag=btag1";
  inject(request_in_dialog("BYE", inv.contacts()[0].uri, from, inv.from().raw, inv.call_id(), 1,
                           "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKcb1"),
         from_trunk(kPrimary));
  ASSERT_NE(find(sent_to(kPrimary), "BYE", 200), nullptr);
  auto to_pbx = sent_to(kPbx);
  const sip::Message* bye = find(to_pbx, "BYE");
  ASSERT_NE(bye, nullptr);
  EXPECT_EQ(bye->request_uri(), "sip:1001@10.1.1.5:5060");
  EXPECT_EQ(bye->call_id(), "a-call-1@10.1.1.5");
  EXPECT_EQ(bye->to().tag, "atag1");
  inject(response_to(*bye, 200, ""), from_pbx());
  EXPECT_EQ(b2b_.call_count(), 0u);
}

TEST_F(B2buaTest, ServiceUnavailableFailsOverToNextTargetWithNewDialog) {
  inject(invite(), from_pbx());
  auto first = std::move(sent_to(kPrimary).front());
  inject(response_to(first, 503, "p1"), from_trunk(kPrimary));
  auto primary_msgs = sent_to(kPrimary);
  EXPECT_NE(find(primary_msgs, "ACK"), nullptr);  // hop-by-hop ACK of the 503
  auto backup = sent_to(kBackup);
  const sip::Message* second = find(backup, "INVITE");
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second->call_id(), first.call_id());
  EXPECT_EQ(find(sent_to(kPbx), "INVITE", 503), nullptr);  // caller never sees the 503
  inject(response_to(*second, 200, "b2", "", "v=0\r\n"), from_trunk(kBackup));
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 200), nullptr);
  EXPECT_EQ(b2b_.stats().failovers, 1u);
}

TEST_F(B2buaTest, BusyIsRelayedWithoutFailover) {
  inject(invite(), from_pbx());
  auto first = std::move(sent_to(kPrimary).front());
  inject(response_to(first, 486, "p1"), from_trunk(kPrimary));
  auto to_pbx = sent_to(kPbx);
  EXPECT_NE(find(to_pbx, "INVITE", 486), nullptr);
  EXPECT_TRUE(sent_to(kBackup).empty());
  EXPECT_EQ(b2b_.call_count(), 0u);
  const auto& attempts = b2b_.stats().attempts;
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts.begin()->first, (AttemptKey{"access", "out", "primary", "4xx"}));
  EXPECT_EQ(attempts.begin()->second, 1u);
}

TEST_F(B2buaTest, CancelAfterRingingCancelsTheBLegAndAnswers487) {
  inject(invite(), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  inject(response_to(inv, 180, "btag1"), from_trunk(kPrimary));
  sent_to(kPbx);
  inject(kCancelFromPbx, from_pbx());
  auto to_pbx = sent_to(kPbx);
  EXPECT_NE(find(to_pbx, "CANCEL", 200), nullptr);
  EXPECT_NE(find(to_pbx, "INVITE", 487), nullptr);
  auto to_trunk = sent_to(kPrimary);
  const sip::Message* cancel = find(to_trunk, "CANCEL");
  ASSERT_NE(cancel, nullptr);
  EXPECT_EQ(cancel->top_via().branch, inv.top_via().branch);
  EXPECT_EQ(cancel->cseq(), inv.cseq());
  inject(response_to(*cancel, 200, "btag1"), from_trunk(kPrimary));
  inject(response_to(inv, 487, "btag1"), from_trunk(kPrimary));
  EXPECT_EQ(b2b_.call_count(), 0u);
}

TEST_F(B2buaTest, TrunkLimitGives503WhenEveryTargetIsFull) {
  // primary allows 2 calls; backup is unlimited, so fill primary and check the third goes to
  // backup; then a route with only a full target would 503 (checked through stats).
  inject(invite("0100", "c1"), from_pbx());
  inject(invite("0101", "c2"), from_pbx());
  EXPECT_EQ(sent_to(kPrimary).size(), 2u);
  inject(invite("0102", "c3"), from_pbx());
  EXPECT_EQ(sent_to(kPrimary).size(), 0u);
  EXPECT_EQ(find(sent_to(kBackup), "INVITE") != nullptr, true);
  EXPECT_EQ(usage_.in_use("primary"), 2);
}

TEST_F(B2buaTest, PolicyRejectsUnknownSourceAndUnroutableNumbers) {
  Flow stranger = from_pbx();
  stranger.remote = Endpoint{asio::ip::make_address("192.0.2.99"), 5060};
  inject(invite(), stranger);
  auto out = sent_to(stranger.remote);
  EXPECT_NE(find(out, "INVITE", 403), nullptr);
  inject(invite("999", "c-noroute"), from_pbx());  // no route: prefix "0" required
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 404), nullptr);
  EXPECT_EQ(b2b_.call_count(), 0u);
  // Refused before routing: no route or target label, one 4xx attempt each.
  const auto& attempts = b2b_.stats().attempts;
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts.begin()->first, (AttemptKey{"access", "", "", "4xx"}));
  EXPECT_EQ(attempts.begin()->second, 2u);
}

// What the admission chain's verdicts do: a refused call (draining here) is answered, counted
// and recorded; a malformed INVITE (no hops left, a body Portico cannot relay) is only answered.
TEST_F(B2buaTest, RefusedCallsAreRecordedMalformedInvitesOnlyAnswered) {
  std::vector<cdr::CallRecord> cdrs;
  b2b_.set_cdr_sink([&cdrs](cdr::CallRecord&& r) { cdrs.push_back(std::move(r)); });
  std::string mf0 = invite("0123", "adm-mf0");
  mf0.replace(mf0.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  inject(mf0, from_pbx());
  std::string text = invite("0123", "adm-text");
  text.replace(text.find("Content-Type: application/sdp"), 29, "Content-Type: text/plain");
  inject(text, from_pbx());
  auto out = sent_to(kPbx);
  EXPECT_NE(find(out, "INVITE", 483), nullptr);
  const sip::Message* r415 = find(out, "INVITE", 415);
  ASSERT_NE(r415, nullptr);
  EXPECT_NE(r415->raw().find("\r\nAccept: application/sdp, multipart/mixed\r\n"),
            std::string_view::npos);
  EXPECT_TRUE(cdrs.empty());
  EXPECT_EQ(b2b_.stats().calls_rejected, 0u);

  b2b_.set_draining(true);
  inject(invite("0123", "adm-drain"), from_pbx());
  const auto drained = sent_to(kPbx);
  const sip::Message* r503 = find(drained, "INVITE", 503);
  ASSERT_NE(r503, nullptr);
  EXPECT_EQ(r503->header("Retry-After"), "30");
  ASSERT_EQ(cdrs.size(), 1u);
  EXPECT_EQ(cdrs[0].end_reason, "shutting_down");
  EXPECT_EQ(cdrs[0].final_status, 503);
  EXPECT_EQ(b2b_.stats().calls_rejected, 1u);
  EXPECT_EQ(b2b_.stats().calls_attempted, 3u);
  EXPECT_EQ(b2b_.call_count(), 0u);
}

TEST_F(B2buaTest, OutOfDialogRequestsAnsweredLocally) {
  auto ood = [](const std::string& method, const std::string& extra = "") {
    return method + " sip:portico@198.51.100.1 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bK" + method + "\r\n" + extra +
           "From: <sip:1001@10.1.1.5>;tag=o1\r\nTo: <sip:portico@198.51.100.1>\r\n"
           "Call-ID: ood-" + method + "\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n";
  };
  inject(ood("OPTIONS"), from_pbx());
  auto out = sent_to(kPbx);
  const sip::Message* ok = find(out, "OPTIONS", 200);
  ASSERT_NE(ok, nullptr);
  ASSERT_TRUE(ok->header("Allow").has_value());
  EXPECT_NE(ok->header("Allow")->find("INVITE"), std::string::npos);
  inject(ood("FOOBAR"), from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "FOOBAR", 501), nullptr);
  inject(ood("BYE"), from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "BYE", 481), nullptr);
  std::string mf0 = invite("0123", "mf0");
  mf0.replace(mf0.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  inject(mf0, from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 483), nullptr);
}

TEST_F(B2buaTest, ReInviteFromCalleeIsRelayedAndAckedEndToEnd) {
  sip::Message inv = answered_call();
  std::string from = inv.to().raw + ";tag=btag1";
  // re-INVITE without SDP (late offer): the ACK must cross with the answer.
  std::string reinv = request_in_dialog("INVITE", inv.contacts()[0].uri, from, inv.from().raw,
                                        inv.call_id(), 5, "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKre1");
  reinv.insert(reinv.find("Content-Length"), "Contact: <sip:carrier-core@203.0.113.50:5060>\r\n");
  inject(reinv, from_trunk(kPrimary));
  auto relayed = sent_to(kPbx);
  const sip::Message* re = find(relayed, "INVITE");
  ASSERT_NE(re, nullptr);
  EXPECT_EQ(re->call_id(), "a-call-1@10.1.1.5");
  EXPECT_EQ(re->to().tag, "atag1");
  inject(response_to(*re, 200, "", "", "v=0\r\no=offer\r\n"), from_pbx());
  auto to_trunk = sent_to(kPrimary);
  const sip::Message* ok2 = find(to_trunk, "INVITE", 200);
  ASSERT_NE(ok2, nullptr);
  EXPECT_EQ(ok2->cseq(), 5u);
  EXPECT_EQ(find(sent_to(kPbx), "ACK"), nullptr);  // waits for B's ACK
  std::string ack = request_in_dialog("ACK", inv.contacts()[0].uri, from, ok2->to().raw,
                                      inv.call_id(), 5, "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKack5");
  ack.replace(ack.find("Content-Length: 0\r\n\r\n"), 21,
              "Content-Type: application/sdp\r\nContent-Length: 13\r\n\r\nv=0\r\no=answer");
  inject(ack, from_trunk(kPrimary));
  auto acks = sent_to(kPbx);
  const sip::Message* a_ack = find(acks, "ACK");
  ASSERT_NE(a_ack, nullptr);
  EXPECT_EQ(a_ack->cseq(), re->cseq());
  EXPECT_EQ(a_ack->body(), "v=0\r\no=answer");
}

TEST_F(B2buaTest, MaxCallDurationHangsUpBothLegs) {
  sip::Message inv = answered_call();
  sent_to(kPbx);
  timers_.advance(Millis(60'000));
  EXPECT_NE(find(sent_to(kPbx), "BYE"), nullptr);
  EXPECT_NE(find(sent_to(kPrimary), "BYE"), nullptr);
  EXPECT_EQ(b2b_.stats().calls_timed_out, 1u);
  timers_.advance(Millis(64 * 500 + 100));  // BYEs unanswered: Timer F ends them
  EXPECT_EQ(b2b_.call_count(), 0u);
  EXPECT_EQ(layer_.client_count(), 0u);
}

TEST_F(B2buaTest, EveryTargetAtItsLimitGives503) {
  inject(invite("7001", "cap1"), from_pbx());
  inject(invite("7002", "cap2"), from_pbx());
  EXPECT_EQ(sent_to(kPrimary).size(), 2u);
  sent_to(kPbx);
  inject(invite("7003", "cap3"), from_pbx());
  EXPECT_TRUE(sent_to(kPrimary).empty());
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 503), nullptr);
  EXPECT_EQ(b2b_.call_count(), 2u);
}

TEST_F(B2buaTest, CancelBeforeAnyProvisionalThenCrossing200IsAckedAndHungUp) {
  inject(invite(), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  sent_to(kPbx);
  inject(kCancelFromPbx, from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 487), nullptr);
  // RFC 3261 §9.1: no CANCEL before B has sent a provisional.
  EXPECT_EQ(find(sent_to(kPrimary), "CANCEL"), nullptr);
  // B answers 200 straight away: the answer crossed our pending CANCEL.
  inject(response_to(inv, 200, "btag1", "", "v=0\r\n"), from_trunk(kPrimary));
  auto to_trunk = sent_to(kPrimary);
  EXPECT_NE(find(to_trunk, "ACK"), nullptr);
  const sip::Message* bye = find(to_trunk, "BYE");
  ASSERT_NE(bye, nullptr);
  EXPECT_TRUE(sent_to(kPbx).empty());  // the caller already has its 487
  inject(response_to(*bye, 200, ""), from_trunk(kPrimary));
  EXPECT_EQ(b2b_.call_count(), 0u);
}

TEST_F(B2buaTest, InDialogInfoAndUpdateAreRelayedBothWays) {
  sip::Message inv = answered_call();
  // INFO from A (DTMF relay body) reaches B inside B's dialog, and B's 200 comes back.
  std::string info = request_in_dialog("INFO", "sip:x@198.51.100.1",
                                       "\"Alice\" <sip:1001@10.1.1.5>;tag=atag1", "", "a-call-1@10.1.1.5",
                                       2, "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKinfo1");
  std::string body = "Signal=5\r\nDuration=160\r\n";
  info.replace(info.find("To: \r\n"), 6, "To: <sip:02079460000@198.51.100.1>;tag=" + a_tag_ + "\r\n");
  info.replace(info.find("Content-Length: 0\r\n\r\n"), 21,
               "Content-Type: application/dtmf-relay\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  inject(info, from_pbx());
  auto to_trunk = sent_to(kPrimary);
  const sip::Message* b_info = find(to_trunk, "INFO");
  ASSERT_NE(b_info, nullptr);
  EXPECT_EQ(b_info->call_id(), inv.call_id());
  EXPECT_EQ(b_info->to().tag, "btag1");
  EXPECT_EQ(b_info->body(), body);
  EXPECT_EQ(b_info->content_type(), "application/dtmf-relay");
  inject(response_to(*b_info, 200, ""), from_trunk(kPrimary));
  EXPECT_NE(find(sent_to(kPbx), "INFO", 200), nullptr);

  // UPDATE from B reaches A inside A's dialog, and A's 200 goes back to B.
  std::string upd = request_in_dialog("UPDATE", inv.contacts()[0].uri, inv.to().raw + ";tag=btag1",
                                      inv.from().raw, inv.call_id(), 3,
                                      "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKupd1");
  upd.insert(upd.find("Content-Length"), "Contact: <sip:carrier-core@203.0.113.50:5060>\r\n");
  inject(upd, from_trunk(kPrimary));
  auto to_pbx = sent_to(kPbx);
  const sip::Message* a_upd = find(to_pbx, "UPDATE");
  ASSERT_NE(a_upd, nullptr);
  EXPECT_EQ(a_upd->call_id(), "a-call-1@10.1.1.5");
  EXPECT_EQ(a_upd->request_uri(), "sip:1001@10.1.1.5:5060");
  inject(response_to(*a_upd, 200, ""), from_pbx());
  auto back_to_trunk = sent_to(kPrimary);
  const sip::Message* upd_ok = find(back_to_trunk, "UPDATE", 200);
  ASSERT_NE(upd_ok, nullptr);
  ASSERT_EQ(upd_ok->contacts().size(), 1u);
  EXPECT_NE(upd_ok->contacts()[0].uri.find("203.0.113.1"), std::string::npos);
}

TEST_F(B2buaTest, TaggedRequestForUnknownDialogGets481) {
  inject(request_in_dialog("BYE", "sip:x@198.51.100.1", "<sip:1001@10.1.1.5>;tag=a9",
                           "<sip:x@198.51.100.1>;tag=gone", "no-such-call", 5,
                           "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKgone"),
         from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "BYE", 481), nullptr);
  EXPECT_EQ(b2b_.stats().unknown_dialog, 1u);
}

TEST_F(B2buaTest, SetupTimesToProgressAndAnswerAreRecorded) {
  inject(invite(), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  timers_.advance(Millis(80));
  inject(response_to(inv, 180, "btag1"), from_trunk(kPrimary));
  inject(response_to(inv, 183, "btag1"), from_trunk(kPrimary));  // only the first 18x counts
  timers_.advance(Millis(2920));
  inject(response_to(inv, 200, "btag1", "", "v=0\r\n"), from_trunk(kPrimary));
  const auto& s = b2b_.stats();
  EXPECT_EQ(s.to_progress.count, 1u);
  EXPECT_EQ(s.to_progress.sum, 80);
  EXPECT_EQ(s.to_progress.buckets[3], 1u);  // <= 100 ms
  EXPECT_EQ(s.to_answer.count, 1u);
  EXPECT_EQ(s.to_answer.sum, 3000);
  EXPECT_EQ(s.to_answer.buckets[8], 1u);  // <= 5 s
}

}  // namespace
}  // namespace portico::b2bua

namespace portico::b2bua {
namespace {

// RFC 3262 §3: a 2xx must not overtake an unacknowledged reliable provisional that carried SDP.
TEST_F(B2buaTest, AnswerWaitsForThePrackOfAReliableProvisionalWithSdp) {
  inject(invite("02079460000", "a-call-1@10.1.1.5", "Supported: 100rel\r\n"), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  sent_to(kPbx);
  const std::string sdp = "v=0\r\no=- 2 2 IN IP4 203.0.113.50\r\ns=-\r\nc=IN IP4 203.0.113.50\r\n"
                          "t=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
  inject(response_to(inv, 183, "btag1", "Require: 100rel\r\nRSeq: 1\r\n", sdp),
         from_trunk(kPrimary));
  auto early = sent_to(kPbx);
  const sip::Message* r183 = find(early, "INVITE", 183);
  ASSERT_NE(r183, nullptr);
  ASSERT_TRUE(r183->header("RSeq").has_value());
  const std::string rseq(portico::trim(*r183->header("RSeq")));
  sent_to(kPrimary);  // Portico's own PRACK to the trunk

  inject(response_to(inv, 200, "btag1", "", sdp), from_trunk(kPrimary));
  EXPECT_EQ(find(sent_to(kPbx), "INVITE", 200), nullptr) << "2xx sent before the PRACK";

  inject("PRACK sip:x@198.51.100.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKpr1\r\n"
         "Max-Forwards: 70\r\nFrom: \"Alice\" <sip:1001@10.1.1.5>;tag=atag1\r\n"
         "To: <sip:02079460000@198.51.100.1>;tag=" + r183->to().tag + "\r\n"
         "Call-ID: a-call-1@10.1.1.5\r\nCSeq: 2 PRACK\r\nRAck: " + rseq + " 1 INVITE\r\n"
         "Content-Length: 0\r\n\r\n", from_pbx());
  auto after = sent_to(kPbx);
  ASSERT_NE(find(after, "PRACK", 200), nullptr);
  ASSERT_NE(find(after, "INVITE", 200), nullptr) << "the held 2xx follows the PRACK's 200";
}

}  // namespace
}  // namespace portico::b2bua

namespace portico::b2bua {
namespace {

TEST_F(B2buaTest, DrainingRefusesNewCallsWith503AndRetryAfter) {
  b2b_.set_draining(true);
  inject(invite(), from_pbx());
  EXPECT_TRUE(sent_to(kPrimary).empty()) << "nothing may leave toward the trunk while draining";
  const auto to_pbx = sent_to(kPbx);
  const sip::Message* r503 = find(to_pbx, "INVITE", 503);
  ASSERT_NE(r503, nullptr);
  EXPECT_EQ(r503->header("Retry-After").value_or(""), "30");
  EXPECT_EQ(b2b_.call_count(), 0u);
}

}  // namespace
}  // namespace portico::b2bua

// The edge: identity trust, escaped user parts, length limits, texts that name no topology.
namespace portico::b2bua {
namespace {

class B2buaEdgeTest : public B2buaTest {
 protected:
  /// The fixture's policy with `from` replaced by `to` (every occurrence).
  void edit_policy(const std::string& from, const std::string& to) {
    std::string text = kPolicy;
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
    policy_ = policy::load_policy_texts({{"policy.yaml", text}});
  }

  static std::string head_of(const sip::Message& m) {
    std::string raw(m.raw());
    return raw.substr(0, raw.find("\r\n\r\n"));
  }
};

TEST_F(B2buaEdgeTest, IdentityHeadersFromAnUntrustedPeerAreRemovedAndCounted) {
  edit_policy(", trusted: true}", "}");
  inject(invite("02079460000", "a-call-1@10.1.1.5",
                "P-Preferred-Identity: <sip:+442079460002@10.1.1.5>\r\n"
                "Diversion: <sip:+442079460003@10.1.1.5>;reason=unconditional\r\n"
                "Identity: abc.def.ghi;info=<https://cert.example/x.pem>\r\n"
                "Privacy: none\r\n"),
         from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  const std::string head = head_of(to_trunk[0]);
  for (const char* h : {"P-Asserted-Identity", "P-Preferred-Identity", "Diversion", "Identity:"}) {
    EXPECT_EQ(head.find(h), std::string::npos) << h << " crossed from an untrusted peer:\n" << head;
  }
  EXPECT_NE(head.find("Privacy: none"), std::string::npos) << "other passed headers still pass";
  EXPECT_EQ(b2b_.stats().identity_removed, 4u);
}

TEST_F(B2buaEdgeTest, IdentityFromAnUntrustedTrunkIsRemovedFromItsAnswer) {
  inject(invite(), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  inject(response_to(inv, 200, "btag1", "P-Asserted-Identity: <sip:+15550001@203.0.113.50>\r\n",
                     "v=0\r\n"),
         from_trunk(kPrimary));
  const auto to_pbx = sent_to(kPbx);
  const sip::Message* ok = find(to_pbx, "INVITE", 200);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(head_of(*ok).find("P-Asserted-Identity"), std::string::npos) << head_of(*ok);
  EXPECT_EQ(b2b_.stats().identity_removed, 1u);
}

TEST_F(B2buaEdgeTest, EscapedUserPartCannotInjectIntoToOrTheRequestUri) {
  // libosip2 unescapes "%3E%3Btag%3Dx": written back as is, it would close the URI in To and
  // give the trunk a To tag of the attacker's choice.
  inject(invite("0044%3E%3Btag%3Dx"), from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  const sip::Message& out = to_trunk[0];
  EXPECT_EQ(out.to().tag, "") << head_of(out);
  auto ruri = out.request_uri_parts();
  ASSERT_TRUE(ruri.ok());
  EXPECT_EQ(ruri->user, "+44044>;tag=x");  // one user part, the same number
  EXPECT_EQ(ruri->host, "203.0.113.50");
  EXPECT_EQ(head_of(out).find(">;tag=x"), std::string::npos) << head_of(out);
}

TEST_F(B2buaEdgeTest, EscapedCallerUserCannotInjectIntoFrom) {
  std::string req = invite();
  const std::string from = "From: \"Alice\" <sip:1001@10.1.1.5>;tag=atag1";
  req.replace(req.find(from), from.size(), "From: <sip:1001%3E%3Btag%3Devil@10.1.1.5>;tag=atag1");
  inject(req, from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  EXPECT_NE(to_trunk[0].from().tag, "evil");
  EXPECT_EQ(head_of(to_trunk[0]).find(">;tag=evil"), std::string::npos);
}

TEST_F(B2buaEdgeTest, LongDisplayNameIsTruncatedAndCounted) {
  std::string req = invite();
  const std::string alice = "\"Alice\"";
  req.replace(req.find(alice), alice.size(), "\"" + std::string(16 * 1024, 'A') + "\"");
  inject(req, from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  // 128 bytes as written: the quotes and 126 bytes of the name
  EXPECT_EQ(to_trunk[0].from().display, std::string(126, 'A'));
  EXPECT_NE(head_of(to_trunk[0]).find("From: \"" + std::string(126, 'A') + "\" <"),
            std::string::npos);
  EXPECT_EQ(b2b_.stats().too_long_truncated, 1u);
}

TEST_F(B2buaEdgeTest, LongDisplayNameIsRefusedWhenThePolicySaysSo) {
  edit_policy("headers: {server_name: Portico}",
              "headers: {server_name: Portico, on_too_long: refuse}");
  std::string req = invite();
  const std::string alice = "\"Alice\"";
  req.replace(req.find(alice), alice.size(), "\"" + std::string(200, 'A') + "\"");
  inject(req, from_pbx());
  EXPECT_TRUE(sent_to(kPrimary).empty());
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 400), nullptr);
  EXPECT_EQ(b2b_.stats().too_long_refused, 1u);
  EXPECT_EQ(b2b_.call_count(), 0u);
}

TEST_F(B2buaEdgeTest, LongUriAndBodyAreRefused) {
  inject(invite("0" + std::string(1100, '1')), from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 414), nullptr);
  std::string big = invite("02079460000", "big-body@10.1.1.5");
  const std::string cl = "Content-Length: ";
  const auto at = big.find(cl);
  const std::string body =
      big.substr(big.find("\r\n\r\n") + 4) + "a=x-pad:" + std::string(17000, 'p') + "\r\n";
  big = big.substr(0, at) + cl + std::to_string(body.size()) + "\r\n\r\n" + body;
  inject(big, from_pbx());
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 413), nullptr);
  EXPECT_TRUE(sent_to(kPrimary).empty());
  EXPECT_EQ(b2b_.stats().too_long_refused, 2u);
}

TEST_F(B2buaEdgeTest, OverlongBodyInADialogIsRefused) {
  sip::Message inv = answered_call();
  sent_to(kPbx);
  const std::string from = inv.to().raw + ";tag=btag1";
  const std::string body = "v=0\r\n" + std::string(17000, 'x');
  std::string info = request_in_dialog("INFO", inv.contacts()[0].uri, from, inv.from().raw,
                                       inv.call_id(), 5,
                                       "SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKin1");
  info.replace(info.find("Content-Length: 0\r\n\r\n"), 21,
               "Content-Type: application/x-blob\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  inject(info, from_trunk(kPrimary));
  EXPECT_NE(find(sent_to(kPrimary), "INFO", 413), nullptr);
  EXPECT_EQ(find(sent_to(kPbx), "INFO"), nullptr);
  EXPECT_EQ(b2b_.stats().too_long_refused, 1u);
  EXPECT_EQ(b2b_.call_count(), 1u);  // the call goes on
}

TEST_F(B2buaEdgeTest, OverlongPassedHeaderIsDropped) {
  inject(invite("02079460000", "a-call-1@10.1.1.5",
                "Subject: " + std::string(3000, 's') + "\r\nPriority: urgent\r\n"),
         from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  EXPECT_EQ(head_of(to_trunk[0]).find("Subject"), std::string::npos);
  EXPECT_NE(head_of(to_trunk[0]).find("Priority: urgent"), std::string::npos);
  EXPECT_EQ(b2b_.stats().too_long_dropped, 1u);
}

TEST_F(B2buaEdgeTest, HostNamesInPassedHeadersAreHidden) {
  std::string req = invite();
  const std::string pai = "P-Asserted-Identity: <sip:+442079460001@10.1.1.5>";
  req.replace(req.find(pai), pai.size(),
              "P-Asserted-Identity: <sip:+442079460001@pbx7.corp.internal:5060>");
  inject(req, from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  const std::string head = head_of(to_trunk[0]);
  EXPECT_EQ(head.find("corp.internal"), std::string::npos) << head;
  EXPECT_NE(head.find("P-Asserted-Identity: <sip:+442079460001@203.0.113.1>"), std::string::npos)
      << head;
}

TEST_F(B2buaEdgeTest, ReasonPhrasesAreTheStandardOnesUnlessRelayed) {
  inject(invite(), from_pbx());
  auto inv = std::move(sent_to(kPrimary).front());
  inject(response_to(inv, 486, "p1"), from_trunk(kPrimary));  // "486 Status"
  auto to_pbx = sent_to(kPbx);  // find() points into it: keep it alive
  const sip::Message* busy = find(to_pbx, "INVITE", 486);
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->reason_phrase(), "Busy Here");

  edit_policy("headers: {server_name: Portico}",
              "headers: {server_name: Portico, relay_reason_phrases: true}");
  sent_to(kPrimary);  // the ACK of the first 486
  inject(invite("02079460000", "second@10.1.1.5"), from_pbx());
  auto second = sent_to(kPrimary);
  ASSERT_EQ(second.size(), 1u);
  inject(response_to(second[0], 486, "p2"), from_trunk(kPrimary));
  to_pbx = sent_to(kPbx);
  busy = find(to_pbx, "INVITE", 486);
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->reason_phrase(), "Status");
}

TEST_F(B2buaEdgeTest, NoServerOrUserAgentWithoutAServerName) {
  edit_policy("headers: {server_name: Portico}", "");
  inject(invite(), from_pbx());
  auto to_trunk = sent_to(kPrimary);
  ASSERT_EQ(to_trunk.size(), 1u);
  EXPECT_EQ(head_of(to_trunk[0]).find("User-Agent"), std::string::npos);
  inject(response_to(to_trunk[0], 486, "p1"), from_trunk(kPrimary));
  const auto to_pbx = sent_to(kPbx);
  const sip::Message* busy = find(to_pbx, "INVITE", 486);
  ASSERT_NE(busy, nullptr);
  EXPECT_FALSE(busy->header("Server").has_value());
}

}  // namespace
}  // namespace portico::b2bua

// A trunk that challenges Portico's requests (RFC 3261 §22.2): answered once with credentials
// from the policy, never shown to the caller; challenged again, the call fails 403.
namespace portico::b2bua {
namespace {

class B2buaTrunkAuthTest : public B2buaEdgeTest {
 protected:
  void SetUp() override {
    B2buaEdgeTest::SetUp();
    ::setenv("PORTICO_B2BUA_TRUNK_PW", "pw1", 1);
    edit_policy("max_calls: 2}",
                "max_calls: 2, auth: {username: pt, password_env: PORTICO_B2BUA_TRUNK_PW}}");
  }

  static std::string proxy_challenge(const std::string& nonce) {
    return "Proxy-Authenticate: Digest realm=\"carrier.example\", nonce=\"" + nonce +
           "\", qop=\"auth\", algorithm=MD5\r\n";
  }

  // The request's Proxy-Authorization checks against pt/pw1 for `method`.
  static bool authorized(const sip::Message& req, const std::string& method) {
    const auto v = req.header("Proxy-Authorization");
    if (!v) {
      return false;
    }
    const auto c = auth::parse_credentials(*v);
    return c && c->uri == req.request_uri() &&
           auth::expected_response(*c,
                                   auth::ha1(auth::Algorithm::Md5, "pt", "carrier.example", "pw1"),
                                   method) == c->response;
  }

  std::uint64_t trunk_auth(const std::string& result) const {
    const auto& m = b2b_.stats().trunk_auth;
    const auto it = m.find({"primary", result});
    return it == m.end() ? 0 : it->second;
  }
};

TEST_F(B2buaTrunkAuthTest, ChallengedInviteAndByeAreAnsweredOnceAndTheCallerSeesNothing) {
  inject(invite(), from_pbx());
  auto first = std::move(sent_to(kPrimary).front());
  EXPECT_FALSE(first.header("Proxy-Authorization"));
  inject(response_to(first, 407, "ctag", proxy_challenge("n1")), from_trunk(kPrimary));
  auto to_trunk = sent_to(kPrimary);
  const sip::Message* ack = find(to_trunk, "ACK");
  ASSERT_NE(ack, nullptr);  // the transaction layer's ACK for the 407, same branch
  EXPECT_EQ(ack->top_via().branch, first.top_via().branch);
  const sip::Message* again = find(to_trunk, "INVITE");
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(authorized(*again, "INVITE"));
  EXPECT_EQ(again->call_id(), first.call_id());
  EXPECT_EQ(again->from().tag, first.from().tag);
  EXPECT_EQ(again->cseq(), 2u);
  EXPECT_NE(again->top_via().branch, first.top_via().branch);
  EXPECT_EQ(again->body(), first.body());
  for (const auto& m : sent_to(kPbx)) {
    EXPECT_TRUE(m.status() == 100) << m.status();  // nothing of the challenge reaches A
  }
  inject(response_to(*again, 200, "btag1", "", "v=0\r\n"), from_trunk(kPrimary));
  const auto ok = sent_to(kPbx);
  const sip::Message* r200 = find(ok, "INVITE", 200);
  ASSERT_NE(r200, nullptr);
  const auto b_acks = sent_to(kPrimary);
  const sip::Message* b_ack = find(b_acks, "ACK");
  ASSERT_NE(b_ack, nullptr);
  EXPECT_EQ(b_ack->cseq(), 2u);  // the ACK of the 2xx names the INVITE as resent

  const std::string a_to = "<sip:02079460000@198.51.100.1>;tag=" + r200->to().tag;
  inject(request_in_dialog("BYE", "sip:x@198.51.100.1", "\"Alice\" <sip:1001@10.1.1.5>;tag=atag1",
                           a_to, "a-call-1@10.1.1.5", 2,
                           "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKbye1"),
         from_pbx());
  sent_to(kPbx);
  auto bye = std::move(sent_to(kPrimary).front());
  EXPECT_EQ(bye.cseq(), 3u);
  inject(response_to(bye, 407, "", proxy_challenge("n2")), from_trunk(kPrimary));
  auto bye2 = std::move(sent_to(kPrimary).front());
  EXPECT_EQ(bye2.method(), "BYE");
  EXPECT_EQ(bye2.cseq(), 4u);
  EXPECT_TRUE(authorized(bye2, "BYE"));
  EXPECT_EQ(b2b_.call_count(), 1u);
  inject(response_to(bye2, 200, ""), from_trunk(kPrimary));
  EXPECT_EQ(b2b_.call_count(), 0u);
  EXPECT_EQ(trunk_auth("answered"), 2u);
  EXPECT_EQ(trunk_auth("failed"), 0u);
}

TEST_F(B2buaTrunkAuthTest, ChallengedAgainTheCallerGets403AndNoFailover) {
  inject(invite(), from_pbx());
  auto first = std::move(sent_to(kPrimary).front());
  inject(response_to(first, 407, "ctag", proxy_challenge("n1")), from_trunk(kPrimary));
  auto again = std::move(sent_to(kPrimary).back());
  ASSERT_EQ(again.method(), "INVITE");
  inject(response_to(again, 407, "ctag", proxy_challenge("n2")), from_trunk(kPrimary));
  const auto to_pbx = sent_to(kPbx);
  EXPECT_NE(find(to_pbx, "INVITE", 403), nullptr);
  EXPECT_EQ(find(to_pbx, "INVITE", 407), nullptr);
  auto after = sent_to(kPrimary);
  EXPECT_EQ(find(after, "INVITE"), nullptr);  // never a third INVITE
  EXPECT_TRUE(sent_to(kBackup).empty());      // and no failover
  EXPECT_EQ(trunk_auth("failed"), 1u);
  EXPECT_EQ(b2b_.call_count(), 0u);
}

TEST_F(B2buaTrunkAuthTest, ChallengedReInviteIsResentAndItsAckNamesTheResentCSeq) {
  sip::Message inv = answered_call();
  // A re-INVITE from A with an offer: B challenges it, Portico answers, B accepts.
  std::string reinv =
      request_in_dialog("INVITE", "sip:x@198.51.100.1", "\"Alice\" <sip:1001@10.1.1.5>;tag=atag1",
                        "<sip:02079460000@198.51.100.1>;tag=" + a_tag_, "a-call-1@10.1.1.5", 2,
                        "SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKre2");
  const std::string body = "v=0\r\no=hold\r\n";
  reinv.replace(reinv.find("Content-Length: 0\r\n\r\n"), 21,
                "Contact: <sip:1001@10.1.1.5:5060>\r\nContent-Type: application/sdp\r\n"
                "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
  inject(reinv, from_pbx());
  sent_to(kPbx);
  auto first = std::move(sent_to(kPrimary).front());
  ASSERT_EQ(first.method(), "INVITE");
  inject(response_to(first, 407, "", proxy_challenge("r1")), from_trunk(kPrimary));
  EXPECT_TRUE(sent_to(kPbx).empty());  // A sees nothing of the challenge
  const auto resent = sent_to(kPrimary);
  const sip::Message* again = find(resent, "INVITE");
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(authorized(*again, "INVITE"));
  EXPECT_EQ(again->cseq(), first.cseq() + 1);
  EXPECT_EQ(again->to().tag, "btag1");
  inject(response_to(*again, 200, "", "", "v=0\r\n"), from_trunk(kPrimary));
  EXPECT_NE(find(sent_to(kPbx), "INVITE", 200), nullptr);
  const auto acks = sent_to(kPrimary);
  const sip::Message* ack = find(acks, "ACK");
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->cseq(), again->cseq());
  EXPECT_EQ(inv.call_id(), again->call_id());
}

TEST_F(B2buaTrunkAuthTest, CancelAfterAnsweredChallengeNamesTheResentInvite) {
  inject(invite(), from_pbx());
  auto first = std::move(sent_to(kPrimary).front());
  inject(response_to(first, 407, "ctag", proxy_challenge("n1")), from_trunk(kPrimary));
  auto again = std::move(sent_to(kPrimary).back());
  inject(response_to(again, 180, "btag1"), from_trunk(kPrimary));
  sent_to(kPbx);
  inject(kCancelFromPbx, from_pbx());
  const auto cancels = sent_to(kPrimary);
  const sip::Message* cancel = find(cancels, "CANCEL");
  ASSERT_NE(cancel, nullptr);
  EXPECT_EQ(cancel->cseq(), 2u);
  EXPECT_EQ(cancel->top_via().branch, again.top_via().branch);
  EXPECT_FALSE(cancel->header("Proxy-Authorization"));
}

}  // namespace
}  // namespace portico::b2bua
