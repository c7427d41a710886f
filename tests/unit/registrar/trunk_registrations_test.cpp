// Trunk registrations driven in-process: real transaction layer, real policy loader, virtual
// time and a transport that records what would go on the wire. Each test plays the carrier's
// registrar by hand.

#include "portico/registrar/trunk_registrations.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "portico/auth/digest.hpp"
#include "portico/policy/loader.hpp"
#include "portico/sip/message.hpp"
#include "recording_transport.hpp"

namespace portico::registrar {
namespace {

using std::chrono::seconds;
using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

std::string policy_text(const std::string& register_block) {
  return "realms:\n  carrier: {listeners: [\"udp://203.0.113.1:5060\"]}\n"
         "trunks:\n  acme:\n    realm: carrier\n    host: 203.0.113.50\n" +
         register_block;
}

const std::string kRegister =
    "    register:\n      aor: sip:portico@acme.example\n      username: portico\n"
    "      password_env: PORTICO_TRUNK_REG_TEST_PW\n      expires: 60s\n"
    "      retry_min: 5s\n      retry_max: 20s\n";

const Endpoint kRegistrar{asio::ip::make_address("203.0.113.50"), 5060};

class Tu final : public sip::TransactionUser {
 public:
  TrunkRegistrations* regs = nullptr;
  void on_request(sip::TxnId, sip::Message&&, const Flow&) override {}
  void on_ack(sip::Message&&, const Flow&) override {}
  void on_cancel(sip::TxnId, sip::Message&&) override {}
  void on_response(sip::TxnId txn, sip::Message&& resp) override { regs->on_response(txn, resp); }
  void on_client_failure(sip::TxnId txn, int status) override {
    regs->on_client_failure(txn, status);
  }
  void on_server_timeout(sip::TxnId) override {}
  void on_stray_response(sip::Message&&, const Flow&) override {}
};

class TrunkRegistrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sip::init_parser();
    ::setenv("PORTICO_TRUNK_REG_TEST_PW", "right", 1);
    transport_.realm_hosts = {{"carrier", "203.0.113.1"}};
    layer_ = std::make_unique<sip::TransactionLayer>(timers_, transport_, sip::TimerConfig{}, tu_);
    regs_ = std::make_unique<TrunkRegistrations>(
        timers_, transport_, *layer_, [this] { return "pt00reg" + std::to_string(++ids_); },
        "0.1.0");
    tu_.regs = regs_.get();
  }

  void apply(const std::string& block) {
    policy_ = policy::load_policy_texts({{"p.yaml", policy_text(block)}});
    regs_->apply(*policy_);
  }

  sip::Message only_request() {
    auto sent = transport_.take_to(kRegistrar);
    EXPECT_EQ(sent.size(), 1u);
    if (sent.empty()) {
      ADD_FAILURE() << "nothing sent";
      return sip::Message::parse(
                 "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKn\r\n"
                 "From: <sip:x@x>;tag=1\r\nTo: <sip:x@x>\r\nCall-ID: n\r\n"
                 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
          .value();
    }
    return sip::Message::parse(sent.back().data).value();
  }

  void answer(const sip::Message& req, int status, const std::string& extra = "") {
    std::string text = "SIP/2.0 " + std::to_string(status) + " " +
                       std::string(sip::reason_phrase(status)) + "\r\n";
    text += "Via: " + req.top_via().raw + "\r\n";
    text += "From: " + req.from().raw + "\r\nTo: " + req.to().raw + ";tag=reg9\r\n";
    text += "Call-ID: " + req.call_id() + "\r\nCSeq: " + std::to_string(req.cseq()) + " " +
            req.method() + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
    auto m = sip::Message::parse(text);
    ASSERT_TRUE(m.ok()) << text;
    layer_->receive(std::move(m.value()), Flow{Protocol::Udp,
                                               "carrier",
                                               {asio::ip::make_address("203.0.113.1"), 5060},
                                               kRegistrar,
                                               {}});
  }

  static std::string challenge(const std::string& nonce, bool stale = false) {
    return "WWW-Authenticate: Digest realm=\"acme.example\", nonce=\"" + nonce +
           "\", qop=\"auth\", algorithm=MD5" + (stale ? ", stale=true" : "") + "\r\n";
  }

  // True when `req` carries a correct answer to `nonce` for `password`.
  static bool authorized(const sip::Message& req, const std::string& password) {
    const auto v = req.header("Authorization");
    if (!v) {
      return false;
    }
    const auto c = auth::parse_credentials(*v);
    return c && c->uri == req.request_uri() &&
           auth::expected_response(
               *c, auth::ha1(auth::Algorithm::Md5, "portico", "acme.example", password),
               "REGISTER") == c->response;
  }

  std::uint64_t attempts(TrunkRegisterResult r) const {
    const auto s = regs_->stats();
    const auto it = s.attempts.find({"acme", r});
    return it == s.attempts.end() ? 0 : it->second;
  }

  // REGISTER, 401, REGISTER with credentials, 200 granting `granted` seconds.
  void register_with_challenge(int granted = 60) {
    auto first = only_request();
    answer(first, 401, challenge("n1"));
    auto second = only_request();
    ASSERT_TRUE(authorized(second, "right"));
    answer(second, 200,
           "Contact: <" + second.contacts().at(0).uri + ">;expires=" + std::to_string(granted) +
               "\r\n");
  }

  ManualTimerService timers_;
  test::RecordingTransport transport_;
  Tu tu_;
  std::unique_ptr<sip::TransactionLayer> layer_;
  std::unique_ptr<TrunkRegistrations> regs_;
  std::shared_ptr<const policy::PolicySnapshot> policy_;
  int ids_ = 0;
};

TEST_F(TrunkRegistrationsTest, RegistersAnsweringTheChallengeThenRefreshes) {
  apply(kRegister);
  auto first = only_request();
  EXPECT_EQ(first.method(), "REGISTER");
  EXPECT_EQ(first.request_uri(), "sip:acme.example");
  EXPECT_EQ(first.to().uri, "sip:portico@acme.example");
  EXPECT_EQ(first.contacts().at(0).uri, "sip:portico@203.0.113.1:5060");
  EXPECT_EQ(first.header("Expires"), "60");
  EXPECT_FALSE(first.header("Authorization"));
  EXPECT_FALSE(regs_->registered("acme"));
  answer(first, 401, challenge("n1"));
  auto second = only_request();
  EXPECT_EQ(second.call_id(), first.call_id());
  EXPECT_EQ(second.cseq(), first.cseq() + 1);
  EXPECT_NE(second.top_via().branch, first.top_via().branch);
  EXPECT_TRUE(authorized(second, "right"));
  answer(second, 200, "Contact: <" + second.contacts().at(0).uri + ">;expires=100\r\n");
  EXPECT_TRUE(regs_->registered("acme"));
  EXPECT_EQ(attempts(TrunkRegisterResult::Challenged), 1u);
  EXPECT_EQ(attempts(TrunkRegisterResult::Registered), 1u);
  // Granted 100 s: refreshed at 50 s (half, less than 100 - 30), not before.
  timers_.advance(seconds(49));
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  timers_.advance(seconds(1));
  auto refresh = only_request();
  EXPECT_EQ(refresh.call_id(), first.call_id());
  EXPECT_EQ(refresh.cseq(), second.cseq() + 1);
  answer(refresh, 200, "Expires: 3600\r\n");  // the registrar's Expires header counts too
  EXPECT_TRUE(regs_->registered("acme"));
  EXPECT_EQ(attempts(TrunkRegisterResult::Registered), 2u);
  // An hour: refreshed at half (1800 s), the lesser of half and 30 s before the end.
  timers_.advance(seconds(1799));
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  timers_.advance(seconds(1));
  EXPECT_EQ(only_request().method(), "REGISTER");
}

TEST_F(TrunkRegistrationsTest, ShortGrantIsRefreshedThirtySecondsEarly) {
  apply(kRegister);
  register_with_challenge(40);  // min(20 s, 40 - 30 = 10 s)
  timers_.advance(seconds(9));
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  timers_.advance(seconds(1));
  auto refresh = only_request();
  EXPECT_EQ(refresh.header("Expires"), "60");
  // 10 s granted: 30 s ahead would be before the start; refreshed at half (5 s).
  answer(refresh, 200, "Expires: 10\r\n");
  timers_.advance(seconds(4));
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  timers_.advance(seconds(1));
  EXPECT_EQ(only_request().method(), "REGISTER");
}

TEST_F(TrunkRegistrationsTest, WrongPasswordFailsOnceThenRetriesWithBackoff) {
  ::setenv("PORTICO_TRUNK_REG_TEST_PW", "wrong", 1);
  apply(kRegister);
  auto first = only_request();
  answer(first, 401, challenge("n1"));
  auto second = only_request();
  EXPECT_FALSE(authorized(second, "right"));
  answer(second, 401, challenge("n2"));  // a fresh nonce, not stale: the password is wrong
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());  // never answered a second time
  EXPECT_FALSE(regs_->registered("acme"));
  EXPECT_EQ(attempts(TrunkRegisterResult::AuthFailed), 1u);
  // Retried after retry_min (5 s), then 10 s, then capped at retry_max (20 s).
  const int waits[] = {5, 10, 20, 20};
  for (int wait : waits) {
    timers_.advance(seconds(wait - 1));
    EXPECT_TRUE(transport_.take_to(kRegistrar).empty()) << wait;
    timers_.advance(seconds(1));
    auto again = only_request();
    answer(again, 401, challenge("n" + std::to_string(wait)));
    answer(only_request(), 401, challenge("x" + std::to_string(wait)));
  }
  EXPECT_EQ(attempts(TrunkRegisterResult::AuthFailed), 5u);
}

TEST_F(TrunkRegistrationsTest, FailedRefreshKeepsTheStateUntilTheBindingLapses) {
  apply(kRegister);
  register_with_challenge(100);  // refreshed at 50 s, lapses at 100 s
  timers_.advance(seconds(50));
  answer(only_request(), 500);
  EXPECT_TRUE(regs_->registered("acme"));  // the carrier holds it for 50 s more
  EXPECT_EQ(attempts(TrunkRegisterResult::Refused), 1u);
  // Retried after retry_min (5 s, within the 25 s half of what is left): refused again...
  timers_.advance(seconds(5));
  answer(only_request(), 500);
  EXPECT_TRUE(regs_->registered("acme"));
  // Then no answer at all (timeouts at 97 s, retried at once before the lapse, again at
  // 130 s): a failure after the binding lapsed at 100 s is a failure.
  timers_.advance(seconds(41));  // t = 96 s
  transport_.take();
  EXPECT_TRUE(regs_->registered("acme"));
  timers_.advance(seconds(40));  // t = 136 s
  transport_.take();
  EXPECT_FALSE(regs_->registered("acme"));
  EXPECT_GE(attempts(TrunkRegisterResult::Timeout), 2u);
  EXPECT_EQ(regs_->stats().registered.at("acme"), false);
}

TEST_F(TrunkRegistrationsTest, StaleNonceIsAnsweredAgainOnce) {
  apply(kRegister);
  answer(only_request(), 401, challenge("n1"));
  auto second = only_request();
  answer(second, 401, challenge("n2", true));
  auto third = only_request();
  ASSERT_TRUE(third.header("Authorization"));
  EXPECT_NE(third.header("Authorization")->find("nonce=\"n2\""), std::string::npos);
  answer(third, 401, challenge("n3", true));  // stale again: refused
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  EXPECT_EQ(attempts(TrunkRegisterResult::AuthFailed), 1u);
}

TEST_F(TrunkRegistrationsTest, ProxyChallengeGetsProxyAuthorization) {
  apply(kRegister);
  answer(only_request(), 407,
         "Proxy-Authenticate: Digest realm=\"acme.example\", nonce=\"p1\", algorithm=SHA-256, "
         "qop=auth\r\n");
  auto second = only_request();
  EXPECT_FALSE(second.header("Authorization"));
  ASSERT_TRUE(second.header("Proxy-Authorization"));
  const auto c = auth::parse_credentials(*second.header("Proxy-Authorization"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->algorithm, auth::Algorithm::Sha256);
}

TEST_F(TrunkRegistrationsTest, IntervalTooBriefAsksAgainWithMinExpires) {
  apply(kRegister);
  answer(only_request(), 423, "Min-Expires: 300\r\n");
  auto again = only_request();
  EXPECT_EQ(again.header("Expires"), "300");
  answer(again, 200);  // no expires in the answer: what we asked for
  EXPECT_TRUE(regs_->registered("acme"));
  EXPECT_EQ(attempts(TrunkRegisterResult::IntervalTooBrief), 1u);
  timers_.advance(seconds(149));
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  timers_.advance(seconds(1));
  EXPECT_EQ(only_request().header("Expires"), "300");
}

TEST_F(TrunkRegistrationsTest, TimeoutFailsAndRetries) {
  apply(kRegister);
  only_request();
  timers_.advance(seconds(32));  // Timer F (64*T1), with the retransmissions in between
  transport_.take();
  EXPECT_EQ(attempts(TrunkRegisterResult::Timeout), 1u);
  timers_.advance(seconds(5));
  EXPECT_EQ(only_request().method(), "REGISTER");
}

TEST_F(TrunkRegistrationsTest, ShutdownUnregistersAnsweringItsChallenge) {
  apply(kRegister);
  register_with_challenge();
  regs_->unregister_all();
  auto bye = only_request();
  EXPECT_EQ(bye.header("Expires"), "0");
  answer(bye, 401, challenge("u1"));
  auto bye2 = only_request();
  EXPECT_EQ(bye2.header("Expires"), "0");
  EXPECT_TRUE(authorized(bye2, "right"));
  answer(bye2, 200);
  EXPECT_EQ(attempts(TrunkRegisterResult::Unregistered), 1u);
  EXPECT_FALSE(regs_->registered("acme"));
  timers_.advance(seconds(3600));
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());  // nothing retried or refreshed
  EXPECT_EQ(timers_.armed(), 0u);
}

TEST_F(TrunkRegistrationsTest, ReloadReRegistersAChangedBlockAndUnregistersARemovedOne) {
  apply(kRegister);
  register_with_challenge();
  const std::string call_id = "pt00reg1";
  apply(kRegister);  // unchanged: nothing sent
  EXPECT_TRUE(transport_.take_to(kRegistrar).empty());
  // A new password: the old binding goes, a new registration (new Call-ID) starts.
  ::setenv("PORTICO_TRUNK_REG_TEST_PW", "rotated", 1);
  apply(kRegister);
  // The old binding is removed first; the new registration waits for that answer (the same
  // contact: a removal applied after it would undo it).
  auto old_one = only_request();
  EXPECT_EQ(old_one.header("Expires"), "0");
  EXPECT_EQ(old_one.call_id(), call_id);
  answer(old_one, 200);
  auto new_one = only_request();
  EXPECT_EQ(new_one.header("Expires"), "60");
  EXPECT_NE(new_one.call_id(), call_id);
  answer(new_one, 401, challenge("r1"));
  auto creds = only_request();
  EXPECT_TRUE(authorized(creds, "rotated"));
  answer(creds, 200);
  EXPECT_TRUE(regs_->registered("acme"));
  // The block removed: unregistered, and the trunk leaves the metric.
  apply("");
  auto gone = only_request();
  EXPECT_EQ(gone.header("Expires"), "0");
  answer(gone, 200);
  EXPECT_TRUE(regs_->stats().registered.empty());
  EXPECT_EQ(attempts(TrunkRegisterResult::Unregistered), 2u);
}

}  // namespace
}  // namespace portico::registrar
