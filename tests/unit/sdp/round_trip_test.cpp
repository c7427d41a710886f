// Parse + serialize round trips (RFC 4566 §5 order in, same bytes out) over every fixture,
// with bare-LF and trailing-whitespace variants, and the typed fields each fixture exercises.

#include <gtest/gtest.h>

#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

class RoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTripTest, SerializeReproducesTheFixtureByteForByte) {
  std::string text = read_fixture(GetParam());
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(serialize(*r), text);
}

TEST_P(RoundTripTest, BareLfAndTrailingWhitespaceParseToTheSameModel) {
  std::string text = read_fixture(GetParam());
  std::string lf;
  for (char c : text) {
    if (c == '\n') {
      lf += " \t\n";  // trailing whitespace before each bare LF
    } else if (c != '\r') {
      lf += c;
    }
  }
  lf += "\n\n";  // trailing blank lines
  auto a = parse(text);
  auto b = parse(lf);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(serialize(*b), text);
}

TEST_P(RoundTripTest, SerializedOutputParsesBackToTheSameModel) {
  Session s = parse_fixture(GetParam());
  auto again = parse(serialize(s));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, s);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RoundTripTest, ::testing::ValuesIn(fixture_names()),
                         fixture_test_name);

TEST(RoundTrip, PbxOfferTypedFields) {
  Session s = parse_fixture("pbx_g711.sdp");
  EXPECT_EQ(s.origin.username, "asterisk");
  EXPECT_EQ(s.origin.session_id, 1183264821U);
  EXPECT_EQ(s.origin.address, "192.0.2.10");
  EXPECT_EQ(s.name, "Asterisk PBX 20.5.0");
  ASSERT_TRUE(s.connection);
  EXPECT_EQ(s.connection->address, "192.0.2.10");
  ASSERT_EQ(s.media.size(), 1U);
  const Media& m = s.media[0];
  EXPECT_EQ(m.type, "audio");
  EXPECT_EQ(m.port, 17322);
  EXPECT_EQ(m.proto, "RTP/AVP");
  EXPECT_EQ(m.formats, (std::vector<std::string>{"0", "8", "101"}));
  auto te = m.rtpmap("101");
  ASSERT_TRUE(te);
  EXPECT_EQ(te->encoding_name, "telephone-event");
  EXPECT_EQ(te->clock_rate, 8000U);
  EXPECT_FALSE(te->channels);
  EXPECT_EQ(m.fmtp("101"), "0-16");
  EXPECT_FALSE(m.fmtp("0"));
  EXPECT_FALSE(m.rtpmap("10"));  // "101" must not match a prefix
  EXPECT_EQ(m.ptime(), 20U);
  EXPECT_EQ(direction(s, m), Direction::SendRecv);
  EXPECT_FALSE(m.rtcp_mux());
  EXPECT_FALSE(m.disabled());
}

TEST(RoundTrip, WebRtcOfferTypedFields) {
  Session s = parse_fixture("webrtc_opus_g722.sdp");
  EXPECT_EQ(s.origin.username, "-");
  EXPECT_EQ(s.origin.session_id, 4611731400430051336ULL);
  ASSERT_EQ(s.media.size(), 1U);
  const Media& m = s.media[0];
  EXPECT_EQ(m.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_TRUE(m.rtcp_mux());
  auto opus = m.rtpmap("111");
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus->encoding_name, "opus");
  EXPECT_EQ(opus->clock_rate, 48000U);
  EXPECT_EQ(opus->channels, 2U);
  EXPECT_EQ(m.fmtp("111"), "minptime=10;useinbandfec=1");
  auto rtcp = m.rtcp();
  ASSERT_TRUE(rtcp);
  EXPECT_EQ(rtcp->port, 9);
  ASSERT_TRUE(rtcp->connection);
  EXPECT_EQ(rtcp->connection->address, "0.0.0.0");
  ASSERT_EQ(m.bandwidths.size(), 1U);
  EXPECT_EQ(m.bandwidths[0], (Bandwidth{"AS", 64}));
  const Attribute* msid = find_attribute(s.attributes, "msid-semantic");
  ASSERT_NE(msid, nullptr);
  EXPECT_EQ(msid->value, " WMS stream1");
}

TEST(RoundTrip, SrtpCryptoAttributesAreKeptVerbatim) {
  Session s = parse_fixture("srtp_sdes.sdp");
  const Media& m = s.media.at(0);
  EXPECT_EQ(m.proto, "RTP/SAVP");
  ASSERT_EQ(m.attributes.at(0).name, "crypto");
  EXPECT_EQ(m.attributes.at(0).value,
            "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32");
}

TEST(RoundTrip, Ipv6ConnectionAndRtcpAddress) {
  Session s = parse_fixture("ipv6.sdp");
  EXPECT_EQ(s.origin.addr_type, "IP6");
  EXPECT_EQ(s.connection, (Connection{"IN", "IP6", "2001:db8::10"}));
  auto rtcp = s.media.at(0).rtcp();
  ASSERT_TRUE(rtcp);
  EXPECT_EQ(rtcp->port, 49181);
  EXPECT_EQ(rtcp->connection, (Connection{"IN", "IP6", "2001:db8::10"}));
}

TEST(RoundTrip, HoldDirectionsAreReadPerMedia) {
  Session s = parse_fixture("hold_sendonly.sdp");
  ASSERT_EQ(s.media.size(), 2U);
  EXPECT_EQ(direction(s, s.media[0]), Direction::SendOnly);
  EXPECT_EQ(direction(s, s.media[1]), Direction::Inactive);
  EXPECT_EQ(s.media[1].fmtp("96"), "profile-level-id=42e01f;packetization-mode=1");
}

TEST(RoundTrip, DisabledMediaAndMediaLevelConnection) {
  Session s = parse_fixture("two_media_one_disabled.sdp");
  EXPECT_FALSE(s.connection);
  EXPECT_EQ(s.information, "A call with a rejected video stream");
  ASSERT_EQ(s.media.size(), 2U);
  EXPECT_FALSE(s.media[0].disabled());
  EXPECT_TRUE(s.media[1].disabled());
  EXPECT_EQ(s.media[0].connection->address, "198.51.100.7");
  EXPECT_EQ(s.media[0].bandwidths.at(0), (Bandwidth{"TIAS", 64000}));
  EXPECT_EQ(s.media[0].fmtp("18"), "annexb=no");
}

TEST(RoundTrip, SessionLevelDirectionIsInherited) {
  Session s = parse_fixture("session_direction.sdp");
  ASSERT_EQ(s.media.size(), 2U);
  EXPECT_FALSE(s.media[0].own_direction());
  EXPECT_EQ(direction(s, s.media[0]), Direction::RecvOnly);
  EXPECT_EQ(direction(s, s.media[1]), Direction::SendRecv);  // its own overrides
  EXPECT_EQ(s.media[1].port_count, 2);
  EXPECT_EQ(s.media[0].title, "main audio");
  ASSERT_EQ(s.timings.size(), 1U);
  EXPECT_EQ(s.timings[0].start, 2873397496U);
  EXPECT_EQ(s.timings[0].repeats, (std::vector<std::string>{"604800 3600 0 90000"}));
  EXPECT_EQ(s.time_zones, "2882844526 -1h 2898848070 0");
  EXPECT_EQ(s.emails.size(), 1U);
  EXPECT_EQ(s.phones.size(), 1U);
}

TEST(RoundTrip, UnknownLinesKeepTheirPlace) {
  Session s = parse_fixture("unknown_lines.sdp");
  ASSERT_EQ(s.extra_lines.size(), 3U);
  EXPECT_EQ(s.extra_lines[0], (ExtraLine{'s', 'x', "session-level unknown after s"}));
  EXPECT_EQ(s.extra_lines[1], (ExtraLine{'t', 'y', "after t"}));
  EXPECT_EQ(s.extra_lines[2], (ExtraLine{'a', 'Z', "capital letter line"}));
  ASSERT_EQ(s.media.at(0).extra_lines.size(), 1U);
  EXPECT_EQ(s.media[0].extra_lines[0], (ExtraLine{'m', 'q', "media unknown after m"}));
  EXPECT_EQ(s.media[0].ptime(), 30U);
}

TEST(RoundTrip, OutOfOrderKnownLinesAreReorderedPerRfc4566) {
  auto r = parse(
      "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 192.0.2.1\r\n"
      "m=audio 1000 RTP/AVP 0\r\na=sendonly\r\nc=IN IP4 192.0.2.2\r\n");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(serialize(*r),
            crlf({"v=0", "o=a 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                  "m=audio 1000 RTP/AVP 0", "c=IN IP4 192.0.2.2", "a=sendonly"}));
}

TEST(RoundTrip, MissingTimingIsTolerated) {
  auto r = parse("v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 1000 RTP/AVP 0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timings.empty());
}

TEST(RoundTrip, SerializeOfADefaultBuiltSession) {
  Session s;
  s.origin = Origin{"portico", 7, 1, "IN", "IP4", "192.0.2.1"};
  s.timings.push_back(Timing{});
  Media m;
  m.type = "audio";
  m.port = 20000;
  m.proto = "RTP/AVP";
  m.formats = {"0"};
  m.attributes.push_back(Attribute{"rtpmap", "0 PCMU/8000"});
  s.media.push_back(m);
  EXPECT_EQ(serialize(s), crlf({"v=0", "o=portico 7 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
                                "m=audio 20000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"}));
}

}  // namespace
}  // namespace portico::sdp::test
