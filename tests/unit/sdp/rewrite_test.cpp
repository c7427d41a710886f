// set_connection, set_media_port, strip_ice and the direction helpers, each checked on the
// exact SDP that comes out.

#include "portico/sdp/rewrite.hpp"

#include <gtest/gtest.h>

#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

TEST(SetConnection, RewritesSessionConnectionAndOrigin) {
  Session s = parse_fixture("pbx_g711.sdp");
  ASSERT_TRUE(set_connection(s, "203.0.113.1"));
  std::string out = serialize(s);
  EXPECT_NE(out.find("o=asterisk 1183264821 1183264821 IN IP4 203.0.113.1\r\n"), std::string::npos);
  EXPECT_NE(out.find("c=IN IP4 203.0.113.1\r\n"), std::string::npos);
  EXPECT_EQ(out.find("192.0.2.10"), std::string::npos);
}

TEST(SetConnection, SwitchesAddressFamilyEverywhereIncludingRtcp) {
  Session s = parse_fixture("ipv6.sdp");
  ASSERT_TRUE(set_connection(s, "198.51.100.1"));
  EXPECT_EQ(serialize(s), crlf({"v=0", "o=alice 2890844526 2890844526 IN IP4 198.51.100.1", "s=-",
                                "c=IN IP4 198.51.100.1", "t=0 0", "m=audio 49170 RTP/AVP 0 101",
                                "a=rtcp:49181 IN IP4 198.51.100.1", "a=rtpmap:0 PCMU/8000",
                                "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"}));
}

TEST(SetConnection, Ipv6AddressGetsIp6Addrtype) {
  Session s = parse_fixture("pbx_g711.sdp");
  ASSERT_TRUE(set_connection(s, "2001:db8::1"));
  EXPECT_EQ(s.connection, (Connection{"IN", "IP6", "2001:db8::1"}));
  EXPECT_EQ(s.origin.addr_type, "IP6");
  EXPECT_EQ(s.origin.address, "2001:db8::1");
}

TEST(SetConnection, KeepsMediaLevelShapeWithoutAddingSessionConnection) {
  Session s = parse_fixture("two_media_one_disabled.sdp");
  ASSERT_TRUE(set_connection(s, "192.0.2.200"));
  EXPECT_EQ(serialize(s),
            crlf({"v=0", "o=ua 1000 1001 IN IP4 192.0.2.200", "s=call",
                  "i=A call with a rejected video stream", "t=0 0", "m=audio 4000 RTP/AVP 0 8 18",
                  "c=IN IP4 192.0.2.200", "b=TIAS:64000", "a=rtpmap:18 G729/8000",
                  "a=fmtp:18 annexb=no", "m=video 0 RTP/AVP 31", "c=IN IP4 192.0.2.200"}));
}

TEST(SetConnection, AddsSessionConnectionWhenAMediaSectionHasNone) {
  auto r = parse(crlf({"v=0", "o=a 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 1000 RTP/AVP 0",
                       "c=IN IP4 192.0.2.1", "m=audio 0 RTP/AVP 0"}));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(set_connection(*r, "203.0.113.9"));
  EXPECT_EQ(serialize(*r),
            crlf({"v=0", "o=a 1 1 IN IP4 203.0.113.9", "s=-", "c=IN IP4 203.0.113.9", "t=0 0",
                  "m=audio 1000 RTP/AVP 0", "c=IN IP4 203.0.113.9", "m=audio 0 RTP/AVP 0"}));
}

TEST(SetConnection, RejectsAnAddressThatWouldBreakTheLine) {
  Session s = parse_fixture("pbx_g711.sdp");
  Session before = s;
  EXPECT_FALSE(set_connection(s, ""));
  EXPECT_FALSE(set_connection(s, "192.0.2.1 x"));
  EXPECT_FALSE(set_connection(s, "192.0.2.1\r\n"));
  EXPECT_EQ(s, before);
  EXPECT_TRUE(set_connection(s, "192.0.2.1"));
}

TEST(SetMediaPort, WithoutRtcpAttributeAndDefaultRtcpPortAddsNothing) {
  Session s = parse_fixture("pbx_g711.sdp");
  set_media_port(s.media[0], 20000, 20001);
  EXPECT_EQ(s.media[0].port, 20000);
  EXPECT_FALSE(has_attribute(s.media[0].attributes, "rtcp"));
  EXPECT_NE(serialize(s).find("m=audio 20000 RTP/AVP 0 8 101\r\n"), std::string::npos);
}

TEST(SetMediaPort, NonDefaultRtcpPortAddsAttribute) {
  Session s = parse_fixture("pbx_g711.sdp");
  set_media_port(s.media[0], 20000, 30001);
  const Attribute& last = s.media[0].attributes.back();
  EXPECT_EQ(last, (Attribute{"rtcp", "30001"}));
  EXPECT_NE(serialize(s).find("a=sendrecv\r\na=rtcp:30001\r\n"), std::string::npos);
}

TEST(SetMediaPort, RewritesRtcpPortInPlaceKeepingItsAddress) {
  Session s = parse_fixture("ipv6.sdp");
  ASSERT_TRUE(set_connection(s, "2001:db8::99"));
  set_media_port(s.media[0], 40000, 40001);
  EXPECT_EQ(serialize(s), crlf({"v=0", "o=alice 2890844526 2890844526 IN IP6 2001:db8::99", "s=-",
                                "c=IN IP6 2001:db8::99", "t=0 0", "m=audio 40000 RTP/AVP 0 101",
                                "a=rtcp:40001 IN IP6 2001:db8::99", "a=rtpmap:0 PCMU/8000",
                                "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"}));
}

TEST(SetMediaPort, RtcpMuxRemovesRtcpAttribute) {
  Session s = parse_fixture("webrtc_opus_g722.sdp");
  set_media_port(s.media[0], 41000, 41001);
  EXPECT_EQ(s.media[0].port, 41000);
  EXPECT_FALSE(s.media[0].rtcp());
  EXPECT_TRUE(s.media[0].rtcp_mux());
}

TEST(SetMediaPort, NoRtcpPortRemovesRtcpAttribute) {
  Session s = parse_fixture("ipv6.sdp");
  set_media_port(s.media[0], 40000, std::nullopt);
  EXPECT_FALSE(has_attribute(s.media[0].attributes, "rtcp"));
  EXPECT_EQ(s.media[0].attributes.size(), 3U);
}

TEST(SetMediaPort, DuplicateRtcpAttributesCollapseToOne) {
  Media m;
  m.attributes = {{"rtcp", "5"}, {"ptime", "20"}, {"rtcp", "7 IN IP4 192.0.2.1"}};
  set_media_port(m, 1000, 1003);
  EXPECT_EQ(m.attributes, (std::vector<Attribute>{{"rtcp", "1003"}, {"ptime", "20"}}));
}

TEST(StripIce, RemovesIceAtBothLevelsAndNothingElse) {
  Session s = parse_fixture("webrtc_opus_g722.sdp");
  EXPECT_EQ(strip_ice(s), 6U);
  std::string out = serialize(s);
  for (auto name : {"a=ice-", "a=candidate", "a=end-of-candidates"}) {
    EXPECT_EQ(out.find(name), std::string::npos) << name;
  }
  EXPECT_NE(out.find("a=fingerprint:sha-256"), std::string::npos);
  EXPECT_NE(out.find("a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream1\r\n"
                     "m=audio"),
            std::string::npos);
  EXPECT_NE(out.find("a=rtcp:9 IN IP4 0.0.0.0\r\na=fingerprint"), std::string::npos);
}

TEST(StripIce, AllEightNamesAreRemoved) {
  Session s =
      parse(crlf({"v=0", "o=a 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "a=ice-lite",
                  "a=ice-options:trickle", "m=audio 1 RTP/AVP 0", "a=ice-ufrag:u", "a=ice-pwd:p",
                  "a=ice-mismatch", "a=candidate:1 1 udp 1 192.0.2.1 1 typ host",
                  "a=remote-candidates:1 192.0.2.1 1", "a=end-of-candidates", "a=sendrecv"}))
          .value();
  EXPECT_EQ(strip_ice(s), 8U);
  EXPECT_EQ(serialize(s), crlf({"v=0", "o=a 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
                                "m=audio 1 RTP/AVP 0", "a=sendrecv"}));
}

TEST(Direction, SetReplacesInPlace) {
  Session s = parse_fixture("pbx_g711.sdp");
  set_direction(s.media[0], Direction::SendOnly);
  EXPECT_NE(serialize(s).find("a=maxptime:150\r\na=sendonly\r\n"), std::string::npos);
  EXPECT_EQ(direction(s, s.media[0]), Direction::SendOnly);
}

TEST(Direction, SetAppendsWhenAbsentAndOverridesSessionLevel) {
  Session s = parse_fixture("session_direction.sdp");
  set_direction(s.media[0], Direction::Inactive);
  EXPECT_EQ(s.media[0].attributes.back(), (Attribute{"inactive", std::nullopt}));
  EXPECT_EQ(direction(s, s.media[0]), Direction::Inactive);
}

TEST(Direction, SetRemovesDuplicateDirectionAttributes) {
  Media m;
  m.attributes = {{"sendrecv", std::nullopt}, {"ptime", "20"}, {"recvonly", std::nullopt}};
  set_direction(m, Direction::Inactive);
  EXPECT_EQ(m.attributes, (std::vector<Attribute>{{"inactive", std::nullopt}, {"ptime", "20"}}));
}

TEST(Direction, HoldIsKeptAsGivenAndReverseMirrorsRfc3264) {
  Session s = parse_fixture("hold_sendonly.sdp");
  EXPECT_EQ(direction(s, s.media[0]), Direction::SendOnly);
  EXPECT_EQ(reverse(Direction::SendOnly), Direction::RecvOnly);
  EXPECT_EQ(reverse(Direction::RecvOnly), Direction::SendOnly);
  EXPECT_EQ(reverse(Direction::Inactive), Direction::Inactive);
  EXPECT_EQ(reverse(Direction::SendRecv), Direction::SendRecv);
  EXPECT_EQ(to_string(Direction::Inactive), "inactive");
  EXPECT_EQ(direction_from_name("SENDONLY"), Direction::SendOnly);
  EXPECT_FALSE(direction_from_name("hold"));
}

}  // namespace
}  // namespace portico::sdp::test
