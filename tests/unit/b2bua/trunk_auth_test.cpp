// A request resent with credentials after a trunk's challenge: new branch, next CSeq, the
// credentials line at the end of the headers, everything else (Call-ID, tags, body) unchanged.

#include <gtest/gtest.h>

#include "../../../src/b2bua/b2bua_impl.hpp"

namespace portico::b2bua {
namespace {

const std::string kInvite =
    "INVITE sip:1000@192.0.2.50:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKold;rport\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=ft\r\nTo: <sip:1000@192.0.2.50>\r\n"
    "Call-ID: pt00abc\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
    "Content-Length: 4\r\n\r\nv=0\n";

TEST(TrunkAuth, ResentRequestHasNewBranchNextCSeqAndCredentials) {
  const auto out =
      with_credentials(kInvite, "z9hG4bKnew", 2, "Proxy-Authorization: Digest username=\"u\"\r\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(
      *out,
      "INVITE sip:1000@192.0.2.50:5060 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnew;rport\r\n"
      "Max-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=ft\r\nTo: <sip:1000@192.0.2.50>\r\n"
      "Call-ID: pt00abc\r\nCSeq: 2 INVITE\r\nContent-Type: application/sdp\r\n"
      "Content-Length: 4\r\nProxy-Authorization: Digest username=\"u\"\r\n\r\nv=0\n");
}

TEST(TrunkAuth, RequestWithoutBranchOrCSeqIsNotResent) {
  EXPECT_FALSE(with_credentials("BYE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nCSeq: 1 BYE\r\n\r\n",
                                "z9hG4bKn", 2, "Authorization: x\r\n"));
  EXPECT_FALSE(with_credentials("BYE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n",
                                "z9hG4bKn", 2, "Authorization: x\r\n"));
}

}  // namespace
}  // namespace portico::b2bua
