// filter_codecs: policy order, case-insensitive names, static payload types, telephone-event
// and other auxiliary formats, and the "no codec left" answer that becomes a 488.

#include <gtest/gtest.h>

#include "portico/sdp/rewrite.hpp"
#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

TEST(FilterCodecs, ReordersByPolicyAndDropsTheRest) {
  Session s = parse_fixture("pbx_g711.sdp");
  ASSERT_TRUE(filter_codecs(s.media[0], {"pcma", "telephone-event"}));
  EXPECT_EQ(serialize(s), crlf({"v=0", "o=asterisk 1183264821 1183264821 IN IP4 192.0.2.10",
                                "s=Asterisk PBX 20.5.0", "c=IN IP4 192.0.2.10", "t=0 0",
                                "m=audio 17322 RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000",
                                "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16",
                                "a=ptime:20", "a=maxptime:150", "a=sendrecv"}));
}

TEST(FilterCodecs, TelephoneEventGoesAfterCodecsWhateverItsPolicyPosition) {
  Session s = parse_fixture("pbx_g711.sdp");
  ASSERT_TRUE(filter_codecs(s.media[0], {"telephone-event", "PCMA", "PCMU"}));
  EXPECT_EQ(s.media[0].formats, (std::vector<std::string>{"8", "0", "101"}));
}

TEST(FilterCodecs, TelephoneEventNotAllowedIsDropped) {
  Session s = parse_fixture("pbx_g711.sdp");
  ASSERT_TRUE(filter_codecs(s.media[0], {"PCMU"}));
  EXPECT_EQ(s.media[0].formats, (std::vector<std::string>{"0"}));
  EXPECT_FALSE(s.media[0].rtpmap("101"));
  EXPECT_FALSE(s.media[0].fmtp("101"));
}

TEST(FilterCodecs, OnlyTelephoneEventLeftIsAMismatchAndLeavesMediaUntouched) {
  Session s = parse_fixture("pbx_g711.sdp");
  Media before = s.media[0];
  EXPECT_FALSE(filter_codecs(s.media[0], {"G729", "telephone-event"}));
  EXPECT_EQ(s.media[0], before);
}

TEST(FilterCodecs, StaticPayloadTypesWithoutRtpmapAreKnownByName) {
  Session s = parse_fixture("two_media_one_disabled.sdp");
  ASSERT_TRUE(filter_codecs(s.media[0], {"G729", "PCMU"}));
  EXPECT_EQ(s.media[0].formats, (std::vector<std::string>{"18", "0"}));
  EXPECT_EQ(encoding_name(s.media[0], "8"), "PCMA");
  EXPECT_EQ(encoding_name(s.media[0], "77"), "");
}

TEST(FilterCodecs, WebRtcOfferKeepsBothTelephoneEventsAndRtcpFbOfKeptPt) {
  Session s = parse_fixture("webrtc_opus_g722.sdp");
  ASSERT_TRUE(filter_codecs(s.media[0], {"G722", "opus", "telephone-event"}));
  const Media& m = s.media[0];
  EXPECT_EQ(m.formats, (std::vector<std::string>{"9", "111", "110", "126"}));
  EXPECT_FALSE(m.rtpmap("0"));
  EXPECT_FALSE(m.rtpmap("8"));
  EXPECT_TRUE(has_attribute(m.attributes, "rtcp-fb"));
  ASSERT_TRUE(filter_codecs(s.media[0], {"G722"}));
  EXPECT_EQ(s.media[0].formats, (std::vector<std::string>{"9"}));
  EXPECT_FALSE(has_attribute(s.media[0].attributes, "rtcp-fb"));
  EXPECT_FALSE(s.media[0].fmtp("111"));
  EXPECT_TRUE(has_attribute(s.media[0].attributes, "ssrc"));  // not PT-scoped: kept
}

TEST(FilterCodecs, RtxKeptOnlyWithTheCodecItRepairs) {
  auto r = parse(crlf({"v=0", "o=a 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0",
                       "m=video 9 RTP/AVPF 96 97 98 99", "a=rtpmap:96 VP8/90000",
                       "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96", "a=rtpmap:98 H264/90000",
                       "a=rtpmap:99 rtx/90000", "a=fmtp:99 apt=98", "a=rtcp-fb:* nack"}));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(filter_codecs(r->media[0], {"H264", "rtx"}));
  EXPECT_EQ(r->media[0].formats, (std::vector<std::string>{"98", "99"}));
  EXPECT_EQ(r->media[0].attributes, (std::vector<Attribute>{{"rtpmap", "98 H264/90000"},
                                                            {"rtpmap", "99 rtx/90000"},
                                                            {"fmtp", "99 apt=98"},
                                                            {"rtcp-fb", "* nack"}}));
}

TEST(FilterCodecs, EmptyPolicyIsAMismatch) {
  Session s = parse_fixture("srtp_sdes.sdp");
  EXPECT_FALSE(filter_codecs(s.media[0], {}));
}

}  // namespace
}  // namespace portico::sdp::test
