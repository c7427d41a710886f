// Every class of structural error parse() reports, with its exact reason and detail, and the
// limits that bound its work (kMaxSdpBytes, kMaxSdpLines, kMaxMediaSections).

#include <gtest/gtest.h>

#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

constexpr std::string_view kHead = "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";

struct ErrorCase {
  std::string name;
  std::string input;
  std::string reason;
  std::string detail;
};

std::string head_plus(std::string_view rest) { return std::string(kHead) + std::string(rest); }

std::vector<ErrorCase> error_cases() {
  return {
      {"Empty", "", "sdp_syntax", "empty SDP body"},
      {"OnlyBlankLines", "\r\n \r\n\n", "sdp_syntax", "empty SDP body"},
      {"NotStartingWithV", "o=a 1 1 IN IP4 192.0.2.1\r\n", "sdp_syntax",
       "line 1: SDP must start with v=0"},
      {"WrongVersion", "v=1\r\n", "sdp_syntax", "line 1: v= must be 0"},
      {"NotTypeEqualsValue", "v=0\r\nhello\r\n", "sdp_syntax", "line 2: expected <type>=<value>"},
      {"DigitType", "v=0\r\n1=x\r\n", "sdp_syntax", "line 2: expected <type>=<value>"},
      {"LeadingSpace", "v=0\r\n o=a 1 1 IN IP4 192.0.2.1\r\n", "sdp_syntax",
       "line 2: expected <type>=<value>"},
      {"NulByte", std::string("v=0\r\ns=a\0b\r\n", 12), "sdp_syntax",
       "line 2: contains a NUL byte or a bare CR"},
      {"BareCr", "v=0\r\ns=a\rb\r\n", "sdp_syntax", "line 2: contains a NUL byte or a bare CR"},
      {"DuplicateV", "v=0\r\nv=0\r\n", "sdp_syntax", "line 2: v= appears twice"},
      {"DuplicateO", head_plus("o=a 1 1 IN IP4 192.0.2.1\r\n"), "sdp_syntax",
       "line 5: o= appears twice"},
      {"DuplicateS", head_plus("s=x\r\n"), "sdp_syntax", "line 5: s= appears twice"},
      {"OriginFieldCount", "v=0\r\no=a 1 1 IN IP4\r\n", "sdp_syntax",
       "line 2: o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> <address>"},
      {"OriginSessionId", "v=0\r\no=a x 1 IN IP4 192.0.2.1\r\n", "sdp_syntax",
       "line 2: o= sess-id is not a number"},
      {"OriginVersion", "v=0\r\no=a 1 -1 IN IP4 192.0.2.1\r\n", "sdp_syntax",
       "line 2: o= sess-version is not a number"},
      {"OriginIdTooLong", "v=0\r\no=a 123456789012345678901 1 IN IP4 192.0.2.1\r\n", "sdp_syntax",
       "line 2: o= sess-id is not a number"},
      {"MissingO", "v=0\r\ns=-\r\nt=0 0\r\n", "sdp_syntax", "missing o= line (RFC 4566 §5.2)"},
      {"MissingS", "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n", "sdp_syntax",
       "missing s= line (RFC 4566 §5.3)"},
      {"MediaBeforeOrigin", "v=0\r\nm=audio 1 RTP/AVP 0\r\n", "sdp_syntax",
       "line 2: m= before the o= and s= lines"},
      {"ConnectionFieldCount", head_plus("c=IN IP4\r\n"), "sdp_syntax",
       "line 5: c= needs <nettype> <addrtype> <address>"},
      {"DuplicateSessionConnection", head_plus("c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\n"),
       "sdp_syntax", "line 6: c= appears twice in this section"},
      {"DuplicateMediaConnection",
       head_plus("m=audio 1 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\n"),
       "sdp_syntax", "line 7: c= appears twice in this section"},
      {"DuplicateInformation", head_plus("i=a\r\ni=b\r\n"), "sdp_syntax",
       "line 6: i= appears twice in this section"},
      {"BandwidthNoColon", head_plus("b=AS64\r\n"), "sdp_syntax",
       "line 5: b= needs <bwtype>:<bandwidth>"},
      {"BandwidthEmptyType", head_plus("b=:64\r\n"), "sdp_syntax",
       "line 5: b= needs <bwtype>:<bandwidth>"},
      {"BandwidthNotNumber", head_plus("m=audio 1 RTP/AVP 0\r\nb=AS:fast\r\n"), "sdp_syntax",
       "line 6: b= bandwidth is not a number"},
      {"TimingFieldCount", "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0\r\n", "sdp_syntax",
       "line 4: t= needs <start> <stop>"},
      {"TimingNotNumber", "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=now 0\r\n", "sdp_syntax",
       "line 4: t= times are not numbers"},
      {"RepeatWithoutTiming", "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nr=1 2 3\r\n", "sdp_syntax",
       "line 4: r= without a preceding t="},
      {"MediaFieldCount", head_plus("m=audio 49170 RTP/AVP\r\n"), "sdp_syntax",
       "line 5: m= needs <media> <port> <proto> <fmt>..."},
      {"MediaPortNotNumber", head_plus("m=audio x RTP/AVP 0\r\n"), "sdp_syntax",
       "line 5: m= port is not a number 0-65535"},
      {"MediaPortTooBig", head_plus("m=audio 65536 RTP/AVP 0\r\n"), "sdp_syntax",
       "line 5: m= port is not a number 0-65535"},
      {"MediaPortCountZero", head_plus("m=audio 1000/0 RTP/AVP 0\r\n"), "sdp_syntax",
       "line 5: m= port count is not a number 1-65535"},
      {"AttributeEmptyName", head_plus("a=:x\r\n"), "sdp_syntax",
       "line 5: a= has an empty attribute name"},
      {"AttributeEmptyLine", head_plus("m=audio 1 RTP/AVP 0\r\na=\r\n"), "sdp_syntax",
       "line 6: a= has an empty attribute name"},
      {"AttributeNameWithSpace", head_plus("a=send recv\r\n"), "sdp_syntax",
       "line 5: a= attribute name contains a space"},
      {"SessionLineInMedia", head_plus("m=audio 1 RTP/AVP 0\r\nt=0 0\r\n"), "sdp_syntax",
       "line 6: t= is not allowed in a media section"},
      {"OriginInMedia", head_plus("m=audio 1 RTP/AVP 0\r\no=a 1 1 IN IP4 192.0.2.1\r\n"),
       "sdp_syntax", "line 6: o= is not allowed in a media section"},
      {"ErrorLineCountsBlankLines", "v=0\r\n\r\n\r\nx\r\n", "sdp_syntax",
       "line 4: expected <type>=<value>"},
  };
}

class ParseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, ReportsReasonAndExactDetail) {
  auto r = parse(GetParam().input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, GetParam().reason);
  EXPECT_EQ(r.error().detail, GetParam().detail);
}

INSTANTIATE_TEST_SUITE_P(Cases, ParseErrorTest, ::testing::ValuesIn(error_cases()),
                         [](const auto& p) { return p.param.name; });

TEST(ParseLimits, BodyOverMaxBytesIsRejectedBeforeParsing) {
  std::string big = head_plus("");
  big += std::string(kMaxSdpBytes, 'x');
  auto r = parse(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "sdp_limit");
  EXPECT_EQ(r.error().detail,
            "SDP body is " + std::to_string(big.size()) + " bytes, over the limit of 65536");
}

TEST(ParseLimits, ExactlyMaxLinesIsAccepted) {
  std::string text = head_plus("m=audio 1 RTP/AVP 0\r\n");
  for (std::size_t i = 5; i < kMaxSdpLines; ++i) {
    text += "a=x\r\n";
  }
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->media[0].attributes.size(), kMaxSdpLines - 5);
}

TEST(ParseLimits, OneLineOverMaxLinesIsRejected) {
  std::string text = head_plus("m=audio 1 RTP/AVP 0\r\n");
  for (std::size_t i = 5; i <= kMaxSdpLines; ++i) {
    text += "a=x\r\n";
  }
  auto r = parse(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "sdp_limit");
  EXPECT_EQ(r.error().detail, "line 1001: more than 1000 lines");
}

TEST(ParseLimits, MaxFormatsPerMediaAcceptedOneMoreRejected) {
  std::string m = "m=audio 1000 RTP/AVP";
  for (std::size_t i = 0; i < kMaxFormatsPerMedia; ++i) {
    m += " " + std::to_string(i);
  }
  auto ok = parse(head_plus(m + "\r\n"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->media[0].formats.size(), kMaxFormatsPerMedia);
  auto r = parse(head_plus(m + " 0\r\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "sdp_limit");
  EXPECT_EQ(r.error().detail, "line 5: m= has more than 128 formats");
}

TEST(ParseLimits, MaxMediaSectionsAcceptedOneMoreRejected) {
  std::string text = head_plus("");
  for (std::size_t i = 0; i < kMaxMediaSections; ++i) {
    text += "m=audio 0 RTP/AVP 0\r\n";
  }
  auto ok = parse(text);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->media.size(), kMaxMediaSections);
  auto r = parse(text + "m=audio 0 RTP/AVP 0\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "sdp_limit");
  EXPECT_EQ(r.error().detail, "line 69: more than 64 media sections");
}

}  // namespace
}  // namespace portico::sdp::test
