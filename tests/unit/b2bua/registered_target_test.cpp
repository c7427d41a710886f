// Calls to registered users, in-process: the carrier's INVITE for a user goes to the flow the
// user registered from (NAT address, same TCP connection) with its Contact as Request-URI; a
// user with no binding, or an unreachable one, is skipped, and with nothing left the caller
// gets 480 with the reason in the log and the CDR.

#include <gtest/gtest.h>

#include "portico/b2bua/b2bua.hpp"
#include "portico/policy/loader.hpp"
#include "portico/registrar/binding_directory.hpp"
#include "portico/sip/message.hpp"
#include "recording_transport.hpp"

namespace portico::b2bua {
namespace {

using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

constexpr const char* kPolicy = R"(
timers: {t1: 500ms, t2: 4s, t4: 5s}
realms:
  access: {listeners: ["udp://198.51.100.1:5060", "tcp://198.51.100.1:5060"]}
  carrier: {listeners: ["udp://203.0.113.1:5060"]}
trunks:
  carrier: {realm: carrier, host: 203.0.113.50}
access_peers:
  phones: {realm: access, sources: ["192.0.2.0/24"]}
  voicemail: {realm: access, sources: ["10.9.9.9/32"], host: 10.9.9.9}
registration: {realm: access}
routes:
  - name: to-phones
    match: {realm: carrier, user_prefix: "+"}
    rewrite: {strip: 1}
    targets: [{registered: access}]
  - name: to-phones-or-voicemail
    match: {realm: carrier}
    targets: [{registered: access}, {peer: voicemail}]
)";

const Endpoint kCarrier{asio::ip::make_address("203.0.113.50"), 5060};
const Endpoint kNat{asio::ip::make_address("192.0.2.77"), 40123};
const Endpoint kVoicemail{asio::ip::make_address("10.9.9.9"), 5060};

std::string invite(const std::string& user) {
  return "INVITE sip:" + user + "@203.0.113.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKc" + user + "\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:+4420@203.0.113.50>;tag=c1\r\n"
         "To: <sip:" + user + "@203.0.113.1>\r\nCall-ID: c-" + user + "@203.0.113.50\r\n"
         "CSeq: 1 INVITE\r\nContact: <sip:core@203.0.113.50>\r\nContent-Length: 0\r\n\r\n";
}

// An INVITE for user@host, each with its own Call-ID and branch (`n`).
std::string invite_to(const std::string& user, const std::string& host, int n) {
  const std::string id = std::to_string(n);
  return "INVITE sip:" + user + "@" + host +
         " SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 203.0.113.50:5060;branch=z9hG4bKd" +
         id +
         "\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:+4420@203.0.113.50>;tag=d" +
         id +
         "\r\n"
         "To: <sip:" +
         user + "@" + host + ">\r\nCall-ID: d-" + id +
         "@203.0.113.50\r\n"
         "CSeq: 1 INVITE\r\nContact: <sip:core@203.0.113.50>\r\nContent-Length: 0\r\n\r\n";
}

class RegisteredTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sip::init_parser();
    transport_.realm_hosts = {{"access", "198.51.100.1"}, {"carrier", "203.0.113.1"}};
    b2b_.set_bindings(&bindings_);
  }

  void bind(const std::string& user, transport::Destination flow, bool reachable = true) {
    bind_in(user, "access", std::move(flow), reachable);
  }

  // `domain` "access": Portico's own (the policy lists no domains).
  void bind_in(const std::string& user, const std::string& domain, transport::Destination flow,
               bool reachable = true) {
    registrar::ContactRoute r{user + "@" + (domain == "access" ? "198.51.100.1" : domain),
                              user,
                              domain,
                              "access",
                              "sip:" + user + "@10.0.0.5:5062",
                              std::move(flow),
                              reachable};
    bindings_.apply({r.aor, r.user, r.domain, r});
  }

  void inject(const std::string& text) {
    auto m = sip::Message::parse(text);
    ASSERT_TRUE(m.ok()) << text;
    layer_.receive(
        std::move(m.value()),
        Flow{
            Protocol::Udp, "carrier", {asio::ip::make_address("203.0.113.1"), 5060}, kCarrier, {}});
  }

  std::vector<test::RecordingTransport::Sent> sent_to(const Endpoint& to) {
    return transport_.take_to(to);
  }

  static int final_status(const std::vector<test::RecordingTransport::Sent>& sent) {
    for (const auto& s : sent) {
      auto m = sip::Message::parse(s.data);
      if (m.ok() && m->is_response() && m->status() >= 200) return m->status();
    }
    return 0;
  }

  ManualTimerService timers_;
  test::RecordingTransport transport_;
  TrunkUsage usage_;
  PassthroughMediaFactory media_;
  registrar::BindingDirectory bindings_;
  std::shared_ptr<const policy::PolicySnapshot> policy_ =
      policy::load_policy_texts({{"policy.yaml", kPolicy}});
  // The front door's part: the shard's transaction layer, with the B2BUA as its user.
  sip::TransactionLayer layer_{
      timers_, transport_,
      sip::TimerConfig{policy_->timers.t1, policy_->timers.t2, policy_->timers.t4}, b2b_};
  B2bua b2b_{layer_, 0, timers_, transport_, usage_, media_, [this] { return policy_; }, "9.9.9"};
  std::vector<cdr::CallRecord> cdrs_;
};

TEST_F(RegisteredTargetTest, InviteGoesToTheRegisteredFlowWithTheContactAsRequestUri) {
  bind("15550100", {"access", Protocol::Udp, kNat, {}});
  inject(invite("+15550100"));  // the route strips the "+"
  auto out = sent_to(kNat);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dst.realm, "access");
  auto inv = sip::Message::parse(out[0].data);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->method(), "INVITE");
  EXPECT_EQ(inv->request_uri(), "sip:15550100@10.0.0.5:5062");
  EXPECT_EQ(inv->to().uri, "sip:15550100@198.51.100.1");
  EXPECT_EQ(inv->top_via().host, "198.51.100.1");
}

// Regression: bindings were looked up by user alone, so alice@evil.example (registered later)
// took the calls for alice@corp.example.
TEST_F(RegisteredTargetTest, AUserOfAnotherDomainDoesNotTakeTheCall) {
  std::string text = kPolicy;
  text.replace(text.find("registration: {realm: access}"), 29,
               "registration: {realm: access, domains: [corp.example, evil.example]}");
  policy_ = policy::load_policy_texts({{"policy.yaml", text}});
  const Endpoint evil{asio::ip::make_address("192.0.2.66"), 5060};
  bind_in("alice", "evil.example", {"access", Protocol::Udp, evil, {}});
  // "+": the route with no fallback target. Sent to Portico's address: the default domain, corp.example, where alice is not bound.
  inject(invite_to("+alice", "203.0.113.1", 1));
  EXPECT_TRUE(sent_to(evil).empty());
  EXPECT_EQ(final_status(sent_to(kCarrier)), 480);
  inject(invite_to("+alice", "corp.example", 2));
  EXPECT_TRUE(sent_to(evil).empty());
  EXPECT_EQ(final_status(sent_to(kCarrier)), 480);

  bind_in("alice", "corp.example", {"access", Protocol::Udp, kNat, {}});
  inject(invite_to("+alice", "203.0.113.1", 3));
  EXPECT_EQ(sent_to(kNat).size(), 1u);
  EXPECT_TRUE(sent_to(evil).empty());
  // A Request-URI naming a served domain reaches that domain's user.
  inject(invite_to("+alice", "evil.example", 4));
  EXPECT_EQ(sent_to(evil).size(), 1u);
  EXPECT_TRUE(sent_to(kNat).empty());
}

TEST_F(RegisteredTargetTest, TcpBindingIsCalledDownItsOwnConnection) {
  const transport::ConnectionRef conn{1, 42};
  bind("15550100", {"access", Protocol::Tcp, kNat, conn});
  inject(invite("15550100"));
  auto out = sent_to(kNat);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dst.protocol, Protocol::Tcp);
  EXPECT_EQ(out[0].dst.connection, conn);
}

TEST_F(RegisteredTargetTest, NotRegisteredGets480) {
  b2b_.set_cdr_sink([this](cdr::CallRecord&& r) { cdrs_.push_back(std::move(r)); });
  inject(invite("+15550199"));
  EXPECT_EQ(final_status(sent_to(kCarrier)), 480);
  ASSERT_EQ(cdrs_.size(), 1u);
  EXPECT_EQ(cdrs_[0].end_reason, "not_registered");
  EXPECT_EQ(b2b_.call_count(), 0u);
  EXPECT_EQ(b2b_.stats().calls_rejected, 1u);
}

TEST_F(RegisteredTargetTest, UnreachableContactGets480) {
  b2b_.set_cdr_sink([this](cdr::CallRecord&& r) { cdrs_.push_back(std::move(r)); });
  bind("15550100", {"access", Protocol::Udp, kNat, {}}, /*reachable=*/false);
  inject(invite("+15550100"));
  EXPECT_EQ(final_status(sent_to(kCarrier)), 480);
  EXPECT_TRUE(sent_to(kNat).empty());
  ASSERT_EQ(cdrs_.size(), 1u);
  EXPECT_EQ(cdrs_[0].end_reason, "contact_unreachable");
}

TEST_F(RegisteredTargetTest, UnregisteredUserFallsThroughToTheNextTarget) {
  inject(invite("15550199"));
  EXPECT_EQ(sent_to(kVoicemail).size(), 1u);
  EXPECT_EQ(final_status(sent_to(kCarrier)), 0);  // no final answer yet: the call goes on
  EXPECT_EQ(b2b_.call_count(), 1u);
}

}  // namespace
}  // namespace portico::b2bua

namespace portico::b2bua {
namespace {

// RFC 3261 §20.5: OPTIONS lists REGISTER only on the realm whose registrations Portico takes.
TEST_F(RegisteredTargetTest, OptionsAllowsRegisterOnlyOnTheRegistrationRealm) {
  auto options = [this](const std::string& realm, const Endpoint& from) {
    auto m = sip::Message::parse(
        "OPTIONS sip:portico@198.51.100.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP " + from.to_string() + ";branch=z9hG4bKopt" + realm + "\r\n"
        "From: <sip:probe@example.com>;tag=o1\r\nTo: <sip:portico@198.51.100.1>\r\n"
        "Call-ID: opt-" + realm + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(m.ok());
    layer_.receive(
        std::move(m.value()),
        Flow{Protocol::Udp, realm, {asio::ip::make_address("198.51.100.1"), 5060}, from, {}});
    auto sent = sent_to(from);
    EXPECT_EQ(sent.size(), 1u);
    // The raw line: the parser splits Allow at its commas.
    const std::string text = sent.empty() ? std::string() : sent[0].data;
    const std::size_t at = text.find("\r\nAllow: ");
    return at == std::string::npos ? std::string("(none)")
                                   : text.substr(at + 2, text.find("\r\n", at + 2) - at - 2);
  };
  EXPECT_NE(options("access", kNat).find("REGISTER"), std::string::npos);
  const std::string carrier = options("carrier", kCarrier);
  EXPECT_NE(carrier.find("INVITE"), std::string::npos);
  EXPECT_EQ(carrier.find("REGISTER"), std::string::npos) << carrier;
}

}  // namespace
}  // namespace portico::b2bua
