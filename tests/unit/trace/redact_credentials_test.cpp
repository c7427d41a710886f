// Digest responses never reach the sip.trace log: Authorization and Proxy-Authorization
// `response=` values are replaced, everything else is kept byte for byte.

#include "../../../src/trace/redact_credentials.hpp"

#include <gtest/gtest.h>

namespace portico::trace {
namespace {

TEST(RedactCredentials, ResponsesOfBothHeadersAreReplaced) {
  const std::string msg =
      "INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
      "Proxy-Authorization: Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:1@h\", "
      "response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n"
      "authorization: Digest username=\"u\", response=fedcba, nonce=\"x\"\r\n"
      "Content-Length: 0\r\n\r\n";
  std::string out;
  ASSERT_TRUE(redact_credentials(msg, out));
  EXPECT_EQ(out.find("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(out.find("fedcba"), std::string::npos);
  EXPECT_NE(out.find("response=\"redacted\", algorithm=MD5\r\n"), std::string::npos);
  EXPECT_NE(out.find("response=redacted, nonce=\"x\"\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 0\r\n\r\n"), std::string::npos);
}

TEST(RedactCredentials, NothingToRedactLeavesTheTextAlone) {
  const std::string msg =
      "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n"
      "X-Note: response=\"keep\"\r\nContent-Length: 9\r\n\r\nresponse=";
  std::string out = "untouched";
  EXPECT_FALSE(redact_credentials(msg, out));
  EXPECT_EQ(out, "untouched");
}

}  // namespace
}  // namespace portico::trace
