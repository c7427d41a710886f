// The Require check every transaction user applies (RFC 3261 §8.2.2.3).
#include <gtest/gtest.h>

#include <string>

#include "portico/sip/extensions.hpp"
#include "portico/sip/message.hpp"

namespace portico::sip {
namespace {

Message request_with(const std::string& require_lines) {
  std::string text =
      "OPTIONS sip:portico@127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ext-1\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:a@127.0.0.1>;tag=1\r\n"
      "To: <sip:portico@127.0.0.1>\r\n"
      "Call-ID: ext-1@127.0.0.1\r\n"
      "CSeq: 1 OPTIONS\r\n" +
      require_lines + "Content-Length: 0\r\n\r\n";
  auto parsed = Message::parse(text);
  EXPECT_TRUE(parsed.ok());
  return std::move(parsed.value());
}

TEST(UnsupportedOptions, NoRequireIsAccepted) {
  EXPECT_EQ(unsupported_options(request_with("")), "");
}

TEST(UnsupportedOptions, SupportedTagsInAnyCaseAreAccepted) {
  EXPECT_EQ(unsupported_options(request_with("Require: 100REL, Timer\r\n")), "");
}

TEST(UnsupportedOptions, UnknownTagsAreListedInOrderAcrossHeaders) {
  EXPECT_EQ(unsupported_options(request_with("Require: 100rel, precondition\r\n"
                                             "Require: gruu\r\n")),
            "precondition, gruu");
}

}  // namespace
}  // namespace portico::sip
