// The registrar driven in-process: real transaction layer, real policy loader, virtual time and
// a transport that records what would go on the wire. Each test plays the phone (behind a NAT)
// and the registrar by hand.

#include "portico/registrar/registrar.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "portico/auth/digest.hpp"
#include "portico/policy/loader.hpp"
#include "portico/registrar/binding_directory.hpp"
#include "portico/sip/message.hpp"
#include "recording_transport.hpp"

namespace portico::registrar {
namespace {

using std::chrono::seconds;
using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

const char* const kPolicy = R"(
timers: {t1: 500ms, t2: 4s, t4: 5s}
realms:
  access: {listeners: ["udp://198.51.100.1:5060", "tcp://198.51.100.1:5060"]}
  carrier: {listeners: ["udp://203.0.113.1:5060"]}
trunks:
  demo: {realm: carrier, host: 203.0.113.50}
access_peers:
  phones: {realm: access, sources: ["192.0.2.0/24"]}
registration:
  realm: access
  registrar: demo
  client_expires: 60s
  upstream_expires: 3600s
  domains: [example.com]
)";

// The phone writes its private address; its packets arrive from the NAT's public one.
const Endpoint kNat{asio::ip::make_address("192.0.2.77"), 40123};
const Endpoint kRegistrar{asio::ip::make_address("203.0.113.50"), 5060};

// Forwards what the shard's SipFrontDoor would hand the registrar.
class Tu final : public sip::TransactionUser {
 public:
  Registrar* registrar = nullptr;
  int not_taken = 0;  // REGISTERs the registrar declined
  void on_request(sip::TxnId txn, sip::Message&& req, const Flow& flow) override {
    if (!registrar->on_register(txn, req, flow)) {
      ++not_taken;
    }
  }
  void on_ack(sip::Message&&, const Flow&) override {}
  void on_cancel(sip::TxnId, sip::Message&&) override {}
  void on_response(sip::TxnId txn, sip::Message&& resp) override {
    registrar->on_response(txn, resp);
  }
  void on_client_failure(sip::TxnId txn, int status) override {
    registrar->on_client_failure(txn, status);
  }
  void on_server_timeout(sip::TxnId) override {}
  void on_stray_response(sip::Message&&, const Flow&) override {}
};

class RegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override { sip::init_parser(); }

  void start(const std::string& extra_policy = "") {
    std::string text = kPolicy;
    if (!extra_policy.empty()) {
      text = text.substr(0, text.find("registration:")) + extra_policy;
    }
    policy_ = policy::load_policy_texts({{"p.yaml", text}});
    transport_.realm_hosts = {{"access", "198.51.100.1"}, {"carrier", "203.0.113.1"}};
    layer_ = std::make_unique<sip::TransactionLayer>(timers_, transport_, sip::TimerConfig{}, tu_);
    registrar_ = std::make_unique<Registrar>(
        0, 1, timers_, transport_, *layer_, [this] { return policy_; },
        [this] { return "pt00call" + std::to_string(++call_ids_); },
        [this](BindingUpdate u) {
          updates_.push_back(u);
          directory_.apply(u);
        },
        "0.1.0");
    tu_.registrar = registrar_.get();
  }

  static std::string reg(int cseq, int expires = 3600, const std::string& extra = "",
                         const std::string& contact = "<sip:alice@10.0.0.5:5062>") {
    return "REGISTER sip:example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKr" + std::to_string(cseq) + ";rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:alice@example.com>;tag=phone1\r\n"
           "To: <sip:alice@example.com>\r\n"
           "Call-ID: reg-1@10.0.0.5\r\n"
           "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
           "Contact: " + contact + "\r\n"
           "Expires: " + std::to_string(expires) + "\r\n" + extra +
           "User-Agent: SecretPhone 1.0\r\nContent-Length: 0\r\n\r\n";
  }

  Flow from(const Endpoint& remote, const std::string& realm = "access") const {
    return Flow{Protocol::Udp, realm, {asio::ip::make_address("198.51.100.1"), 5060}, remote, {}};
  }

  void inject(const std::string& text, const Flow& flow) {
    auto m = sip::Message::parse(text);
    ASSERT_TRUE(m.ok()) << text;
    ASSERT_FALSE(m->validate().has_value()) << m->validate()->detail;
    layer_->receive(std::move(m.value()), flow);
  }

  /// Messages sent to `to` since the last call (the others are kept), parsed.
  std::vector<sip::Message> sent_to(const Endpoint& to) {
    std::vector<sip::Message> out;
    for (auto& s : transport_.take_to(to)) {
      auto m = sip::Message::parse(s.data);
      EXPECT_TRUE(m.ok()) << s.data;
      if (m.ok()) out.push_back(std::move(m.value()));
    }
    return out;
  }

  /// The one message sent to `to`; fails the test if there is not exactly one.
  sip::Message only_to(const Endpoint& to) {
    auto msgs = sent_to(to);
    EXPECT_EQ(msgs.size(), 1u);
    if (msgs.empty()) {
      return sip::Message::parse("SIP/2.0 599 Nothing\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKn\r\n"
                                 "From: <sip:x@x>;tag=1\r\nTo: <sip:x@x>\r\nCall-ID: n\r\n"
                                 "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n").value();
    }
    return std::move(msgs.front());
  }

  /// A response to `req` from the registrar.
  void answer(const sip::Message& req, int status, const std::string& extra = "") {
    std::string text = "SIP/2.0 " + std::to_string(status) + " " +
                       std::string(sip::reason_phrase(status)) + "\r\n";
    text += "Via: " + req.top_via().raw + "\r\n";
    text += "From: " + req.from().raw + "\r\nTo: " + req.to().raw + ";tag=reg9\r\n";
    text += "Call-ID: " + req.call_id() + "\r\nCSeq: " + std::to_string(req.cseq()) + " " +
            req.method() + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
    inject(text, from(kRegistrar, "carrier"));
  }

  /// Registers alice (no challenge): the phone's 200 is consumed.
  void registered() {
    inject(reg(1), from(kNat));
    auto up = only_to(kRegistrar);
    answer(up, 200, "Contact: <" + up.contacts().at(0).uri + ">;expires=3600\r\n");
    ASSERT_EQ(only_to(kNat).status(), 200);
  }

  std::shared_ptr<const policy::PolicySnapshot> policy_;
  ManualTimerService timers_;
  test::RecordingTransport transport_;
  Tu tu_;
  std::unique_ptr<sip::TransactionLayer> layer_;
  std::unique_ptr<Registrar> registrar_;
  BindingDirectory directory_;
  std::vector<BindingUpdate> updates_;
  int call_ids_ = 0;
};

TEST_F(RegistrarTest, ChallengeIsRelayedAndCredentialsGoUpUnchanged) {
  start();
  inject(reg(1), from(kNat));
  auto up = only_to(kRegistrar);
  ASSERT_TRUE(up.is_request());
  EXPECT_EQ(up.method(), "REGISTER");
  EXPECT_EQ(up.request_uri(), "sip:example.com");  // digest uri= stays valid
  EXPECT_EQ(up.to().uri, "sip:alice@example.com");
  EXPECT_EQ(up.from().uri, "sip:alice@example.com");
  EXPECT_NE(up.from().tag, "phone1");
  EXPECT_NE(up.call_id(), "reg-1@10.0.0.5");
  EXPECT_EQ(up.header("Expires"), "3600");
  ASSERT_EQ(up.contacts().size(), 1u);
  EXPECT_EQ(up.contacts()[0].uri, "sip:alice@203.0.113.1:5060");
  EXPECT_EQ(up.top_via().host, "203.0.113.1");
  // Topology hiding: nothing of the phone or its NAT reaches the registrar.
  for (const char* leak : {"10.0.0.5", "192.0.2.77", "40123", "5062", "SecretPhone", "phone1"}) {
    EXPECT_EQ(up.raw().find(leak), std::string_view::npos) << leak << " in\n" << up.raw();
  }
  const std::string challenge =
      "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abc123\", qop=\"auth\", "
      "algorithm=MD5\r\n";
  answer(up, 401, challenge);
  auto to_phone = only_to(kNat);
  EXPECT_EQ(to_phone.status(), 401);
  EXPECT_NE(to_phone.raw().find(challenge), std::string_view::npos) << to_phone.raw();
  EXPECT_TRUE(directory_.find("access", "alice", "example.com") == nullptr);

  const std::string creds =
      "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"abc123\", "
      "uri=\"sip:example.com\", response=\"0123456789abcdef0123456789abcdef\", qop=auth, "
      "nc=00000001, cnonce=\"xyz\", algorithm=MD5\r\n";
  inject(reg(2, 3600, creds), from(kNat));
  auto up2 = only_to(kRegistrar);
  EXPECT_EQ(up2.call_id(), up.call_id());  // one upstream registration per binding
  EXPECT_EQ(up2.cseq(), up.cseq() + 1);
  EXPECT_NE(up2.raw().find(creds), std::string_view::npos) << up2.raw();
  answer(up2, 200, "Contact: <sip:alice@203.0.113.1:5060>;expires=3600\r\n");
  auto ok = only_to(kNat);
  EXPECT_EQ(ok.status(), 200);
  ASSERT_EQ(ok.contacts().size(), 1u);
  EXPECT_EQ(ok.contacts()[0].uri, "sip:alice@10.0.0.5:5062");
  EXPECT_NE(ok.raw().find(";expires=60"), std::string_view::npos) << ok.raw();

  const ContactRoute* route = directory_.find("access", "alice", "example.com");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->contact_uri, "sip:alice@10.0.0.5:5062");
  EXPECT_EQ(route->flow.remote, kNat);  // the NAT pinhole, not the Contact
  EXPECT_EQ(route->flow.realm, "access");
  EXPECT_EQ(registrar_->stats().active.at("access"), 1u);
}

TEST_F(RegistrarTest, RefreshIsAnsweredLocallyUntilHalfTheUpstreamLife) {
  start();
  registered();
  // The phone refreshes every 50 s: 35 refreshes (1750 s) are answered by Portico alone.
  for (int i = 0; i < 35; ++i) {
    timers_.advance(seconds(50));
    inject(reg(10 + i), from(kNat));
    ASSERT_EQ(only_to(kNat).status(), 200) << "refresh " << i;
    ASSERT_TRUE(sent_to(kRegistrar).empty()) << "refresh " << i << " went upstream";
  }
  // At 1800 s half the hour is gone: this refresh goes upstream.
  timers_.advance(seconds(50));
  inject(reg(100), from(kNat));
  auto up = only_to(kRegistrar);
  EXPECT_EQ(up.method(), "REGISTER");
  EXPECT_EQ(up.cseq(), 2u);
  EXPECT_TRUE(sent_to(kNat).empty());  // the phone waits for the registrar's answer
  answer(up, 200);
  EXPECT_EQ(only_to(kNat).status(), 200);
  const auto s = registrar_->stats();
  EXPECT_EQ(s.outcomes[static_cast<std::size_t>(RegisterOutcome::RefreshedLocally)], 35u);
  EXPECT_EQ(s.outcomes[static_cast<std::size_t>(RegisterOutcome::Registered)], 2u);
}

TEST_F(RegistrarTest, RefreshFromANewNatMappingGoesUpstreamAndFollowsItOn2xx) {
  start();
  registered();
  // The same phone behind a NAT that moved it to another port: not the flow the registrar
  // accepted, so the registrar must see it; its 2xx moves the binding to the new mapping.
  const Endpoint remapped{kNat.address, 40999};
  inject(reg(2), from(remapped));
  auto up = only_to(kRegistrar);
  EXPECT_EQ(up.method(), "REGISTER");
  EXPECT_TRUE(sent_to(remapped).empty());
  ASSERT_EQ(directory_.find("access", "alice", "example.com")->flow.remote,
            kNat);  // not before the 2xx
  answer(up, 200, "Contact: <" + up.contacts().at(0).uri + ">;expires=3600\r\n");
  EXPECT_EQ(only_to(remapped).status(), 200);
  ASSERT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  EXPECT_EQ(directory_.find("access", "alice", "example.com")->flow.remote, remapped);
}

TEST_F(RegistrarTest, RegisterFromAnotherAddressCannotTakeTheBinding) {
  start();
  registered();
  const auto refreshed = [&] {
    return registrar_->stats()
        .outcomes[static_cast<std::size_t>(RegisterOutcome::RefreshedLocally)];
  };
  // While the upstream registration is fresh, the owner's own refresh is answered here...
  inject(reg(2), from(kNat));
  ASSERT_EQ(only_to(kNat).status(), 200);
  ASSERT_EQ(refreshed(), 1u);
  // ...but the same REGISTER (same Call-ID, higher CSeq, an attacker's Contact) from another
  // address is relayed for the registrar to authenticate, and its refusal changes nothing.
  const Endpoint attacker{asio::ip::make_address("192.0.2.66"), 5060};
  inject(reg(3, 3600, "", "<sip:alice@192.0.2.66:5060>"), from(attacker));
  auto up = only_to(kRegistrar);
  EXPECT_EQ(up.method(), "REGISTER");
  EXPECT_TRUE(up.header_values("Authorization").empty());
  answer(up, 403);
  EXPECT_EQ(only_to(attacker).status(), 403);
  EXPECT_EQ(refreshed(), 1u);
  const auto* route = directory_.find("access", "alice", "example.com");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->flow.remote, kNat);
  EXPECT_EQ(route->contact_uri, "sip:alice@10.0.0.5:5062");
  // The owner carries on: its next refresh is still answered locally.
  inject(reg(4), from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_TRUE(sent_to(kRegistrar).empty());
  EXPECT_EQ(refreshed(), 2u);
}

TEST_F(RegistrarTest, OnlyAContinuationOfTheAcceptedRegisterIsAnsweredLocally) {
  start();
  registered();  // Call-ID reg-1@10.0.0.5, CSeq 1, from kNat
  // A replayed CSeq from the same flow (a new transaction, not a retransmission) goes
  // upstream, and so does a new Call-ID.
  std::string replayed = reg(1);
  replayed.replace(replayed.find("z9hG4bKr1;"), 10, "z9hG4bKrx;");
  inject(replayed, from(kNat));
  auto replay = only_to(kRegistrar);
  EXPECT_TRUE(sent_to(kNat).empty());
  answer(replay, 401, "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n1\"\r\n");
  EXPECT_EQ(only_to(kNat).status(), 401);
  std::string other_call = reg(5);
  other_call.replace(other_call.find("reg-1@"), 6, "reg-2@");
  inject(other_call, from(kNat));
  auto fresh_call = only_to(kRegistrar);
  EXPECT_EQ(fresh_call.method(), "REGISTER");
  answer(fresh_call, 200, "Contact: <" + fresh_call.contacts().at(0).uri + ">;expires=3600\r\n");
  EXPECT_EQ(only_to(kNat).status(), 200);
  // The registration the registrar accepted last (reg-2, CSeq 5) is now the one to continue.
  inject(reg(6), from(kNat));  // the old Call-ID: relayed, and refused
  auto stale = only_to(kRegistrar);
  EXPECT_EQ(stale.method(), "REGISTER");
  answer(stale, 403);
  EXPECT_EQ(only_to(kNat).status(), 403);
  other_call = reg(7);
  other_call.replace(other_call.find("reg-1@"), 6, "reg-2@");
  inject(other_call, from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_TRUE(sent_to(kRegistrar).empty());
}

TEST_F(RegistrarTest, UnregisterGoesUpstreamAndRemovesTheBindingOnlyOn2xx) {
  start();
  registered();
  ASSERT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  inject(reg(2, 0), from(kNat));
  auto up = only_to(kRegistrar);
  EXPECT_EQ(up.header("Expires"), "0");
  EXPECT_EQ(up.contacts().at(0).uri, "sip:alice@203.0.113.1:5060");
  // Until the registrar accepts the removal, calls still reach the phone.
  EXPECT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  answer(up, 200);
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_EQ(directory_.find("access", "alice", "example.com"), nullptr);
  EXPECT_EQ(registrar_->binding_count(), 0u);
}

// Regression: an unregister removed the binding before the registrar answered, so anyone
// could take a user's calls away with one unauthenticated REGISTER.
TEST_F(RegistrarTest, RefusedOrChallengedUnregisterKeepsTheBinding) {
  start();
  registered();
  const Endpoint attacker{asio::ip::make_address("192.0.2.66"), 5060};
  for (const int status : {401, 403}) {
    inject(reg(10 + status, 0, "", "*"), from(attacker));
    auto up = only_to(kRegistrar);
    EXPECT_EQ(up.header("Expires"), "0");
    answer(up, status,
           status == 401 ? "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"x\"\r\n" : "");
    EXPECT_EQ(only_to(attacker).status(), status);
    const ContactRoute* route = directory_.find("access", "alice", "example.com");
    ASSERT_NE(route, nullptr) << status;
    EXPECT_EQ(route->flow.remote, kNat);
  }
  // The phone's own refresh still continues its registration: the credentials and Request-URI
  // of the refused unregister were not kept.
  inject(reg(2), from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_TRUE(sent_to(kRegistrar).empty());
}

TEST_F(RegistrarTest, ContactStarWithExpiresZeroUnregisters) {
  start();
  registered();
  inject(reg(2, 0, "", "*"), from(kNat));
  EXPECT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  answer(only_to(kRegistrar), 200);
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_EQ(directory_.find("access", "alice", "example.com"), nullptr);
}

TEST_F(RegistrarTest, ExpiryRemovesTheBindingAndUnregistersUpstreamWithLastCredentials) {
  start();
  const std::string creds = "Authorization: Digest username=\"alice\", nonce=\"n1\"\r\n";
  inject(reg(1, 3600, creds), from(kNat));
  answer(only_to(kRegistrar), 200);
  ASSERT_EQ(only_to(kNat).status(), 200);
  timers_.advance(seconds(65));  // 60 s granted + 6 s grace not yet over
  ASSERT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  timers_.advance(seconds(2));
  EXPECT_EQ(directory_.find("access", "alice", "example.com"), nullptr);
  auto ups = sent_to(kRegistrar);  // sent at 66 s, retransmitted over UDP by 67 s
  ASSERT_FALSE(ups.empty());
  auto& up = ups.front();
  EXPECT_EQ(up.header("Expires"), "0");
  EXPECT_NE(up.raw().find(creds), std::string_view::npos);
  answer(up, 200);
  EXPECT_EQ(registrar_->binding_count(), 0u);
  EXPECT_EQ(registrar_->stats().expired, 1u);
  EXPECT_TRUE(sent_to(kNat).empty());
}

TEST_F(RegistrarTest, ContactExpiresParameterWinsAndIsNeverLengthened) {
  start();
  inject(reg(1, 3600, "", "<sip:alice@10.0.0.5:5062>;expires=30"), from(kNat));
  answer(only_to(kRegistrar), 200);
  auto ok = only_to(kNat);
  EXPECT_NE(ok.raw().find(";expires=30"), std::string_view::npos) << ok.raw();
  timers_.advance(seconds(32));  // 30 s + 3 s grace
  EXPECT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  timers_.advance(seconds(2));
  EXPECT_EQ(directory_.find("access", "alice", "example.com"), nullptr);
}

std::string query_from(const std::string& via_host, int cseq) {
  return "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + via_host +
         ":5062;branch=z9hG4bKq" + std::to_string(cseq) +
         ";rport\r\n"
         "From: <sip:alice@example.com>;tag=q1\r\nTo: <sip:alice@example.com>\r\n"
         "Call-ID: query-1@" +
         via_host + "\r\nCSeq: " + std::to_string(cseq) + " REGISTER\r\nContent-Length: 0\r\n\r\n";
}

// Regression: a query REGISTER (no Contact) was answered with the user's Contact at once, to
// anyone. It is relayed, and the Contact listed only on the registrar's 2xx.
TEST_F(RegistrarTest, QueryListsTheBindingOnlyAfterTheRegistrar2xx) {
  start();
  registered();
  const Endpoint stranger{asio::ip::make_address("192.0.2.66"), 5060};
  inject(query_from("192.0.2.66", 1), from(stranger));
  EXPECT_TRUE(sent_to(stranger).empty());  // nothing before the registrar answers
  auto up = only_to(kRegistrar);
  EXPECT_EQ(up.method(), "REGISTER");
  EXPECT_TRUE(up.contacts().empty());  // a query changes nothing upstream
  EXPECT_FALSE(up.header("Expires").has_value());
  answer(up, 401, "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"x\"\r\n");
  auto refused = only_to(stranger);
  EXPECT_EQ(refused.status(), 401);
  EXPECT_TRUE(refused.contacts().empty());
  EXPECT_NE(refused.raw().find("WWW-Authenticate: Digest"), std::string_view::npos);

  inject(query_from("10.0.0.5", 2), from(kNat));
  answer(only_to(kRegistrar), 200, "Contact: <sip:alice@203.0.113.1:5060>;expires=3500\r\n");
  auto ok = only_to(kNat);
  EXPECT_EQ(ok.status(), 200);
  ASSERT_EQ(ok.contacts().size(), 1u);
  EXPECT_EQ(ok.contacts()[0].uri, "sip:alice@10.0.0.5:5062");  // the phone's, not Portico's
  EXPECT_NE(directory_.find("access", "alice", "example.com"), nullptr);
}

TEST_F(RegistrarTest, RefusedRegistrationLeavesNoBinding) {
  start();
  inject(reg(1), from(kNat));
  answer(only_to(kRegistrar), 403);
  EXPECT_EQ(only_to(kNat).status(), 403);
  EXPECT_EQ(registrar_->binding_count(), 0u);
  EXPECT_TRUE(updates_.empty());
}

TEST_F(RegistrarTest, SilentRegistrarGivesThePhone408) {
  start();
  inject(reg(1), from(kNat));
  sent_to(kRegistrar);
  timers_.advance(seconds(40));  // Timer F (64*T1) of the upstream REGISTER, retransmissions
  const auto to_phone = sent_to(kNat);
  ASSERT_FALSE(to_phone.empty());
  EXPECT_EQ(to_phone.back().status(), 408);
  EXPECT_EQ(registrar_->binding_count(), 0u);
}

TEST_F(RegistrarTest, UnknownSourceIsRefusedAndOtherRealmsAreNotTaken) {
  start();
  inject(reg(1), from(Endpoint{asio::ip::make_address("198.18.0.1"), 5060}));
  const auto refused = sent_to(Endpoint{asio::ip::make_address("198.18.0.1"), 5060});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status(), 403);
  inject(reg(2), from(kRegistrar, "carrier"));
  EXPECT_EQ(tu_.not_taken, 1);  // the B2BUA answers it (405) as before
  EXPECT_TRUE(sent_to(kRegistrar).empty());
}

TEST_F(RegistrarTest, UnsupportedRequiredExtensionsGet420) {
  // RFC 3261 §10.3 step 2: Require is processed as by any UAS (§8.2.2.3).
  start();
  inject(reg(1, 3600, "Require: path, 100rel\r\nRequire: gruu\r\n"), from(kNat));
  auto refused = only_to(kNat);
  EXPECT_EQ(refused.status(), 420);
  EXPECT_NE(refused.raw().find("\r\nUnsupported: path, gruu\r\n"), std::string_view::npos)
      << refused.raw();
  EXPECT_TRUE(sent_to(kRegistrar).empty());
  EXPECT_EQ(registrar_->binding_count(), 0u);
  // The option tags Portico supports are no reason to refuse.
  inject(reg(2, 3600, "Require: timer\r\n"), from(kNat));
  EXPECT_EQ(only_to(kRegistrar).method(), "REGISTER");
}

TEST_F(RegistrarTest, WithoutARegistrarPorticoAnswersItself) {
  start("registration: {realm: access, client_expires: 60s, domains: [example.com]}\n");
  inject(reg(1), from(kNat));
  auto ok = only_to(kNat);
  EXPECT_EQ(ok.status(), 200);
  EXPECT_NE(ok.raw().find(";expires=60"), std::string_view::npos);
  EXPECT_TRUE(transport_.sent.empty());
  ASSERT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  timers_.advance(seconds(67));
  EXPECT_EQ(directory_.find("access", "alice", "example.com"), nullptr);
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(RegistrarTest, UnansweredPingsMarkTheContactUnreachableAndRegisterRevivesIt) {
  start(
      "registration: {realm: access, domains: [example.com], client_expires: 3600s, "
      "options_ping: 20s, "
      "ping_failures: 2}\n");
  inject(reg(1), from(kNat));
  ASSERT_EQ(only_to(kNat).status(), 200);
  timers_.advance(seconds(1));
  auto pings = sent_to(kNat);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].method(), "OPTIONS");
  EXPECT_EQ(pings[0].request_uri(), "sip:alice@10.0.0.5:5062");
  EXPECT_EQ(pings[0].call_id().substr(0, 4), "pt00");  // answers come back to this shard

  // Answered: still reachable.
  answer(pings[0], 200);
  timers_.advance(seconds(20));
  ASSERT_TRUE(directory_.find("access", "alice", "example.com")->reachable);

  // Two pings unanswered (each runs into Timer F, 32 s): unreachable.
  timers_.advance(seconds(120));
  ASSERT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  EXPECT_FALSE(directory_.find("access", "alice", "example.com")->reachable);
  EXPECT_GE(registrar_->stats().pings_missed, 2u);
  EXPECT_EQ(registrar_->stats().unreachable.at("access"), 1u);

  transport_.take();
  inject(reg(2), from(kNat));
  EXPECT_TRUE(directory_.find("access", "alice", "example.com")->reachable);
}

TEST_F(RegistrarTest, ClosedConnectionMakesItsBindingUnreachableUntilTheNextRegister) {
  start();
  Flow tcp{Protocol::Tcp, "access", {asio::ip::make_address("198.51.100.1"), 5060}, kNat,
           transport::ConnectionRef{0, 7}};
  inject(reg(1), tcp);
  auto up = only_to(kRegistrar);
  answer(up, 200, "Contact: <" + up.contacts().at(0).uri + ">;expires=3600\r\n");
  ASSERT_EQ(only_to(kNat).status(), 200);
  ASSERT_TRUE(directory_.find("access", "alice", "example.com")->reachable);

  registrar_->on_connection_closed(transport::ConnectionRef{0, 8});  // someone else's
  EXPECT_TRUE(directory_.find("access", "alice", "example.com")->reachable);
  registrar_->on_connection_closed(transport::ConnectionRef{0, 7});
  EXPECT_FALSE(directory_.find("access", "alice", "example.com")->reachable);

  tcp.connection = transport::ConnectionRef{0, 9};  // the phone reconnects and registers
  inject(reg(2), tcp);
  // A new connection is a new flow: the registrar must accept it before calls use it.
  up = only_to(kRegistrar);
  EXPECT_FALSE(directory_.find("access", "alice", "example.com")->reachable);
  answer(up, 200, "Contact: <" + up.contacts().at(0).uri + ">;expires=3600\r\n");
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_TRUE(directory_.find("access", "alice", "example.com")->reachable);
  EXPECT_EQ(directory_.find("access", "alice", "example.com")->flow.connection,
            (transport::ConnectionRef{0, 9}));
}

TEST_F(RegistrarTest, DomainNotServedGets404AndIsCounted) {
  start();
  std::string evil = reg(1);
  evil.replace(evil.find("To: <sip:alice@example.com>"), 27, "To: <sip:alice@evil.example>");
  inject(evil, from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 404);
  EXPECT_TRUE(sent_to(kRegistrar).empty());
  EXPECT_EQ(registrar_->binding_count(), 0u);
  EXPECT_EQ(
      registrar_->stats().outcomes[static_cast<std::size_t>(RegisterOutcome::DomainNotServed)], 1u);
}

// Without `domains`, Portico serves itself, named by an IP literal; a host name is refused.
TEST_F(RegistrarTest, WithoutDomainsOnlyIpLiteralsAreServed) {
  start("registration: {realm: access}\n");
  inject(reg(1), from(kNat));  // To alice@example.com
  EXPECT_EQ(only_to(kNat).status(), 404);
  std::string own = reg(2);
  own.replace(own.find("To: <sip:alice@example.com>"), 27, "To: <sip:alice@198.51.100.1>");
  inject(own, from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
  // Calls find it in Portico's own domain, known by the realm's name.
  EXPECT_NE(directory_.find("access", "alice", "access"), nullptr);
}

// A REGISTER for user n from `remote`.
std::string reg_user(int n, const std::string& host = "example.com") {
  const std::string u = "u" + std::to_string(n);
  return "REGISTER sip:" + host + " SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKu" +
         std::to_string(n) + ";rport\r\nFrom: <sip:" + u + "@" + host + ">;tag=t" +
         std::to_string(n) + "\r\nTo: <sip:" + u + "@" + host + ">\r\nCall-ID: u" +
         std::to_string(n) + "@10.0.0.5\r\nCSeq: 1 REGISTER\r\nContact: <sip:" + u +
         "@10.0.0.5:5062>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n";
}

TEST_F(RegistrarTest, BindingCapsRefuseWith503AndCount) {
  start(
      "registration: {realm: access, domains: [example.com], max_bindings: 3, "
      "max_bindings_per_source: 2}\n");
  const Endpoint other{asio::ip::make_address("192.0.2.78"), 5060};
  inject(reg_user(1), from(kNat));
  inject(reg_user(2), from(kNat));
  inject(reg_user(3), from(kNat));  // a third from the same address
  auto answers = sent_to(kNat);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].status(), 200);
  EXPECT_EQ(answers[1].status(), 200);
  EXPECT_EQ(answers[2].status(), 503);
  EXPECT_TRUE(answers[2].header("Retry-After").has_value());
  inject(reg_user(4), from(other));  // another address: fine, 3 in all
  EXPECT_EQ(only_to(other).status(), 200);
  const Endpoint third{asio::ip::make_address("192.0.2.79"), 5060};
  inject(reg_user(5), from(third));  // max_bindings
  EXPECT_EQ(only_to(third).status(), 503);
  EXPECT_EQ(registrar_->binding_count(), 3u);
  EXPECT_EQ(
      registrar_->stats().outcomes[static_cast<std::size_t>(RegisterOutcome::TooManyBindings)], 2u);
  // A refresh of an existing binding is never refused.
  std::string refresh = reg_user(1);
  refresh.replace(refresh.find("CSeq: 1"), 7, "CSeq: 2");
  refresh.replace(refresh.find("branch=z9hG4bKu1"), 16, "branch=z9hG4bKu1b");
  inject(refresh, from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
}

// Portico as the registrar, with digest users.
class DigestRegistrarTest : public RegistrarTest {
 protected:
  void start_digest() {
    const std::string users = ::testing::TempDir() + "/portico_registrar_users";
    {
      std::ofstream f(users);
      f << "# test users\nalice@example.com example.com md5:"
        << auth::ha1(auth::Algorithm::Md5, "alice", "example.com", "secret")
        << " sha256:" << auth::ha1(auth::Algorithm::Sha256, "alice", "example.com", "secret")
        << "\n"
        << "bob sha256:" << auth::ha1(auth::Algorithm::Sha256, "bob", "example.com", "pw") << "\n";
    }
    start("registration: {realm: access, domains: [example.com], users_file: " + users + "}\n");
    registrar_->set_authenticator(&auth_);
  }

  // The phone's answer to `challenge` (its WWW-Authenticate lines).
  static std::string credentials(const sip::Message& challenge, const std::string& user,
                                 const std::string& password, auth::Algorithm a,
                                 const std::string& nc = "00000001") {
    const std::string raw(challenge.raw());
    const auto n0 = raw.find("nonce=\"") + 7;
    auth::Credentials c;
    c.username = user;
    c.realm = "example.com";
    c.nonce = raw.substr(n0, raw.find('"', n0) - n0);
    c.uri = "sip:example.com";
    c.algorithm = a;
    c.qop = "auth";
    c.nc = nc;
    c.cnonce = "abc123";
    const std::string r =
        auth::expected_response(c, auth::ha1(a, user, c.realm, password), "REGISTER");
    return "Authorization: Digest username=\"" + user + "\", realm=\"example.com\", nonce=\"" +
           c.nonce + "\", uri=\"sip:example.com\", response=\"" + r +
           "\", algorithm=" + auth::to_string(a) + ", qop=auth, nc=" + nc +
           ", cnonce=\"abc123\"\r\n";
  }

  /// The 401's challenge with its nonce blanked: what a prober compares.
  static std::string shape(const sip::Message& m) {
    std::string out = std::to_string(m.status());
    for (const auto& v : m.header_values("WWW-Authenticate")) {
      std::string line = v;
      const auto n0 = line.find("nonce=\"") + 7;
      line.replace(n0, line.find('"', n0) - n0, "N");
      out += "|" + line;
    }
    return out;
  }

  auth::DigestAuthenticator auth_;
};

TEST_F(DigestRegistrarTest, RegisterNeedsTheUsersPassword) {
  start_digest();
  inject(reg(1), from(kNat));
  const auto challenge = only_to(kNat);
  ASSERT_EQ(challenge.status(), 401);
  ASSERT_EQ(challenge.header_values("WWW-Authenticate").size(), 2u);
  EXPECT_EQ(registrar_->binding_count(), 0u);
  inject(reg(2, 3600, credentials(challenge, "alice", "secret", auth::Algorithm::Sha256)),
         from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
  EXPECT_NE(directory_.find("access", "alice", "example.com"), nullptr);
  EXPECT_EQ(auth_.stats().successes, 1u);
}

// svwar's question: does the answer differ between a user that exists and one that does not?
TEST_F(DigestRegistrarTest, UnknownUserAndWrongPasswordAnswerAlike) {
  start_digest();
  std::vector<asio::ip::address> failures;
  auth_.set_failure_hook([&](const asio::ip::address& a) { failures.push_back(a); });
  inject(reg(1), from(kNat));
  const auto challenge = only_to(kNat);
  inject(reg(2, 3600, credentials(challenge, "alice", "guess", auth::Algorithm::Md5)), from(kNat));
  const auto wrong = only_to(kNat);
  std::string mallory =
      reg(3, 3600, credentials(challenge, "mallory", "guess", auth::Algorithm::Md5, "00000002"));
  for (const char* field : {"From: <sip:alice@", "To: <sip:alice@"}) {
    mallory.replace(mallory.find(field), std::string(field).size(),
                    std::string(field).replace(std::string(field).find("alice"), 5, "mallory"));
  }
  inject(mallory, from(kNat));
  const auto unknown = only_to(kNat);
  EXPECT_EQ(shape(wrong), shape(challenge));
  EXPECT_EQ(shape(unknown), shape(challenge));
  EXPECT_EQ(wrong.status(), 401);
  EXPECT_EQ(auth_.stats().failures, 2u);
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0], kNat.address);
  EXPECT_EQ(registrar_->binding_count(), 0u);
}

TEST_F(DigestRegistrarTest, ReplayedNonceCountAndAnotherUsersCredentialsAreRefused) {
  start_digest();
  inject(reg(1), from(kNat));
  const auto challenge = only_to(kNat);
  const std::string creds = credentials(challenge, "alice", "secret", auth::Algorithm::Md5);
  inject(reg(2, 3600, creds), from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 200);
  inject(reg(3, 3600, creds), from(kNat));  // the same nonce-count again
  EXPECT_EQ(only_to(kNat).status(), 401);
  EXPECT_EQ(auth_.stats().replayed, 1u);
  // bob's valid credentials do not register alice (RFC 3261 §10.3 step 6).
  inject(reg(4, 3600, credentials(challenge, "bob", "pw", auth::Algorithm::Sha256, "00000005")),
         from(kNat));
  EXPECT_EQ(only_to(kNat).status(), 403);
}

}  // namespace
}  // namespace portico::registrar
