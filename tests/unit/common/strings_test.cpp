// parse_uint (the one decimal parser) and random_token.

#include "portico/common/strings.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace portico {
namespace {

TEST(ParseUint, Digits) {
  EXPECT_EQ(parse_uint("0"), 0u);
  EXPECT_EQ(parse_uint("5060"), 5060u);
  EXPECT_EQ(parse_uint("007"), 7u);                   // leading zeros are fine
  EXPECT_EQ(parse_uint("00000000000000000001"), 1u);  // 20 characters
}

TEST(ParseUint, RefusesWhatIsNotADecimal) {
  EXPECT_EQ(parse_uint(""), std::nullopt);
  EXPECT_EQ(parse_uint(" 1"), std::nullopt);
  EXPECT_EQ(parse_uint("1 "), std::nullopt);
  EXPECT_EQ(parse_uint("+1"), std::nullopt);
  EXPECT_EQ(parse_uint("-1"), std::nullopt);
  EXPECT_EQ(parse_uint("1a"), std::nullopt);
  EXPECT_EQ(parse_uint("0x10"), std::nullopt);
  EXPECT_EQ(parse_uint("1.5"), std::nullopt);
  EXPECT_EQ(parse_uint("000000000000000000001"), std::nullopt);  // 21 characters
}

TEST(ParseUint, TwentyDigitsUpToTheLargest64BitValue) {
  EXPECT_EQ(parse_uint("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_uint("18446744073709551616"), std::nullopt);  // overflows by one
  EXPECT_EQ(parse_uint("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_uint("9999999999999999999"), 9999999999999999999u);  // 19 digits
}

TEST(ParseUint, Max) {
  EXPECT_EQ(parse_uint("65535", 65535), 65535u);
  EXPECT_EQ(parse_uint("65536", 65535), std::nullopt);
  EXPECT_EQ(parse_uint("255", 255), 255u);
  EXPECT_EQ(parse_uint("256", 255), std::nullopt);
  EXPECT_EQ(parse_uint("4294967295", 0xFFFFFFFFULL), 0xFFFFFFFFu);
  EXPECT_EQ(parse_uint("4294967296", 0xFFFFFFFFULL), std::nullopt);
  EXPECT_EQ(parse_uint("0", 0), 0u);
  EXPECT_EQ(parse_uint("1", 0), std::nullopt);
  EXPECT_EQ(parse_uint("7", 5), std::nullopt);  // a single digit above a small max
  EXPECT_EQ(parse_uint("5", 5), 5u);
  EXPECT_EQ(parse_uint("0000000000000000065535", 65535), std::nullopt);  // too long
}

bool is_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(RandomToken, LengthAndAlphabet) {
  for (std::size_t n : {0u, 1u, 10u, 16u, 17u, 32u, 100u}) {
    const std::string t = random_token(n);
    EXPECT_EQ(t.size(), n);
    EXPECT_TRUE(is_hex(t)) << t;
  }
}

TEST(RandomToken, TokensDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(seen.insert(random_token(16)).second);
  }
}

TEST(RandomToken, HexDigitsAreEvenlySpread) {
  // 160000 digits: each of the 16 is expected 10000 times (sd ~ 97); 10% off is > 10 sd.
  std::array<int, 16> counts{};
  for (int i = 0; i < 10000; ++i) {
    for (char c : random_token(16)) {
      ++counts[static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10)];
    }
  }
  for (int c : counts) {
    EXPECT_GT(c, 9000);
    EXPECT_LT(c, 11000);
  }
}

TEST(RandomToken, TwoThreadsNeverRepeat) {
  constexpr int kEach = 20000;
  std::vector<std::string> a;
  std::vector<std::string> b;
  std::thread ta([&] {
    for (int i = 0; i < kEach; ++i) {
      a.push_back(random_token(16));
    }
  });
  std::thread tb([&] {
    for (int i = 0; i < kEach; ++i) {
      b.push_back(random_token(16));
    }
  });
  ta.join();
  tb.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2u * kEach);
}

}  // namespace
}  // namespace portico
