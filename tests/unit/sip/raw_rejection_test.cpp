#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "portico/sip/message.hpp"
#include "portico/sip/message_builder.hpp"

namespace portico::sip {
namespace {

std::string corpus(const std::string& name) {
  std::ifstream in(std::string(PORTICO_SOURCE_DIR) + "/tests/fixtures/rfc4475/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RejectUnparseableTest, MalformedRequestsFromRfc4475Get400WithTheirHeaders) {
  init_parser();
  for (const char* file : {"quotbal.dat", "badaspec.dat", "ltgtruri.dat", "lwsruri.dat"}) {
    std::string msg = corpus(file);
    ASSERT_FALSE(msg.empty()) << file;
    ASSERT_FALSE(Message::parse(msg).ok()) << file << " is expected to defeat the parser";
    std::string reason;
    auto out = reject_unparseable(msg, reason);
    ASSERT_TRUE(out.has_value()) << file;
    EXPECT_EQ(reason, "unparseable");
    EXPECT_TRUE(out->starts_with("SIP/2.0 400 Bad Request\r\n")) << *out;
    // The identifying lines are the request's own (a malformed From/To comes back as sent).
    EXPECT_NE(out->find("\r\nCall-ID: " + std::string(find_call_id(msg)) + "\r\n"),
              std::string::npos) << *out;
    EXPECT_NE(out->find("\r\nVia: SIP/2.0/UDP "), std::string::npos) << *out;
    EXPECT_NE(out->find("\r\nCSeq: "), std::string::npos) << *out;
    EXPECT_NE(out->find(";tag="), std::string::npos) << *out;
    EXPECT_TRUE(out->ends_with("Content-Length: 0\r\n\r\n"));
  }
  // Where the identifying headers are well formed, the 400 is a valid SIP response.
  std::string reason;
  auto out = reject_unparseable(corpus("ltgtruri.dat"), reason);
  ASSERT_TRUE(out.has_value());
  auto parsed = Message::parse(*out);
  ASSERT_TRUE(parsed.ok()) << *out;
  EXPECT_EQ(parsed->status(), 400);
  EXPECT_FALSE(parsed->to().tag.empty());
}

TEST(RejectUnparseableTest, UnknownRequestUriSchemeGets416) {
  std::string reason;
  auto out = reject_unparseable(corpus("novelsc.dat"), reason);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(reason, "unsupported_uri_scheme");
  EXPECT_TRUE(out->starts_with("SIP/2.0 416 ")) << *out;
}

TEST(RejectUnparseableTest, FoldedViaIsUnfolded) {
  std::string msg =
      "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\n ;branch=z9hG4bKf\r\n"
      "From: <sip:x@y>;tag=1\r\nTo: \"unbalanced <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n";
  std::string reason;
  auto out = reject_unparseable(msg, reason);
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("Via: SIP/2.0/UDP 192.0.2.1:5060 ;branch=z9hG4bKf\r\n"), std::string::npos)
      << *out;
}

TEST(RejectUnparseableTest, ResponsesAcksAndViaLessRequestsAreDropped) {
  std::string reason;
  EXPECT_FALSE(reject_unparseable("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", reason));
  EXPECT_FALSE(reject_unparseable("ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", reason));
  EXPECT_FALSE(reject_unparseable("INVITE sip:a@b SIP/2.0\r\nFrom: x\r\n\r\n", reason));
  EXPECT_FALSE(reject_unparseable("\x01\x02 garbage", reason));
  EXPECT_FALSE(reject_unparseable("", reason));
}

}  // namespace
}  // namespace portico::sip
