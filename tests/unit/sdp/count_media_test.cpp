// count_media_lines: the cheap count the B2BUA checks against limits.max_media_streams before
// it parses an offer.

#include <gtest/gtest.h>

#include "portico/sdp/session.hpp"

namespace portico::sdp {
namespace {

TEST(CountMediaLines, CountsLinesStartingWithMEquals) {
  EXPECT_EQ(count_media_lines(""), 0u);
  EXPECT_EQ(count_media_lines("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n"), 0u);
  EXPECT_EQ(count_media_lines("v=0\r\nm=audio 4000 RTP/AVP 0\r\na=x:m=1\r\nm=video 4002 "
                              "RTP/AVP 96\n"),
            2u);
  EXPECT_EQ(count_media_lines("m=audio 1 RTP/AVP 0"), 1u);  // no line end at all
  std::string many;
  for (int i = 0; i < 100; ++i) {
    many += "m=audio " + std::to_string(4000 + 2 * i) + " RTP/AVP 0\r\n";
  }
  EXPECT_EQ(count_media_lines(many), 100u);
}

}  // namespace
}  // namespace portico::sdp
