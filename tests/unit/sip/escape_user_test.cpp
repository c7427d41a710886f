// escape_user: a user part parse_uri unescaped is written back as one user, never as URI syntax.

#include <gtest/gtest.h>

#include "portico/sip/message.hpp"

namespace portico::sip {
namespace {

TEST(EscapeUser, NumbersAndUserUnreservedStayAsTheyAre) {
  EXPECT_EQ(escape_user("+442079460000"), "+442079460000");
  EXPECT_EQ(escape_user("alice.smith_1-2"), "alice.smith_1-2");
  EXPECT_EQ(escape_user("+1234;phone-context=example.com"), "+1234;phone-context=example.com");
  EXPECT_EQ(escape_user(""), "");
}

TEST(EscapeUser, DelimitersThatWouldEndTheUriAreEscaped) {
  EXPECT_EQ(escape_user("0044>;tag=x"), "0044%3E;tag=x");
  EXPECT_EQ(escape_user("a b\r\nVia: x"), "a%20b%0D%0AVia%3A%20x");
  EXPECT_EQ(escape_user("a@b<c>\"%"), "a%40b%3Cc%3E%22%25");
  EXPECT_EQ(escape_user("\xC3\xA9"), "%C3%A9");  // UTF-8 bytes, each escaped
}

TEST(EscapeUser, RoundTripsThroughTheParser) {
  // The user osip unescaped comes back identical after escape_user and a second parse.
  auto first = parse_uri("sip:0044%3E%3Btag%3Dx@192.0.2.1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->user, "0044>;tag=x");
  auto again = parse_uri("sip:" + escape_user(first->user) + "@192.0.2.1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->user, first->user);
  EXPECT_EQ(again->host, "192.0.2.1");
}

}  // namespace
}  // namespace portico::sip
