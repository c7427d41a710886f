// Session limits of trunks and access peers in the B2BUA: inbound max_calls_in and cps_in
// (503, Retry-After), outbound max_calls_out (next target) and cps_out pacing (INVITEs held
// for their turn, a bounded queue, a CANCEL leaving it). Real transaction layer and policy
// loader, virtual time, a transport that records what would go on the wire.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "portico/b2bua/b2bua.hpp"
#include "portico/policy/loader.hpp"
#include "portico/sip/message.hpp"
#include "recording_transport.hpp"

namespace portico::b2bua {
namespace {

using std::chrono::milliseconds;
using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

constexpr const char* kPolicy = R"(
server: {shards: 1}
realms:
  access: {listeners: ["udp://198.51.100.1:5060"]}
  carrier: {listeners: ["udp://203.0.113.1:5060"]}
trunks:
  paced: {realm: carrier, host: 203.0.113.50, cps_out: 5, pacing_wait: 1s, pacing_queue: 3}
  spare: {realm: carrier, host: 203.0.113.51, max_calls_out: 1}
access_peers:
  pbx: {realm: access, sources: ["10.1.1.5/32"], host: 10.1.1.5}
  small: {realm: access, sources: ["10.1.1.6/32"], max_calls_in: 1}
  capped: {realm: access, sources: ["10.1.1.7/32"], cps_in: 2, cps_burst: 2}
routes:
  - {name: paced, match: {realm: access, user_prefix: "1"}, targets: [{trunk: paced}]}
  - name: failover
    match: {realm: access, user_prefix: "2"}
    targets: [{trunk: paced}, {trunk: spare}]
  - {name: spare, match: {realm: access, user_prefix: "3"}, targets: [{trunk: spare}]}
)";

const Endpoint kPbx{asio::ip::make_address("10.1.1.5"), 5060};
const Endpoint kSmall{asio::ip::make_address("10.1.1.6"), 5060};
const Endpoint kCapped{asio::ip::make_address("10.1.1.7"), 5060};
const Endpoint kPaced{asio::ip::make_address("203.0.113.50"), 5060};
const Endpoint kSpare{asio::ip::make_address("203.0.113.51"), 5060};

std::string invite(const std::string& user, int n, const Endpoint& from = kPbx,
                   const std::string& method = "INVITE") {
  const std::string host = from.address.to_string();
  return method + " sip:" + user +
         "@198.51.100.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP " +
         host + ":5060;branch=z9hG4bKc" + std::to_string(n) +
         "\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:1001@" +
         host + ">;tag=a" + std::to_string(n) +
         "\r\n"
         "To: <sip:" +
         user + "@198.51.100.1>\r\nCall-ID: call-" + std::to_string(n) +
         "\r\n"
         "CSeq: 1 " +
         method + "\r\nContact: <sip:1001@" + host +
         ":5060>\r\n"
         "Content-Length: 0\r\n\r\n";
}

class SessionLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sip::init_parser();
    transport_.realm_hosts = {{"access", "198.51.100.1"}, {"carrier", "203.0.113.1"}};
  }

  void inject(const std::string& text, const Endpoint& from) {
    auto m = sip::Message::parse(text);
    ASSERT_TRUE(m.ok()) << text;
    layer_.receive(
        std::move(m.value()),
        Flow{Protocol::Udp, "access", {asio::ip::make_address("198.51.100.1"), 5060}, from, {}});
  }

  /// The requests (or responses with `status`) sent to `to` since the last look.
  std::vector<sip::Message> sent_to(const Endpoint& to) {
    std::vector<sip::Message> out;
    for (auto& s : transport_.take_to(to)) {
      auto m = sip::Message::parse(s.data);
      if (m.ok()) {
        out.push_back(std::move(m.value()));
      }
    }
    return out;
  }

  /// Responses with `status`, or (status 0) INVITEs of a B leg not seen before: the
  /// trunk never answers here, so its INVITEs are retransmitted (Timer A) and counted once.
  int count(const std::vector<sip::Message>& msgs, int status) {
    int n = 0;
    for (const auto& m : msgs) {
      if (status != 0) {
        n += m.status() == status ? 1 : 0;
      } else if (m.is_request() && m.method() == "INVITE") {
        n += b_legs_.insert(m.call_id()).second ? 1 : 0;
      }
    }
    return n;
  }

  std::set<std::string> b_legs_;
  ManualTimerService timers_;
  test::RecordingTransport transport_;
  TrunkUsage usage_;
  PassthroughMediaFactory media_;
  std::shared_ptr<const policy::PolicySnapshot> policy_ =
      policy::load_policy_texts({{"policy.yaml", kPolicy}});
  sip::TransactionLayer layer_{timers_, transport_, sip::TimerConfig{}, b2b_};
  B2bua b2b_{layer_, 0, timers_, transport_, usage_, media_, [this] { return policy_; }, "9.9.9"};
};

TEST_F(SessionLimitsTest, OutboundCallsOverCpsOutAreHeldForTheirTurnNotFailed) {
  // 4 INVITEs at once toward a 5 CPS trunk (burst 1): one now, three held 200 ms apart.
  for (int i = 1; i <= 4; ++i) {
    inject(invite("100", i), kPbx);
  }
  EXPECT_EQ(count(sent_to(kPaced), 0), 1) << "the first goes at once";
  EXPECT_EQ(b2b_.stats().calls_paced, 3u);
  EXPECT_EQ(usage_.in_use("queue/paced"), 3);
  for (int turn = 1; turn <= 3; ++turn) {
    timers_.advance(milliseconds(199));
    EXPECT_EQ(count(sent_to(kPaced), 0), 0) << "not before its turn " << turn;
    timers_.advance(milliseconds(1));
    EXPECT_EQ(count(sent_to(kPaced), 0), 1) << "turn " << turn;
  }
  EXPECT_EQ(count(sent_to(kPbx), 503), 0) << "a paced call is delayed, never failed";
  EXPECT_EQ(usage_.in_use("queue/paced"), 0);
  EXPECT_EQ(b2b_.call_count(), 4u);
}

TEST_F(SessionLimitsTest, BeyondTheQueueA503WithRetryAfter) {
  for (int i = 1; i <= 6; ++i) {
    inject(invite("100", i), kPbx);
  }
  EXPECT_EQ(count(sent_to(kPaced), 0), 1);
  EXPECT_EQ(b2b_.stats().calls_paced, 3u) << "pacing_queue: 3";
  const auto to_pbx = sent_to(kPbx);
  ASSERT_EQ(count(to_pbx, 503), 2);
  for (const auto& m : to_pbx) {
    if (m.status() == 503) {
      EXPECT_EQ(m.header("Retry-After").value_or(""), "1") << "the next turn is 800 ms away";
    }
  }
  EXPECT_EQ(b2b_.stats().limited_out_cps, 2u);
  EXPECT_EQ(b2b_.stats().calls_failed, 2u);
  timers_.advance(milliseconds(1000));
  EXPECT_EQ(count(sent_to(kPaced), 0), 3) << "the queued ones all went";
}

TEST_F(SessionLimitsTest, AFullQueueFailsOverToTheNextTarget) {
  for (int i = 1; i <= 4; ++i) {
    inject(invite("100", i), kPbx);  // paced: one sent, three queued: the queue is full
  }
  sent_to(kPaced);
  inject(invite("200", 5), kPbx);  // route failover: paced, then spare
  EXPECT_EQ(count(sent_to(kSpare), 0), 1) << "spare takes it at once";
  EXPECT_EQ(count(sent_to(kPbx), 503), 0);
}

TEST_F(SessionLimitsTest, CancelOfAQueuedCallRemovesItCleanly) {
  inject(invite("100", 1), kPbx);
  inject(invite("100", 2), kPbx);
  EXPECT_EQ(count(sent_to(kPaced), 0), 1);
  ASSERT_EQ(b2b_.call_count(), 2u);
  inject(invite("100", 2, kPbx, "CANCEL"), kPbx);
  const auto to_pbx = sent_to(kPbx);
  EXPECT_EQ(count(to_pbx, 487), 1) << "the queued call is answered 487";
  EXPECT_EQ(b2b_.call_count(), 1u) << "and freed at once";
  EXPECT_EQ(usage_.in_use("queue/paced"), 0) << "its place in the queue is given back";
  timers_.advance(milliseconds(2000));
  EXPECT_EQ(count(sent_to(kPaced), 0), 0) << "nothing goes to the trunk for it, ever";
}

TEST_F(SessionLimitsTest, InboundCpsOverTheRateGets503WithRetryAfter) {
  inject(invite("100", 1, kCapped), kCapped);
  inject(invite("100", 2, kCapped), kCapped);  // burst 2
  inject(invite("100", 3, kCapped), kCapped);
  const auto to_pbx = sent_to(kCapped);
  ASSERT_EQ(count(to_pbx, 503), 1);
  for (const auto& m : to_pbx) {
    if (m.status() == 503) {
      EXPECT_EQ(m.call_id(), "call-3");
      EXPECT_EQ(m.header("Retry-After").value_or(""), "1");
    }
  }
  EXPECT_EQ(b2b_.stats().limited_in_cps, 1u);
  EXPECT_EQ(b2b_.stats().calls_rejected, 1u);
  timers_.advance(milliseconds(500));
  inject(invite("100", 4, kCapped), kCapped);
  for (const auto& m : sent_to(kCapped)) {
    EXPECT_FALSE(m.status() == 503 && m.call_id() == "call-4") << "one more after 1/2 s";
  }
  EXPECT_EQ(b2b_.stats().limited_in_cps, 1u);
}

TEST_F(SessionLimitsTest, MaxCallsInRefusesAndMaxCallsOutMovesOn) {
  inject(invite("300", 1, kSmall), kSmall);
  EXPECT_EQ(count(sent_to(kSpare), 0), 1);
  inject(invite("300", 2, kSmall), kSmall);
  EXPECT_EQ(count(sent_to(kSmall), 503), 1) << "small allows one call in";
  EXPECT_EQ(b2b_.stats().limited_in_calls, 1u);
  inject(invite("300", 3), kPbx);
  EXPECT_EQ(count(sent_to(kSpare), 0), 0) << "spare allows one call out";
  EXPECT_EQ(count(sent_to(kPbx), 503), 1);
  EXPECT_EQ(b2b_.stats().limited_out_calls, 1u);
}

}  // namespace
}  // namespace portico::b2bua
