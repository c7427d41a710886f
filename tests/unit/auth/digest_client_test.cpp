// Digest as a client: challenges parsed and answered, checked against the worked examples of
// RFC 7616 §3.9.1 (MD5 and SHA-256) and RFC 2617 §3.5, and against Portico's own server side.

#include "portico/auth/digest_client.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace portico::auth {
namespace {

const char* const kRfc7616Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const char* const kRfc7616Opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const char* const kRfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

std::string rfc7616_challenge(const std::string& algorithm) {
  return std::string("Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=") +
         algorithm + ", nonce=\"" + kRfc7616Nonce + "\", opaque=\"" + kRfc7616Opaque + "\"";
}

ClientRequest mufasa(std::string_view cnonce, std::string_view password = "Circle of Life") {
  return ClientRequest{"Mufasa", password, "GET", "/dir/index.html", 1, cnonce};
}

TEST(DigestClient, Rfc7616Sha256Example) {
  // RFC 7616 §3.9.1 offers SHA-256 then MD5: the client answers the stronger one.
  const std::vector<std::string> offered = {rfc7616_challenge("MD5"), rfc7616_challenge("SHA-256")};
  const auto c = best_challenge(offered);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->algorithm, Algorithm::Sha256);
  EXPECT_TRUE(c->qop_auth);
  EXPECT_FALSE(c->stale);
  EXPECT_EQ(c->opaque, kRfc7616Opaque);
  const std::string value = authorization(*c, mufasa(kRfc7616Cnonce));
  const auto creds = parse_credentials(value);
  ASSERT_TRUE(creds.has_value()) << value;
  EXPECT_EQ(creds->response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  EXPECT_EQ(creds->nc, "00000001");
  EXPECT_EQ(creds->qop, "auth");
  EXPECT_EQ(creds->opaque, kRfc7616Opaque);
  EXPECT_NE(value.find("algorithm=SHA-256"), std::string::npos);
}

TEST(DigestClient, Rfc7616Md5Example) {
  const auto c = parse_challenge(rfc7616_challenge("MD5"));
  ASSERT_TRUE(c.has_value());
  const auto creds = parse_credentials(authorization(*c, mufasa(kRfc7616Cnonce)));
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->response, "8ca523f5e9506fed4657c9700eebdbec");
  // A wrong password gives another response.
  const auto wrong = parse_credentials(authorization(*c, mufasa(kRfc7616Cnonce, "circle of life")));
  EXPECT_NE(wrong->response, creds->response);
}

TEST(DigestClient, Rfc2617Example) {
  const auto c = parse_challenge(
      "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n"
      " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
      " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->algorithm, Algorithm::Md5);  // absent = MD5
  const auto creds = parse_credentials(authorization(*c, mufasa("0a4f113b", "Circle Of Life")));
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->realm, "testrealm@host.com");
  EXPECT_EQ(creds->response, "6629fae49393a05397450978507c4ef1");
}

TEST(DigestClient, NoQopIsRfc2069) {
  const auto c = parse_challenge("Digest realm=\"sip.example\", nonce=\"abc\"");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->qop_auth);
  const std::string value = authorization(*c, {"bob", "pw", "REGISTER", "sip:sip.example", 1, "x"});
  EXPECT_EQ(value.find("qop="), std::string::npos);
  EXPECT_EQ(value.find("cnonce="), std::string::npos);
  const auto creds = parse_credentials(value);
  ASSERT_TRUE(creds.has_value());
  const std::string h2 = hash_hex(Algorithm::Md5, "REGISTER:sip:sip.example");
  EXPECT_EQ(
      creds->response,
      hash_hex(Algorithm::Md5, ha1(Algorithm::Md5, "bob", "sip.example", "pw") + ":abc:" + h2));
}

TEST(DigestClient, SessionVariant) {
  const auto c = parse_challenge(
      "Digest realm=\"r\", nonce=\"n\", qop=auth, algorithm=SHA-256-sess, stale=TRUE");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->session);
  EXPECT_TRUE(c->stale);
  const std::string value = authorization(*c, {"u", "p", "INVITE", "sip:1@h", 2, "cn"});
  EXPECT_NE(value.find("algorithm=SHA-256-sess"), std::string::npos);
  EXPECT_NE(value.find("nc=00000002"), std::string::npos);
  const std::string h1 =
      hash_hex(Algorithm::Sha256, ha1(Algorithm::Sha256, "u", "r", "p") + ":n:cn");
  const std::string h2 = hash_hex(Algorithm::Sha256, "INVITE:sip:1@h");
  const std::string expected = hash_hex(Algorithm::Sha256, h1 + ":n:00000002:cn:auth:" + h2);
  EXPECT_NE(value.find("response=\"" + expected + "\""), std::string::npos);
}

TEST(DigestClient, RefusesWhatItCannotAnswer) {
  EXPECT_FALSE(parse_challenge("Basic realm=\"x\""));
  EXPECT_FALSE(parse_challenge("Digest realm=\"x\""));  // no nonce
  EXPECT_FALSE(parse_challenge("Digest nonce=\"n\""));  // no realm
  EXPECT_FALSE(parse_challenge("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256"));
  EXPECT_FALSE(parse_challenge("Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\""));
  EXPECT_FALSE(parse_challenge("Digest realm=\"x, nonce=\"n\""));  // open quote
  const std::vector<std::string> none = {"Basic realm=\"x\""};
  EXPECT_FALSE(best_challenge(none));
}

TEST(DigestClient, AnsweredByPorticosOwnServerSide) {
  // The answer checks against the server half: the same hash both ways, quoting escaped.
  const auto c = parse_challenge("Digest realm=\"a\\\"b\", nonce=\"n1\", qop=auth, opaque=\"o\"");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->realm, "a\"b");
  const std::string cn = new_cnonce();
  EXPECT_EQ(cn.size(), 32u);
  EXPECT_NE(cn, new_cnonce());
  const auto creds =
      parse_credentials(authorization(*c, {"alice", "s3cret", "BYE", "sip:x@y", 3, cn}));
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->realm, "a\"b");
  EXPECT_EQ(creds->nc_value, 3u);
  EXPECT_EQ(creds->cnonce, cn);
  EXPECT_EQ(expected_response(*creds, ha1(Algorithm::Md5, "alice", "a\"b", "s3cret"), "BYE"),
            creds->response);
}

}  // namespace
}  // namespace portico::auth
