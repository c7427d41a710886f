// Digest hashes and credentials against the worked examples of RFC 7616 §3.9.1 (MD5 and
// SHA-256) and RFC 2617 §3.5.

#include "portico/auth/digest.hpp"

#include <gtest/gtest.h>

namespace portico::auth {
namespace {

// RFC 7616 §3.9.1: the same request answered with each algorithm.
std::string rfc7616_authorization(const std::string& algorithm, const std::string& response) {
  return "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
         "algorithm=" +
         algorithm +
         ", "
         "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
         "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
         "response=\"" +
         response +
         "\", "
         "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
}

TEST(Digest, Rfc7616Md5Example) {
  const auto c =
      parse_credentials(rfc7616_authorization("MD5", "8ca523f5e9506fed4657c9700eebdbec"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->algorithm, Algorithm::Md5);
  EXPECT_EQ(c->nc_value, 1u);
  EXPECT_EQ(c->opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  const std::string h = ha1(Algorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(expected_response(*c, h, "GET"), c->response);
}

TEST(Digest, Rfc7616Sha256Example) {
  const auto c = parse_credentials(rfc7616_authorization(
      "SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->algorithm, Algorithm::Sha256);
  const std::string h = ha1(Algorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(expected_response(*c, h, "GET"), c->response);
  EXPECT_NE(expected_response(*c, h, "POST"), c->response);  // the method is covered
}

TEST(Digest, Rfc2617Example) {
  const auto c = parse_credentials(
      "Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\r\n"
      " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n uri=\"/dir/index.html\",\r\n"
      " qop=auth,\r\n nc=00000001,\r\n cnonce=\"0a4f113b\",\r\n"
      " response=\"6629fae49393a05397450978507c4ef1\",\r\n"
      " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->algorithm, Algorithm::Md5);  // absent algorithm = MD5
  const std::string h = ha1(Algorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  EXPECT_EQ(h, "939e7578ed9e3c518a452acee763bce9");  // RFC 2617 §3.5's HA1
  EXPECT_EQ(expected_response(*c, h, "GET"), "6629fae49393a05397450978507c4ef1");
}

TEST(Digest, UnusableCredentialsAreRefused) {
  EXPECT_FALSE(parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
  EXPECT_FALSE(parse_credentials("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\""));
  EXPECT_FALSE(parse_credentials(rfc7616_authorization("SHA-512-256", "00")));
  EXPECT_FALSE(parse_credentials("Digest username=\"a, realm=\"r\""));  // left open
  // qop=auth without a well-formed nc
  EXPECT_FALSE(
      parse_credentials("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                        "response=\"00\", qop=auth, nc=1, cnonce=\"c\""));
  EXPECT_FALSE(
      parse_credentials("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                        "response=\"00\", qop=auth, nc=0000000g, cnonce=\"c\""));
}

TEST(Digest, QuotedPairsAreUnescaped) {
  const auto c = parse_credentials(
      "Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", "
      "uri=\"sip:x\", response=\"AB\"");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "a\"b");
  EXPECT_EQ(c->response, "ab");
  EXPECT_TRUE(c->qop.empty());
}

}  // namespace
}  // namespace portico::auth
