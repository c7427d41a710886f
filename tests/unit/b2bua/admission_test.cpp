// The admission chain on its own: each stage's refusal (status, reason, headers), their order,
// and what an admitted INVITE leaves in the Admission for the call to be built from.

#include "../../../src/b2bua/admission.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "portico/auth/digest_authenticator.hpp"
#include "portico/policy/loader.hpp"
#include "portico/registrar/binding_directory.hpp"
#include "portico/sip/message.hpp"

namespace portico::b2bua {
namespace {

using transport::Endpoint;
using transport::Flow;
using transport::Protocol;

constexpr const char* kPolicy = R"(
realms:
  access: {listeners: ["udp://198.51.100.1:5060"]}
  carrier: {listeners: ["udp://203.0.113.1:5060"]}
trunks:
  carrier: {realm: carrier, host: 203.0.113.50}
access_peers:
  pbx: {realm: access, sources: ["10.1.1.0/24"], host: 10.1.1.5}
registration: {realm: access}
routes:
  - name: out
    match: {realm: access, user_prefix: "0"}
    rewrite: {strip: 1, prepend: "+44"}
    targets: [{trunk: carrier}]
  - name: to-phones
    match: {realm: carrier, user_prefix: "+"}
    rewrite: {strip: 1}
    targets: [{registered: access}]
)";

const Endpoint kPbx{asio::ip::make_address("10.1.1.5"), 5060};
const Endpoint kCarrier{asio::ip::make_address("203.0.113.50"), 5060};
const Endpoint kStranger{asio::ip::make_address("192.0.2.99"), 5060};

std::string invite(const std::string& user, const std::string& max_forwards = "70",
                   const std::string& content_type = "application/sdp") {
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.5\r\ns=-\r\nc=IN IP4 10.1.1.5\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\n";
  return "INVITE sip:" + user +
         "@198.51.100.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.1.1.5:5060;branch=z9hG4bKadm1\r\n"
         "Max-Forwards: " +
         max_forwards +
         "\r\n"
         "From: <sip:1001@10.1.1.5>;tag=a1\r\nTo: <sip:" +
         user +
         "@198.51.100.1>\r\n"
         "Call-ID: adm-1@10.1.1.5\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@10.1.1.5>\r\n"
         "Content-Type: " +
         content_type +
         "\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override { sip::init_parser(); }

  /// Runs the chain on `text` as received from `from` on `realm`.
  Verdict run(const std::string& text, const std::string& realm = "access",
              const Endpoint& from = kPbx) {
    auto m = sip::Message::parse(text);
    EXPECT_TRUE(m.ok()) << text;
    req_ = std::move(m.value());
    flow_ = Flow{Protocol::Udp, realm, {asio::ip::make_address("198.51.100.1"), 5060}, from, {}};
    admission_.emplace(Admission{*req_, flow_, policy_, draining_, &bindings_});
    admission_->usage = usage_;
    admission_->stats = &stats_;
    admission_->cap_logs = &cap_logs_;
    admission_->digest = &digest_;
    admission_->now = now_;
    return admit(*admission_);
  }

  std::shared_ptr<const policy::PolicySnapshot> policy_ =
      policy::load_policy_texts({{"policy.yaml", kPolicy}});
  registrar::BindingDirectory bindings_;
  auth::DigestAuthenticator digest_;
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
  bool draining_ = false;
  std::optional<sip::Message> req_;
  Flow flow_;
  std::optional<Admission> admission_;
  TrunkUsage* usage_ = nullptr;  // set: the call caps run
  B2buaStats stats_;
  CallCapLogs cap_logs_;
};

TEST_F(AdmissionTest, AdmittedInviteCarriesItsSourceAndPlan) {
  const Verdict v = run(invite("02079460000"));
  EXPECT_TRUE(v.admitted());
  EXPECT_EQ(admission_->source_peer, "pbx");
  EXPECT_EQ(admission_->plan.route, "out");
  EXPECT_EQ(admission_->plan.ruri_user, "+442079460000");
  ASSERT_EQ(admission_->plan.targets.size(), 1u);
  EXPECT_EQ(admission_->plan.targets[0].name, "carrier");
  EXPECT_EQ(admission_->plan.policy, policy_);
}

TEST_F(AdmissionTest, DrainingRefusesWithRetryAfterBeforeAnythingElse) {
  draining_ = true;
  const Verdict v = run(invite("02079460000", "0"), "access", kStranger);
  EXPECT_EQ(v.status, 503);
  EXPECT_EQ(v.reason, "shutting_down");
  EXPECT_EQ(v.extra_headers, "Retry-After: 30\r\n");
}

TEST_F(AdmissionTest, NoHopsLeftIs483WithoutARecord) {
  const Verdict v = run(invite("02079460000", "0"), "access", kStranger);
  EXPECT_EQ(v.status, 483);
  EXPECT_TRUE(v.reason.empty());
  EXPECT_TRUE(run(invite("02079460000", "1")).admitted());
}

TEST_F(AdmissionTest, BodyPorticoCannotRelayIs415WithAccept) {
  const Verdict v = run(invite("02079460000", "70", "text/plain"), "access", kStranger);
  EXPECT_EQ(v.status, 415);
  EXPECT_TRUE(v.reason.empty());
  EXPECT_EQ(v.extra_headers, "Accept: application/sdp, multipart/mixed\r\n");
  EXPECT_TRUE(run(invite("02079460000", "70", "multipart/mixed;boundary=x")).admitted());
}

TEST_F(AdmissionTest, UnknownSourceIs403) {
  const Verdict v = run(invite("02079460000"), "access", kStranger);
  EXPECT_EQ(v.status, 403);
  EXPECT_EQ(v.reason, "unknown_source");
  EXPECT_TRUE(v.extra_headers.empty());
  EXPECT_TRUE(admission_->source_peer.empty());
}

TEST_F(AdmissionTest, NoRouteIs404) {
  const Verdict v = run(invite("9999"));
  EXPECT_EQ(v.status, 404);
  EXPECT_EQ(v.reason, "no_route");
  EXPECT_EQ(admission_->source_peer, "pbx");
}

TEST_F(AdmissionTest, RegisteredTargetsAreResolvedOrRefusedWith480) {
  Verdict v = run(invite("+15550100"), "carrier", kCarrier);
  EXPECT_EQ(v.status, 480);
  EXPECT_EQ(v.reason, "not_registered");

  const Endpoint nat{asio::ip::make_address("192.0.2.77"), 4000};
  registrar::ContactRoute r{"15550100@198.51.100.1",
                            "15550100",
                            "access",  // Portico's own domain (no registration.domains)
                            "access",
                            "sip:15550100@10.0.0.5:5062",
                            {"access", Protocol::Udp, nat, {}},
                            false};
  bindings_.apply({r.aor, r.user, r.domain, r});
  v = run(invite("+15550100"), "carrier", kCarrier);
  EXPECT_EQ(v.status, 480);
  EXPECT_EQ(v.reason, "contact_unreachable");

  r.reachable = true;
  bindings_.apply({r.aor, r.user, r.domain, r});
  v = run(invite("+15550100"), "carrier", kCarrier);
  EXPECT_TRUE(v.admitted());
  ASSERT_EQ(admission_->plan.targets.size(), 1u);
  EXPECT_EQ(admission_->plan.targets[0].request_uri, "sip:15550100@10.0.0.5:5062");
  EXPECT_EQ(admission_->plan.targets[0].remote.port, 4000);
}

// An offer with more m= lines than limits.max_media_streams is refused 488 before
// the SDP is parsed.
TEST_F(AdmissionTest, TooManyMediaStreamsIs488) {
  policy_ = policy::load_policy_texts(
      {{"policy.yaml", std::string(kPolicy) + "limits: {max_media_streams: 1}\n"}});
  EXPECT_TRUE(run(invite("02079460000")).admitted());
  std::string two = invite("02079460000");
  two.replace(two.find("Content-Length: "), std::string::npos, "");
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 10.1.1.5\r\ns=-\r\nc=IN IP4 10.1.1.5\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\n";
  two += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const Verdict v = run(two);
  EXPECT_EQ(v.status, 488);
  EXPECT_EQ(v.reason, "too_many_media_streams");
  EXPECT_EQ(stats_.refused_media_streams, 1u);
}

// A peer's max_calls counts the calls it places (the same counter as the calls
// routed to it), and limits.max_calls counts every call. Slots live as long as the admission
// (the call) holds them.
TEST_F(AdmissionTest, MaxCallsCountCallsFromAPeerAndInAll) {
  std::string text = kPolicy;
  text.replace(text.find("host: 10.1.1.5}"), 15, "host: 10.1.1.5, max_calls: 1}");
  policy_ = policy::load_policy_texts({{"policy.yaml", text + "limits: {max_calls: 2}\n"}});
  TrunkUsage usage;
  usage_ = &usage;
  EXPECT_TRUE(run(invite("02079460000")).admitted());
  TrunkUsage::Slot held = std::move(admission_->source_slot);
  TrunkUsage::Slot held_total = std::move(admission_->total_slot);
  EXPECT_EQ(usage.in_use("pbx"), 1);
  Verdict v = run(invite("02079460000"));
  EXPECT_EQ(v.status, 503);
  EXPECT_EQ(v.reason, "peer_max_calls");
  EXPECT_EQ(v.extra_headers, "Retry-After: 5\r\n");
  EXPECT_EQ(stats_.refused_peer_max_calls, 1u);
  EXPECT_EQ(usage.in_use(""), 1);  // the refused call's total slot was given back
  // A call from the carrier still fits in limits.max_calls (2), a third does not.
  run(invite("+15550100"), "carrier", kCarrier);  // refused later (480), slots taken before
  TrunkUsage::Slot carrier_total = std::move(admission_->total_slot);
  EXPECT_TRUE(carrier_total.held());
  held.release();
  v = run(invite("02079460000"));
  EXPECT_EQ(v.status, 503);
  EXPECT_EQ(v.reason, "max_calls");
  EXPECT_EQ(stats_.refused_max_calls, 1u);
}

// limits.max_calls_per_source counts the calls in progress from one address, whatever peer it
// is: over it a 503 with Retry-After, and the slots the call had taken are given back.
TEST_F(AdmissionTest, MaxCallsPerSourceCountsCallsFromOneAddress) {
  policy_ = policy::load_policy_texts(
      {{"policy.yaml", std::string(kPolicy) + "limits: {max_calls_per_source: 1}\n"}});
  TrunkUsage usage;
  usage_ = &usage;
  EXPECT_TRUE(run(invite("02079460000")).admitted());
  TrunkUsage::Slot held = std::move(admission_->address_slot);
  TrunkUsage::Slot held_peer = std::move(admission_->source_slot);
  TrunkUsage::Slot held_total = std::move(admission_->total_slot);
  Verdict v = run(invite("02079460000"));
  EXPECT_EQ(v.status, 503);
  EXPECT_EQ(v.reason, "max_calls_per_source");
  EXPECT_EQ(v.extra_headers, "Retry-After: 5\r\n");
  EXPECT_EQ(stats_.refused_source_max_calls, 1u);
  EXPECT_EQ(usage.in_use("pbx"), 1) << "the refused call's peer slot was given back";
  EXPECT_EQ(usage.in_use(""), 1) << "and its slot of limits.max_calls";
  // Another address is not counted with it.
  run(invite("+15550100"), "carrier", kCarrier);
  EXPECT_TRUE(admission_->address_slot.held());
  held.release();
  EXPECT_TRUE(run(invite("02079460000")).admitted()) << "the first call ended: room again";
  admission_.reset();  // its slots point into `usage`, which ends here
}

// A peer marked `auth: digest` (sources: the whole internet) must authenticate each INVITE;
// a PBX trusted by address inside its range is not asked.
TEST_F(AdmissionTest, DigestPeerIsChallengedWith407UntilItAuthenticates) {
  const std::string users = ::testing::TempDir() + "/portico_admission_users";
  std::ofstream(users) << "1001 sha256:"
                       << auth::ha1(auth::Algorithm::Sha256, "1001", "access", "pw") << "\n";
  std::string text = kPolicy;
  text.replace(text.find("registration: {realm: access}"), 29,
               "  roaming: {realm: access, sources: [0.0.0.0/0], auth: digest}\n"
               "registration: {realm: access, users_file: " +
                   users + "}");
  policy_ = policy::load_policy_texts({{"policy.yaml", text}});
  EXPECT_TRUE(run(invite("02079460000")).admitted());  // the PBX, by address

  Verdict v = run(invite("02079460000"), "access", kStranger);
  EXPECT_EQ(admission_->source_peer, "roaming");
  EXPECT_EQ(v.status, 407);
  EXPECT_TRUE(v.reason.empty());  // answered only: no CDR, no calls_rejected
  ASSERT_NE(v.extra_headers.find("Proxy-Authenticate: Digest realm=\"access\""), std::string::npos)
      << v.extra_headers;
  const auto n0 = v.extra_headers.find("nonce=\"") + 7;
  auth::Credentials c;
  c.username = "1001";
  c.realm = "access";
  c.nonce = v.extra_headers.substr(n0, v.extra_headers.find('"', n0) - n0);
  c.uri = "sip:02079460000@198.51.100.1";
  c.algorithm = auth::Algorithm::Sha256;
  c.qop = "auth";
  c.nc = "00000001";
  c.cnonce = "c1";
  const auto with = [&](const std::string& password) {
    const std::string r =
        auth::expected_response(c, auth::ha1(c.algorithm, "1001", "access", password), "INVITE");
    std::string t = invite("02079460000");
    t.insert(t.find("Content-Type:"),
             "Proxy-Authorization: Digest username=\"1001\", realm=\"access\", nonce=\"" + c.nonce +
                 "\", uri=\"" + c.uri + "\", response=\"" + r +
                 "\", algorithm=SHA-256, qop=auth, nc=" + c.nc + ", cnonce=\"c1\"\r\n");
    return t;
  };
  v = run(with("wrong"), "access", kStranger);
  EXPECT_EQ(v.status, 407);
  EXPECT_EQ(digest_.stats().failures, 1u);
  v = run(with("pw"), "access", kStranger);
  EXPECT_TRUE(v.admitted());
  EXPECT_EQ(admission_->authenticated_user, "1001@access");
}

}  // namespace
}  // namespace portico::b2bua
