// Typed accessors on Media over unusual but possible attribute values: they read as absent
// instead of failing the body, and attribute names match case-insensitively.

#include <gtest/gtest.h>

#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

Media media_with(std::vector<Attribute> attrs) {
  Media m;
  m.type = "audio";
  m.port = 1000;
  m.proto = "RTP/AVP";
  m.formats = {"0", "96"};
  m.attributes = std::move(attrs);
  return m;
}

TEST(MediaAccessors, MalformedRtpmapReadsAsAbsent) {
  EXPECT_FALSE(media_with({{"rtpmap", "96"}}).rtpmap("96"));
  EXPECT_FALSE(media_with({{"rtpmap", "96 opus"}}).rtpmap("96"));
  EXPECT_FALSE(media_with({{"rtpmap", "96 /48000"}}).rtpmap("96"));
  EXPECT_FALSE(media_with({{"rtpmap", "96 opus/fast"}}).rtpmap("96"));
  EXPECT_FALSE(media_with({{"rtpmap", "96 opus/48000/x"}}).rtpmap("96"));
  EXPECT_FALSE(media_with({{"rtpmap", std::nullopt}}).rtpmap("96"));
}

TEST(MediaAccessors, RtpmapNameIsCaseInsensitiveAndFirstMatchWins) {
  auto m = media_with({{"RTPMAP", "96 AMR-WB/16000/1"}, {"rtpmap", "96 other/8000"}});
  auto map = m.rtpmap("96");
  ASSERT_TRUE(map);
  EXPECT_EQ(map->payload_type, "96");
  EXPECT_EQ(map->encoding_name, "AMR-WB");
  EXPECT_EQ(map->clock_rate, 16000U);
  EXPECT_EQ(map->channels, 1U);
}

TEST(MediaAccessors, FmtpWithoutParametersIsEmpty) {
  EXPECT_EQ(media_with({{"fmtp", "96"}}).fmtp("96"), "");
  EXPECT_EQ(media_with({{"fmtp", "96   mode=30"}}).fmtp("96"), "mode=30");
  EXPECT_FALSE(media_with({{"fmtp", "960 mode=30"}}).fmtp("96"));
}

TEST(MediaAccessors, RtcpForms) {
  EXPECT_EQ(media_with({{"rtcp", "53020"}}).rtcp()->port, 53020);
  EXPECT_FALSE(media_with({{"rtcp", "53020"}}).rtcp()->connection);
  EXPECT_FALSE(media_with({{"rtcp", "53020 IN IP4"}}).rtcp());
  EXPECT_FALSE(media_with({{"rtcp", "70000"}}).rtcp());
  EXPECT_FALSE(media_with({{"rtcp", ""}}).rtcp());
  EXPECT_FALSE(media_with({{"rtcp", std::nullopt}}).rtcp());
  EXPECT_FALSE(media_with({}).rtcp());
}

TEST(MediaAccessors, PtimeAndMux) {
  EXPECT_EQ(media_with({{"ptime", "20.0"}}).ptime(), 20U);
  EXPECT_EQ(media_with({{"ptime", " 30"}}).ptime(), 30U);
  EXPECT_FALSE(media_with({{"ptime", "abc"}}).ptime());
  EXPECT_FALSE(media_with({{"ptime", std::nullopt}}).ptime());
  EXPECT_TRUE(media_with({{"rtcp-mux", std::nullopt}}).rtcp_mux());
  EXPECT_FALSE(media_with({}).rtcp_mux());
}

TEST(MediaAccessors, DirectionNeedsAPropertyAttribute) {
  EXPECT_FALSE(media_with({{"sendonly", "x"}}).own_direction());
  EXPECT_EQ(media_with({{"recvonly", std::nullopt}}).own_direction(), Direction::RecvOnly);
  Session s;
  s.attributes = {{"inactive", std::nullopt}};
  EXPECT_EQ(direction(s, media_with({})), Direction::Inactive);
  EXPECT_EQ(direction(Session{}, media_with({})), Direction::SendRecv);
}

TEST(MediaAccessors, AttributeListHelpers) {
  std::vector<Attribute> attrs = {{"a", "1"}, {"B", std::nullopt}, {"a", "2"}};
  EXPECT_EQ(find_attribute(attrs, "A")->value, "1");
  EXPECT_TRUE(has_attribute(attrs, "b"));
  EXPECT_EQ(remove_attributes(attrs, "a"), 2U);
  EXPECT_EQ(attrs, (std::vector<Attribute>{{"B", std::nullopt}}));
}

}  // namespace
}  // namespace portico::sdp::test
