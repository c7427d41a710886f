// The front door driven in-process with a real B2BUA and a real registrar behind it: raw bytes
// in, what would go on the wire out. Each test checks who got a message by what it sent.

#include "portico/runtime/sip_front_door.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "portico/b2bua/b2bua.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/trunk_usage.hpp"
#include "portico/policy/loader.hpp"
#include "portico/registrar/registrar.hpp"
#include "portico/sip/message.hpp"
#include "portico/sip/shard_routing.hpp"
#include "portico/trace/call_traces.hpp"
#include "recording_transport.hpp"

namespace portico::runtime {
namespace {

using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

const std::string kPolicy = R"(
timers: {t1: 500ms, t2: 4s, t4: 5s}
realms:
  access: {listeners: ["udp://198.51.100.1:5060"]}
  carrier: {listeners: ["udp://203.0.113.1:5060"]}
trunks:
  demo: {realm: carrier, host: 203.0.113.50}
access_peers:
  phones: {realm: access, sources: ["192.0.2.0/24"]}
routes:
  - name: out
    match: {realm: access}
    targets: [{trunk: demo}]
registration:
  realm: access
  domains: [example.com]
  registrar: demo
  client_expires: 60s
  upstream_expires: 3600s
)";

const Endpoint kPhone{asio::ip::make_address("192.0.2.77"), 40123};
const Endpoint kCarrier{asio::ip::make_address("203.0.113.50"), 5060};
const Endpoint kStranger{asio::ip::make_address("198.18.0.9"), 5070};

std::string request(const std::string& method, const std::string& call_id,
                    const std::string& to = "<sip:alice@example.com>",
                    const std::string& extra = "") {
  return method +
         " sip:alice@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK" +
         call_id +
         ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@example.com>;tag=phone1\r\n"
         "To: " +
         to +
         "\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 " +
         method +
         "\r\n"
         "Contact: <sip:alice@10.0.0.5:5062>\r\n" +
         extra + "Content-Length: 0\r\n\r\n";
}

class SipFrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override { sip::init_parser(); }

  /// Shard 0 of `shards`, with its B2BUA and registrar behind the door.
  void start(std::uint16_t shards = 1, const std::string& more_policy = "") {
    policy_ = policy::load_policy_texts({{"p.yaml", kPolicy + more_policy}});
    wire_.realm_hosts = {{"access", "198.51.100.1"}, {"carrier", "203.0.113.1"}};
    door_ = std::make_unique<SipFrontDoor>(0, shards, timers_, wire_, traces_, policy_,
                                           [this](std::uint16_t owner, transport::Inbound&& in) {
                                             handed_.emplace_back(owner, std::move(in));
                                           });
    b2bua_ = std::make_unique<b2bua::B2bua>(
        door_->layer(), 0, timers_, door_->transport(), usage_, media_, [this] { return policy_; },
        "9.9.9");
    registrar_ = std::make_unique<registrar::Registrar>(
        0, shards, timers_, door_->transport(), door_->layer(), [this] { return policy_; },
        [] { return sip::make_call_id(0); }, [](registrar::BindingUpdate) {}, "9.9.9");
    door_->connect(*b2bua_, *registrar_);
  }

  static Flow from(const Endpoint& remote, const std::string& realm) {
    const char* local = realm == "access" ? "198.51.100.1" : "203.0.113.1";
    return Flow{Protocol::Udp, realm, {asio::ip::make_address(local), 5060}, remote, {}};
  }

  void deliver(const std::string& text, const Flow& flow) {
    door_->deliver(transport::Inbound{text, flow, {}});
  }

  /// What was sent to `to` since the last call, parsed.
  std::vector<sip::Message> sent_to(const Endpoint& to) {
    std::vector<sip::Message> out;
    for (auto& s : wire_.take_to(to)) {
      auto m = sip::Message::parse(s.data);
      EXPECT_TRUE(m.ok()) << s.data;
      if (m.ok())
        out.push_back(std::move(m.value()));
    }
    return out;
  }

  static const sip::Message* find(const std::vector<sip::Message>& msgs, const std::string& method,
                                  int status = 0) {
    for (const auto& m : msgs) {
      if (status == 0 ? m.is_request() && m.method() == method
                      : m.is_response() && m.status() == status && m.cseq_method() == method) {
        return &m;
      }
    }
    return nullptr;
  }

  /// The registrar's answer to an upstream request.
  std::string answer(const sip::Message& req, int status, const std::string& extra = "") {
    return "SIP/2.0 " + std::to_string(status) + " OK\r\nVia: " + req.top_via().raw +
           "\r\nFrom: " + req.from().raw + "\r\nTo: " + req.to().raw +
           ";tag=up9\r\nCall-ID: " + req.call_id() + "\r\nCSeq: " + std::to_string(req.cseq()) +
           " " + req.method() + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
  }

  /// start() with `rate_limits`, the bans this shard hands on to the others recorded in bans_.
  void start_guarded(const std::string& rate_limits) {
    start(1, "rate_limits: " + rate_limits + "\n");
    door_->source_guard().set_ban_sink(
        [this](const asio::ip::address& a, TimePoint) { bans_.push_back(a); });
  }

  void options_from(const Endpoint& remote, const std::string& realm, const std::string& id) {
    door_->dispatch(transport::Inbound{request("OPTIONS", id), from(remote, realm), {}});
  }

  std::vector<asio::ip::address> bans_;
  std::shared_ptr<const policy::PolicySnapshot> policy_;
  ManualTimerService timers_;
  test::RecordingTransport wire_;
  trace::CallTraces traces_{0, timers_, nullptr, nullptr};
  b2bua::TrunkUsage usage_;
  b2bua::PassthroughMediaFactory media_;
  std::vector<std::pair<std::uint16_t, transport::Inbound>> handed_;
  // The layer's users go before the door that owns the layer.
  std::unique_ptr<SipFrontDoor> door_;
  std::unique_ptr<b2bua::B2bua> b2bua_;
  std::unique_ptr<registrar::Registrar> registrar_;
};

TEST_F(SipFrontDoorTest, InviteGoesToTheB2buaAndRegisterToTheRegistrar) {
  start();
  deliver(request("INVITE", "call-1@10.0.0.5", "<sip:0123@example.com>"), from(kPhone, "access"));
  EXPECT_NE(find(sent_to(kPhone), "INVITE", 100), nullptr);
  auto up = sent_to(kCarrier);
  ASSERT_NE(find(up, "INVITE"), nullptr);
  EXPECT_EQ(b2bua_->call_count(), 1u);
  EXPECT_EQ(registrar_->binding_count(), 0u);

  deliver(request("REGISTER", "reg-1@10.0.0.5", "<sip:alice@example.com>", "Expires: 60\r\n"),
          from(kPhone, "access"));
  up = sent_to(kCarrier);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].method(), "REGISTER");
  EXPECT_EQ(registrar_->binding_count(), 1u);
  EXPECT_EQ(b2bua_->call_count(), 1u);
}

TEST_F(SipFrontDoorTest, AnswersToTheRegistrarsOwnRequestsGoBackToIt) {
  start();
  deliver(request("REGISTER", "reg-1@10.0.0.5", "<sip:alice@example.com>", "Expires: 60\r\n"),
          from(kPhone, "access"));
  auto up = sent_to(kCarrier);
  ASSERT_EQ(up.size(), 1u);
  deliver(answer(up[0], 200, "Contact: <" + up[0].contacts().at(0).uri + ">;expires=3600\r\n"),
          from(kCarrier, "carrier"));
  auto to_phone = sent_to(kPhone);
  ASSERT_EQ(to_phone.size(), 1u);
  EXPECT_EQ(to_phone[0].status(), 200);
  const auto stats = registrar_->stats();
  EXPECT_EQ(stats.outcomes[static_cast<std::size_t>(registrar::RegisterOutcome::Registered)], 1u);
  EXPECT_EQ(stats.active.at("access"), 1u);
}

TEST_F(SipFrontDoorTest, RegisterOutsideTheRegistrationRealmOrInADialogIsTheB2buasToRefuse) {
  start();
  deliver(request("REGISTER", "reg-2@203.0.113.50"), from(kCarrier, "carrier"));
  auto back = sent_to(kCarrier);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].status(), 405);
  ASSERT_TRUE(back[0].header("Allow").has_value());
  EXPECT_EQ(back[0].header("Allow")->find("REGISTER"), std::string::npos);

  deliver(request("REGISTER", "reg-3@10.0.0.5", "<sip:alice@example.com>;tag=old"),
          from(kPhone, "access"));
  auto to_phone = sent_to(kPhone);
  ASSERT_EQ(to_phone.size(), 1u);
  EXPECT_EQ(to_phone[0].status(), 481);
  EXPECT_EQ(registrar_->binding_count(), 0u);
}

TEST_F(SipFrontDoorTest, UnparseableAndInvalidMessagesAreCountedAndAnsweredWhenPossible) {
  start();
  deliver("this is not SIP\r\n\r\n", from(kPhone, "access"));
  EXPECT_EQ(door_->stats().messages, 1u);
  EXPECT_EQ(door_->stats().unparseable, 1u);
  EXPECT_EQ(door_->stats().dropped, 1u);
  EXPECT_TRUE(wire_.take().empty());

  // CSeq names another method than the request line: a 400 without any transaction.
  std::string bad = request("OPTIONS", "bad-1@10.0.0.5");
  bad.replace(bad.find("CSeq: 1 OPTIONS"), 15, "CSeq: 1 BYE");
  deliver(bad, from(kPhone, "access"));
  EXPECT_EQ(door_->stats().invalid, 1u);
  EXPECT_EQ(door_->stats().answered_400, 1u);
  auto to_phone = sent_to(kPhone);
  ASSERT_EQ(to_phone.size(), 1u);
  EXPECT_EQ(to_phone[0].status(), 400);
  EXPECT_EQ(door_->layer().server_count(), 0u);
}

TEST_F(SipFrontDoorTest, MessagesAreCountedBothWays) {
  start();
  deliver(request("OPTIONS", "opt-1@10.0.0.5"), from(kPhone, "access"));
  auto to_phone = sent_to(kPhone);
  ASSERT_EQ(to_phone.size(), 1u);
  EXPECT_EQ(to_phone[0].status(), 200);
  const auto& counts = door_->message_counts();
  EXPECT_EQ(counts.at({"access", "in", "OPTIONS", 0}), 1u);
  EXPECT_EQ(counts.at({"access", "out", "OPTIONS", 200}), 1u);
}

TEST_F(SipFrontDoorTest, DispatchKeepsItsOwnAndHandsTheRestToTheirOwner) {
  start(4);
  door_->dispatch(
      transport::Inbound{request("OPTIONS", sip::make_call_id(3)), from(kCarrier, "carrier"), {}});
  ASSERT_EQ(handed_.size(), 1u);
  EXPECT_EQ(handed_[0].first, 3);
  EXPECT_EQ(door_->stats().messages, 0u);

  door_->dispatch(
      transport::Inbound{request("OPTIONS", sip::make_call_id(0)), from(kCarrier, "carrier"), {}});
  EXPECT_EQ(handed_.size(), 1u);
  EXPECT_EQ(door_->stats().messages, 1u);

  // A REGISTER on the registration realm goes to its AOR's owner, whatever its Call-ID.
  const std::uint16_t owner = sip::shard_for_aor("alice@example.com", 4);
  door_->dispatch(transport::Inbound{
      request("REGISTER", sip::make_call_id((owner + 1) % 4)), from(kPhone, "access"), {}});
  if (owner == 0) {
    EXPECT_EQ(handed_.size(), 1u);
    EXPECT_EQ(door_->stats().messages, 2u);
  } else {
    ASSERT_EQ(handed_.size(), 2u);
    EXPECT_EQ(handed_[1].first, owner);
  }
}

TEST_F(SipFrontDoorTest, ASourceOverItsRateIsBannedBeforeParsingAndTheBanHandedOn) {
  start_guarded("{requests_per_second: 2, burst: 2, ban_time: 10s}");
  for (int i = 0; i < 5; ++i) {
    options_from(kPhone, "access", "opt" + std::to_string(i));
  }
  EXPECT_EQ(door_->stats().messages, 2u) << "the burst is parsed; the rest is not even looked at";
  EXPECT_EQ(sent_to(kPhone).size(), 2u) << "a banned source gets no answer";
  ASSERT_EQ(bans_.size(), 1u) << "the ban is handed on once, for the other shards";
  EXPECT_EQ(bans_[0], kPhone.address);
  EXPECT_EQ(door_->source_guard().stats().dropped_banned, 3u);
  options_from(kCarrier, "carrier", "opt-carrier");
  EXPECT_EQ(door_->stats().messages, 3u) << "other sources are still heard";
}

// The digest authenticator reports each failed check to the guard of the shard that ran it
// (SourceGuard::auth_failed): with `auth_failures: N`, N failures are tolerated in the window and
// the next one bans the source, which is then dropped before parsing here and on the other shards.
TEST_F(SipFrontDoorTest, FailedAuthenticationsPastTheLimitBanTheSourceBeforeParsing) {
  start_guarded("{auth_failures: 3, auth_window: 60s, ban_time: 10s}");
  for (int i = 0; i < 3; ++i) {
    door_->source_guard().auth_failed(kPhone.address);
  }
  options_from(kPhone, "access", "before");
  EXPECT_EQ(door_->stats().messages, 1u) << "3 failures within auth_failures: 3, still heard";
  EXPECT_TRUE(bans_.empty());
  door_->source_guard().auth_failed(kPhone.address);
  ASSERT_EQ(bans_.size(), 1u) << "the 4th failure bans, and the ban is handed on once";
  EXPECT_EQ(bans_[0], kPhone.address);
  sent_to(kPhone);
  options_from(kPhone, "access", "after");
  EXPECT_EQ(door_->stats().messages, 1u) << "dropped unparsed";
  EXPECT_TRUE(sent_to(kPhone).empty()) << "a banned source gets no answer";
  EXPECT_EQ(door_->source_guard().stats().bans_auth, 1u);
  EXPECT_EQ(door_->source_guard().stats().auth_failures, 4u);
  timers_.advance(std::chrono::seconds(11));
  options_from(kPhone, "access", "later");
  EXPECT_EQ(door_->stats().messages, 2u) << "heard again after ban_time";
}

TEST_F(SipFrontDoorTest, AnUnknownSourceGetsOneStateless403AndNothingElse) {
  start();
  deliver(request("INVITE", "stranger-1@198.18.0.9", "<sip:0123@example.com>"),
          from(kStranger, "access"));
  auto back = wire_.take();
  ASSERT_EQ(back.size(), 1u);                // no 100 Trying
  EXPECT_EQ(back[0].dst.remote, kStranger);  // to the source, whatever the Via says
  auto answer = sip::Message::parse(back[0].data);
  ASSERT_TRUE(answer.ok()) << back[0].data;
  EXPECT_EQ(answer->status(), 403);
  EXPECT_EQ(answer->call_id(), "stranger-1@198.18.0.9");
  EXPECT_EQ(answer->cseq_method(), "INVITE");
  EXPECT_FALSE(answer->to().tag.empty());
  // No transaction (so no retransmitted final), no call, no CDR: one counter.
  EXPECT_EQ(door_->layer().server_count(), 0u);
  EXPECT_EQ(b2bua_->call_count(), 0u);
  EXPECT_EQ(b2bua_->stats().calls_attempted, 0u);
  EXPECT_EQ(door_->stats().unknown_source_rejected, 1u);
  timers_.advance(std::chrono::seconds(40));  // past Timer H/J: nothing is resent
  EXPECT_TRUE(wire_.take().empty());

  // The same for any request; an ACK is never answered; a response goes on to the layer.
  deliver(request("OPTIONS", "stranger-2@198.18.0.9"), from(kStranger, "access"));
  deliver(request("ACK", "stranger-3@198.18.0.9"), from(kStranger, "access"));
  back = wire_.take();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_NE(back[0].data.find("SIP/2.0 403 Forbidden\r\n"), std::string::npos);
  EXPECT_EQ(door_->stats().unknown_source_rejected, 2u);
  EXPECT_EQ(door_->stats().unknown_source_dropped, 1u);
  // A known source on the wrong realm is unknown there.
  deliver(request("OPTIONS", "wrong-realm@10.0.0.5"), from(kPhone, "carrier"));
  EXPECT_EQ(door_->stats().unknown_source_rejected, 3u);
}

TEST_F(SipFrontDoorTest, UnknownSourceDropSendsNothing) {
  start(1, "ingress: {unknown_source: drop}\n");
  deliver(request("INVITE", "stranger-1@198.18.0.9", "<sip:0123@example.com>"),
          from(kStranger, "access"));
  deliver(request("REGISTER", "stranger-2@198.18.0.9", "<sip:alice@example.com>"),
          from(kStranger, "access"));
  timers_.advance(std::chrono::seconds(40));
  EXPECT_TRUE(wire_.take().empty());
  EXPECT_EQ(door_->stats().unknown_source_dropped, 2u);
  EXPECT_EQ(door_->stats().dropped, 2u);
  EXPECT_EQ(door_->layer().server_count(), 0u);
  EXPECT_EQ(registrar_->binding_count(), 0u);
  // Known sources are untouched.
  deliver(request("OPTIONS", "opt-1@10.0.0.5"), from(kPhone, "access"));
  auto to_phone = sent_to(kPhone);
  ASSERT_EQ(to_phone.size(), 1u);
  EXPECT_EQ(to_phone[0].status(), 200);
}

std::string with_headers(std::string msg, const std::string& name, std::size_t n) {
  std::string lines;
  for (std::size_t i = 0; i < n; ++i) {
    lines += name + ": v" + std::to_string(i) + "\r\n";
  }
  msg.insert(msg.find("Content-Length:"), lines);
  return msg;
}

TEST_F(SipFrontDoorTest, TooManyHeaderFieldsOrViasAreRefusedBeforeTheParse) {
  start();
  // 7,000 header fields in one datagram: refused by the cap with a small 513.
  const std::string big = with_headers(request("OPTIONS", "big-1@10.0.0.5"), "X-Pad", 7000);
  deliver(big, from(kPhone, "access"));
  auto back = wire_.take();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].dst.remote, kPhone);
  EXPECT_TRUE(back[0].data.starts_with("SIP/2.0 513 Message Too Large\r\n")) << back[0].data;
  EXPECT_LT(back[0].data.size(), 400u);
  EXPECT_EQ(door_->stats().too_many_headers, 1u);
  EXPECT_EQ(door_->layer().server_count(), 0u);

  // 17 Vias (16 allowed), some of them comma-separated in one field: refused, one Via back.
  std::string vias = request("OPTIONS", "vias-1@10.0.0.5");
  std::string extra;
  for (int i = 0; i < 8; ++i) {
    extra += "Via: SIP/2.0/UDP 10.0.0." + std::to_string(i) + ";branch=z9hG4bKa" +
             std::to_string(i) + ", SIP/2.0/UDP 10.0.1." + std::to_string(i) + "\r\n";
  }
  vias.insert(vias.find("Max-Forwards:"), extra);
  deliver(vias, from(kPhone, "access"));
  back = wire_.take();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(back[0].data.starts_with("SIP/2.0 513 ")) << back[0].data;
  EXPECT_EQ(back[0].data.find("10.0.0.0"), std::string::npos) << "only the top Via comes back";
  EXPECT_EQ(door_->stats().too_many_vias, 1u);

  // At the caps, a message goes through.
  deliver(with_headers(request("OPTIONS", "ok-1@10.0.0.5"), "X-Pad", 128 - 9),
          from(kPhone, "access"));
  auto to_phone = sent_to(kPhone);
  ASSERT_EQ(to_phone.size(), 1u);
  EXPECT_EQ(to_phone[0].status(), 200);
  EXPECT_EQ(door_->stats().too_many_headers, 1u);
}

TEST_F(SipFrontDoorTest, HeaderCapsComeFromThePolicy) {
  start(1, "ingress: {max_headers: 20, max_vias: 2}\n");
  deliver(with_headers(request("OPTIONS", "big-1@10.0.0.5"), "X-Pad", 16), from(kPhone, "access"));
  auto back = wire_.take();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(back[0].data.starts_with("SIP/2.0 513 ")) << back[0].data;
  EXPECT_EQ(door_->stats().too_many_headers, 1u);
}

}  // namespace
}  // namespace portico::runtime
