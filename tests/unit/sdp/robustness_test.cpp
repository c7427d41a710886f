// Never crash on any input: every fixture truncated at every byte, and with bytes flipped or
// replaced by the characters that matter to the parser; whatever parses must re-serialize and
// re-parse, and the typed accessors and rewriters must run on it. (The fuzz target will widen
// this; this keeps the guarantee in the unit suite.)

#include <gtest/gtest.h>

#include "portico/sdp/rewrite.hpp"
#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

// Everything the media layer would do with a parsed body, so it is exercised on odd input too.
void exercise(std::string_view text) {
  auto r = parse(text);
  if (!r.ok()) {
    EXPECT_FALSE(r.error().reason.empty());
    EXPECT_FALSE(r.error().detail.empty());
    return;
  }
  Session s = std::move(r).value();
  for (auto& m : s.media) {
    for (const auto& f : m.formats) {
      (void)m.rtpmap(f);
      (void)m.fmtp(f);
    }
    (void)m.rtcp();
    (void)m.ptime();
    (void)direction(s, m);
  }
  std::string out = serialize(s);
  auto again = parse(out);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(serialize(*again), out);
  strip_ice(s);
  EXPECT_TRUE(set_connection(s, "2001:db8::5"));
  for (auto& m : s.media) {
    (void)filter_codecs(m, {"PCMA", "opus", "telephone-event"});
    set_media_port(m, 30000, 30001);
    set_direction(m, Direction::Inactive);
  }
  OriginVersioner v(1, 1);
  v.apply(s);
  (void)serialize(s);
}

class RobustnessTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RobustnessTest, EveryTruncation) {
  std::string text = read_fixture(GetParam());
  for (std::size_t n = 0; n <= text.size(); ++n) {
    exercise(std::string_view(text).substr(0, n));
  }
}

TEST_P(RobustnessTest, EveryByteFlippedOrReplaced) {
  std::string text = read_fixture(GetParam());
  static constexpr char kSpecial[] = {'\0', '\r', '\n', ' ', '=', ':', '/', '\xff'};
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string mutated = text;
    mutated[i] = static_cast<char>(mutated[i] ^ 0x20);
    exercise(mutated);
    for (char c : kSpecial) {
      mutated[i] = c;
      exercise(mutated);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RobustnessTest, ::testing::ValuesIn(fixture_names()),
                         fixture_test_name);

TEST(Robustness, HostileShapesAreBounded) {
  exercise(std::string(kMaxSdpBytes, '\n'));
  exercise(std::string(kMaxSdpBytes, 'a'));
  exercise(
      "v=0\no=a 1 1 IN IP4 x\ns=\nm=a 0 b c\na=rtcp:\na=rtcp:99999\na=rtpmap:c x/\n"
      "a=rtpmap:c x/1/\na=fmtp:c\na=ptime:.\na=ptime:99999999999\n");
  exercise("v=0\no=a 18446744073709551615 18446744073709551615 IN IP4 x\ns=-\n");
}

}  // namespace
}  // namespace portico::sdp::test
