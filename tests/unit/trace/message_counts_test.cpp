#include "portico/trace/message_counts.hpp"

#include <gtest/gtest.h>

namespace portico::trace {
namespace {

TEST(MessageCounts, OutboundRequestsAndResponsesAreClassifiedWithoutAParse) {
  std::string_view method;
  int status = -1;
  classify_outbound("INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n", method, status);
  EXPECT_EQ(method, "INVITE");
  EXPECT_EQ(status, 0);
  classify_outbound("SIP/2.0 486 Busy Here\r\nVia: x\r\nCSeq: 7 INVITE\r\n\r\n", method, status);
  EXPECT_EQ(method, "INVITE");
  EXPECT_EQ(status, 486);
  classify_outbound("SIP/2.0 200 OK\r\nCSeq:   2  BYE \r\n\r\n", method, status);
  EXPECT_EQ(method, "BYE");
  EXPECT_EQ(status, 200);
}

TEST(MessageCounts, UnknownMethodsShareOneLabel) {
  EXPECT_EQ(method_label("INVITE"), "INVITE");
  EXPECT_EQ(method_label("NEWMETHOD"), "other");
  EXPECT_EQ(method_label("invite"), "other");  // methods are case-sensitive (RFC 3261 §7.1)
  std::string_view method;
  int status = 0;
  classify_outbound("SIP/2.0 400 Bad Request\r\n\r\n", method, status);  // no CSeq at all
  EXPECT_EQ(method, "other");
  EXPECT_EQ(status, 400);
}

TEST(MessageCounts, CountingTheSameLabelsAgainFindsTheExistingEntry) {
  MessageCounts counts;
  count_message(counts, "access", "in", "INVITE", 0);
  count_message(counts, "access", "in", "INVITE", 0);
  count_message(counts, "access", "out", "INVITE", 200);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ((counts[{"access", "in", "INVITE", 0}]), 2u);
  EXPECT_EQ((counts[{"access", "out", "INVITE", 200}]), 1u);
}

}  // namespace
}  // namespace portico::trace
