// AnchoredMedia with real sockets on loopback and virtual time: the SDP each leg receives, the
// ports behind it (stable across re-offers), RTP relayed both ways, NAT latching onto the SIP
// source address, port exhaustion and the media timeout.

#include "portico/b2bua/anchored_media.hpp"

#include <gtest/gtest.h>

#include "../media/media_test_util.hpp"
#include "portico/policy/loader.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {
namespace {

using media::test::make_rtp;
using media::test::pump_until;
using media::test::TestPeer;
using transport::Endpoint;
using namespace std::chrono_literals;

const auto kAccessIp = asio::ip::make_address("127.0.0.1");
const auto kCarrierIp = asio::ip::make_address("127.0.0.2");

std::string policy_text(const std::string& access_media, const std::string& timeout = "10s") {
  return R"(
server: {shards: 1}
timers: {media_timeout: )" + timeout + R"(}
realms:
  access:
    listeners: ["udp://127.0.0.1:5060"]
)" + access_media + R"(
  carrier:
    listeners: ["udp://127.0.0.2:5060"]
    media: {address: 127.0.0.2, advertised_address: 203.0.113.9, ports: 31100-31199}
  plain:
    listeners: ["udp://127.0.0.3:5060"]
)";
}

const std::string kAccessMedia = "    media: {address: 127.0.0.1, ports: 31000-31099}";
const std::string kNatMedia = "    media: {address: 127.0.0.1, ports: 31000-31099, nat: true}";

std::string offer(const std::string& ip, std::uint16_t port, const std::string& extra = "",
                  int version = 1) {
  return "v=0\r\no=peer 42 " + std::to_string(version) + " IN IP4 " + ip +
         "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\nm=audio " + std::to_string(port) +
         " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" + extra;
}

sdp::Session parse(const std::string& body) {
  auto s = sdp::parse(body);
  EXPECT_TRUE(s.ok()) << body;
  return s.ok() ? std::move(s).value() : sdp::Session{};
}

class AnchoredMediaTest : public ::testing::Test {
 protected:
  void load(const std::string& text) {
    policy_ = policy::load_policy_texts({{"p.yaml", text}});
    ports_.update(*policy_);
  }
  std::unique_ptr<SessionMedia> call(const std::string& a_realm = "access",
                                     const std::string& a_source = "127.0.0.1") {
    auto m = factory_.create("t1", policy_);
    m->set_leg(Side::A, LegPeer{a_realm, asio::ip::make_address(a_source)});
    m->set_leg(Side::B, LegPeer{"carrier", kCarrierIp});
    return m;
  }
  std::string relay(SessionMedia& m, Side from, SdpRole role, const std::string& body) {
    auto r = m.relay_body(from, role, "application/sdp", body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason + ": " + r.error().detail);
    return r.ok() ? r.value() : "";
  }

  asio::io_context io_;
  ManualTimerService timers_;
  MediaPorts ports_{io_, timers_, 0, 1};
  AnchoredMediaFactory factory_{io_, timers_, ports_};
  std::shared_ptr<const policy::PolicySnapshot> policy_;
};

TEST_F(AnchoredMediaTest, TelephoneEventOfferedButNotAnsweredIsCountedOnce) {
  load(policy_text(kAccessMedia));
  auto m = call();
  const std::string no_te = "v=0\r\no=peer 42 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n"
                            "t=0 0\r\nm=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000));
  relay(*m, Side::B, SdpRole::Answer, no_te);
  EXPECT_EQ(factory_.stats().dtmf_mismatches, 1u);
  relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000, "", 2));  // re-INVITE
  relay(*m, Side::B, SdpRole::Answer, no_te);
  EXPECT_EQ(factory_.stats().dtmf_mismatches, 1u) << "reported once per call";

  auto both = call();  // both ends speak RFC 4733: nothing to report
  relay(*both, Side::A, SdpRole::Offer, offer("127.0.0.1", 40010));
  relay(*both, Side::B, SdpRole::Answer, offer("127.0.0.2", 40012));
  EXPECT_EQ(factory_.stats().dtmf_mismatches, 1u);
}

TEST_F(AnchoredMediaTest, EachLegSeesPortico) {
  load(policy_text(kAccessMedia));
  auto m = call();
  const std::string to_b = relay(*m, Side::A, SdpRole::Offer,
                                 offer("127.0.0.1", 40000,
                                       "a=ice-ufrag:abcd\r\na=candidate:1 1 UDP 1 127.0.0.1 40000 "
                                       "typ host\r\na=sendrecv\r\n"));
  const sdp::Session b = parse(to_b);
  EXPECT_EQ(b.connection->address, "203.0.113.9");  // the carrier realm's advertised address
  EXPECT_EQ(b.origin.address, "203.0.113.9");
  EXPECT_EQ(b.origin.username, "portico");
  EXPECT_GE(b.media[0].port, 31100);
  EXPECT_LE(b.media[0].port, 31199);
  EXPECT_EQ(b.media[0].port % 2, 0);
  EXPECT_EQ(b.media[0].formats, (std::vector<std::string>{"0", "101"}));
  EXPECT_EQ(to_b.find("ice-ufrag"), std::string::npos) << to_b;
  EXPECT_EQ(to_b.find("candidate"), std::string::npos) << to_b;
  EXPECT_EQ(to_b.find("127.0.0.1"), std::string::npos) << to_b;
  EXPECT_NE(to_b.find("a=sendrecv"), std::string::npos);

  const std::string to_a =
      relay(*m, Side::B, SdpRole::Answer, offer("127.0.0.2", 40002, "a=rtcp:40009\r\n"));
  const sdp::Session a = parse(to_a);
  EXPECT_EQ(a.connection->address, "127.0.0.1");
  EXPECT_GE(a.media[0].port, 31000);
  EXPECT_LE(a.media[0].port, 31099);
  EXPECT_NE(to_a.find("a=rtcp:" + std::to_string(a.media[0].port + 1) + "\r\n"),
            std::string::npos) << "B's a=rtcp now names Portico's RTCP port: " << to_a;
  EXPECT_EQ(to_a.find("127.0.0.2"), std::string::npos) << to_a;
}

TEST_F(AnchoredMediaTest, RtpFlowsBothWays) {
  load(policy_text(kAccessMedia));
  TestPeer phone(io_, kAccessIp);
  TestPeer trunk(io_, kCarrierIp);
  auto m = call();
  const auto b = parse(relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", phone.endpoint().port)));
  const auto a = parse(relay(*m, Side::B, SdpRole::Answer, offer("127.0.0.2", trunk.endpoint().port)));
  // sendrecv both ways: each peer sends to the port Portico gave it.
  phone.send(Endpoint{kAccessIp, a.media[0].port}, make_rtp(0x1111, 1));
  trunk.send(Endpoint{kCarrierIp, b.media[0].port}, make_rtp(0x2222, 1));
  ASSERT_TRUE(pump_until(io_, [&] {
    phone.poll();
    trunk.poll();
    return !phone.got.empty() && !trunk.got.empty();
  }));
  EXPECT_EQ(trunk.got[0].from, (Endpoint{kCarrierIp, b.media[0].port}));
  EXPECT_EQ(phone.got[0].from, (Endpoint{kAccessIp, a.media[0].port}));
  MediaStats st = factory_.stats();
  EXPECT_EQ(st.streams_active, 1U);
  EXPECT_EQ(st.realms["access"].packets_received, 1U);
  EXPECT_EQ(st.realms["carrier"].packets_sent, 1U);
  m->close();
  st = factory_.stats();
  EXPECT_EQ(st.streams_active, 0U);
  EXPECT_EQ(st.realms["access"].packets_received, 1U);  // kept after the call
  EXPECT_EQ(st.sessions_anchored, 1U);
}

TEST_F(AnchoredMediaTest, ReOffersKeepPortsAndHoldIsRelayed) {
  load(policy_text(kAccessMedia));
  auto m = call();
  const auto first = parse(relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000)));
  relay(*m, Side::B, SdpRole::Answer, offer("127.0.0.2", 40002));
  const auto same = parse(relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000)));
  EXPECT_EQ(same.media[0].port, first.media[0].port);
  EXPECT_EQ(same.origin.session_version, first.origin.session_version) << "unchanged SDP";
  const std::string held_text =
      relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000, "a=sendonly\r\n", 2));
  const auto held = parse(held_text);
  EXPECT_EQ(held.media[0].port, first.media[0].port);
  EXPECT_EQ(held.origin.session_version, first.origin.session_version + 1);
  EXPECT_NE(held_text.find("a=sendonly"), std::string::npos);
  const auto resumed =
      parse(relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000, "a=sendrecv\r\n", 3)));
  EXPECT_EQ(resumed.media[0].port, first.media[0].port);
}

TEST_F(AnchoredMediaTest, AddedAndRemovedStreams) {
  load(policy_text(kAccessMedia));
  auto m = call();
  const std::string two = offer("127.0.0.1", 40000) +
                          "m=video 40010 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                          "m=message 40020 TCP/MSRP *\r\n";
  const auto out = parse(relay(*m, Side::A, SdpRole::Offer, two));
  ASSERT_EQ(out.media.size(), 3U);
  EXPECT_NE(out.media[0].port, 0);
  EXPECT_NE(out.media[1].port, 0);
  EXPECT_NE(out.media[0].port, out.media[1].port);
  EXPECT_EQ(out.media[2].port, 0) << "TCP media is refused, not relayed over UDP";
  ASSERT_NE(dynamic_cast<AnchoredMedia*>(m.get())->stream(1), nullptr);
  const std::string video_off = offer("127.0.0.1", 40000, "", 2) +
                                "m=video 0 RTP/AVP 96\r\nm=message 0 TCP/MSRP *\r\n";
  const auto off = parse(relay(*m, Side::A, SdpRole::Offer, video_off));
  EXPECT_EQ(off.media[0].port, out.media[0].port);
  EXPECT_EQ(off.media[1].port, 0);
  EXPECT_EQ(dynamic_cast<AnchoredMedia*>(m.get())->stream(1), nullptr) << "its ports are freed";
}

TEST_F(AnchoredMediaTest, NatRealmExpectsRtpFromTheSipSourceAndLatches) {
  load(policy_text(kNatMedia));
  // The phone's SIP came from 127.0.0.1 (the NAT's public side); its SDP names a private
  // address it never sends from.
  TestPeer phone(io_, kAccessIp);
  TestPeer trunk(io_, kCarrierIp);
  TestPeer intruder(io_, asio::ip::make_address("127.0.0.5"));
  auto m = call("access", "127.0.0.1");
  relay(*m, Side::A, SdpRole::Offer, offer("10.0.0.2", 4000));
  const auto a = parse(relay(*m, Side::B, SdpRole::Answer, offer("127.0.0.2", trunk.endpoint().port)));
  const Endpoint portico_a{kAccessIp, a.media[0].port};
  auto* am = dynamic_cast<AnchoredMedia*>(m.get());
  EXPECT_EQ(am->stream(0)->destination(Side::A, media::Channel::Rtp), (Endpoint{kAccessIp, 4000}))
      << "before latching: SIP source address, SDP port";
  intruder.send(portico_a, make_rtp(0x9999, 1));  // wrong IP: never latched
  phone.send(portico_a, make_rtp(0x1111, 1));     // NAT-rewritten port: latched
  ASSERT_TRUE(pump_until(io_, [&] { return trunk.poll() > 0 || trunk.got.size() >= 1; }));
  EXPECT_EQ(am->stream(0)->destination(Side::A, media::Channel::Rtp), phone.endpoint());
  trunk.send(Endpoint{kCarrierIp, am->stream(0)->local_rtp(Side::B).port}, make_rtp(0x2222, 1));
  ASSERT_TRUE(pump_until(io_, [&] { return phone.poll() > 0 || !phone.got.empty(); }));
  EXPECT_TRUE(intruder.poll() == 0);
  const MediaStats st = factory_.stats();
  EXPECT_EQ(st.relay.latched, 1U);
  EXPECT_EQ(st.relay.hijack_dropped, 1U);
}

TEST_F(AnchoredMediaTest, ExhaustedRangeRefusesTheOffer) {
  load(R"(
server: {shards: 1}
realms:
  access: {listeners: ["udp://127.0.0.1:5060"], media: {address: 127.0.0.1, ports: 31200-31203}}
  carrier: {listeners: ["udp://127.0.0.2:5060"], media: {address: 127.0.0.2, ports: 31300-31399}}
)");
  auto first = call();  // four access ports: two calls' RTP/RTCP pairs
  relay(*first, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000));
  auto second = call();
  relay(*second, Side::A, SdpRole::Offer, offer("127.0.0.1", 40002));
  auto third = call();
  auto r = third->relay_body(Side::A, SdpRole::Offer, "application/sdp", offer("127.0.0.1", 40004));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "ports_exhausted");
  EXPECT_EQ(factory_.stats().ports_exhausted, 1U);
}

TEST_F(AnchoredMediaTest, RealmWithoutMediaRelaysBodiesUnchanged) {
  load(policy_text(kAccessMedia));
  auto m = factory_.create("t2", policy_);
  m->set_leg(Side::A, LegPeer{"plain", kAccessIp});
  m->set_leg(Side::B, LegPeer{"carrier", kCarrierIp});
  const std::string body = offer("127.0.0.3", 40000);
  EXPECT_EQ(relay(*m, Side::A, SdpRole::Offer, body), body);
  EXPECT_FALSE(dynamic_cast<AnchoredMedia*>(m.get())->anchored());
}

TEST_F(AnchoredMediaTest, SilenceAfterAnswerEndsTheCallButHoldDoesNot) {
  load(policy_text(kAccessMedia, "10s"));
  auto m = call();
  std::string reason;
  m->set_failure_handler([&](const std::string& r) { reason = r; });
  relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000));
  relay(*m, Side::B, SdpRole::Answer, offer("127.0.0.2", 40002));
  timers_.advance(60s);
  EXPECT_EQ(reason, "") << "ringing is not silence";
  m->call_answered();
  timers_.advance(9s);
  EXPECT_EQ(reason, "");
  timers_.advance(2s);
  EXPECT_EQ(reason, "media_timeout");

  auto held = call();
  std::string held_reason;
  held->set_failure_handler([&](const std::string& r) { held_reason = r; });
  relay(*held, Side::A, SdpRole::Offer, offer("127.0.0.1", 40010));
  relay(*held, Side::B, SdpRole::Answer, offer("127.0.0.2", 40012));
  held->call_answered();
  relay(*held, Side::A, SdpRole::Offer, offer("127.0.0.1", 40010, "a=sendonly\r\n", 2));
  relay(*held, Side::B, SdpRole::Answer, offer("127.0.0.2", 40012, "a=recvonly\r\n", 2));
  timers_.advance(120s);
  EXPECT_EQ(held_reason, "") << "a call on hold may be silent";
  held->close();
  EXPECT_EQ(factory_.stats().media_timeouts, 1U);
}

TEST_F(AnchoredMediaTest, FailoverToAnotherRealmMovesTheBSide) {
  load(policy_text(kAccessMedia) + R"(  carrier2:
    listeners: ["udp://127.0.0.4:5060"]
    media: {address: 127.0.0.4, ports: 31400-31499}
)");
  auto m = call();
  const auto first = parse(relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000)));
  EXPECT_EQ(first.connection->address, "203.0.113.9");
  m->set_leg(Side::B, LegPeer{"carrier2", asio::ip::make_address("127.0.0.4")});
  const auto second = parse(relay(*m, Side::A, SdpRole::Offer, offer("127.0.0.1", 40000)));
  EXPECT_EQ(second.connection->address, "127.0.0.4");
  EXPECT_GE(second.media[0].port, 31400);
  EXPECT_LE(second.media[0].port, 31499);
}

}  // namespace
}  // namespace portico::b2bua
