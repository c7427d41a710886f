// SDES a=crypto (RFC 4568): the RFC's own examples, each suite's key length, lifetime and MKI
// limits, malformed lines with their reason, and key redaction.

#include <gtest/gtest.h>

#include "portico/common/sdes_redact.hpp"
#include "portico/sdp/crypto.hpp"

namespace portico::sdp {
namespace {

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t first = 1) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<std::uint8_t>(first + i);
  }
  return v;
}

TEST(SdesCrypto, ParsesTheRfc4568Section4Example) {
  // RFC 4568 §4, with a lifetime of 2^31 instead of 2^20 (see below for 2^20).
  auto c = parse_crypto(
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:4 "
      "FEC_ORDER=FEC_SRTP");
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->tag, 1U);
  EXPECT_EQ(c->suite, SrtpSuite::AesCm128HmacSha1_80);
  ASSERT_EQ(c->key_salt.size(), 30U);
  EXPECT_EQ(std::string(c->key_salt.begin(), c->key_salt.begin() + 4), "YS__");
  EXPECT_EQ(c->lifetime, std::uint64_t{1} << 31);
  EXPECT_EQ(c->mki_value, 1U);
  EXPECT_EQ(c->mki_length, 4U);
  EXPECT_EQ(c->session_params, "FEC_ORDER=FEC_SRTP");
}

TEST(SdesCrypto, RefusesTheRfcExampleLifetimeOf2To20WithAReason) {
  // RFC 4568 §5.1's offer: a key to be replaced after 2^20 packets (about 6 hours of audio).
  auto c = parse_crypto(
      "1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().reason, "crypto_unsupported_lifetime");
}

TEST(SdesCrypto, RefusesAnMkiLongerThanFourBytes) {
  auto c = parse_crypto(
      "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^31|1:32");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().reason, "crypto_unsupported_mki");
}

TEST(SdesCrypto, DecimalLifetimeAndNoMki) {
  auto c = parse_crypto(
      "7 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|4294967296");
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->tag, 7U);
  EXPECT_EQ(c->lifetime, 4294967296ULL);
  EXPECT_EQ(c->mki_length, 0U);
}

TEST(SdesCrypto, EverySuiteRoundTripsThroughFormat) {
  for (SrtpSuite s : kAllSrtpSuites) {
    const auto key = bytes(srtp_key_length(s) + srtp_salt_length(s));
    const std::string line = format_crypto(3, s, key);
    auto c = parse_crypto(line);
    ASSERT_TRUE(c) << line << ": " << c.error().detail;
    EXPECT_EQ(c->suite, s);
    EXPECT_EQ(c->key_salt, key);
    EXPECT_FALSE(c->lifetime);
  }
  EXPECT_EQ(srtp_key_length(SrtpSuite::AeadAes256Gcm) + srtp_salt_length(SrtpSuite::AeadAes256Gcm),
            44U);
}

TEST(SdesCrypto, KeyWithoutPaddingIsAccepted) {
  // 28 bytes of AEAD_AES_128_GCM key||salt: base64 ends in '=', some stacks leave it off.
  std::string line = format_crypto(1, SrtpSuite::AeadAes128Gcm, bytes(28));
  ASSERT_EQ(line.back(), '=');
  line.pop_back();
  EXPECT_TRUE(parse_crypto(line));
}

TEST(SdesCrypto, UnknownSuiteParsesWithoutASuite) {
  auto c = parse_crypto("2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->suite);
  EXPECT_EQ(c->suite_name, "F8_128_HMAC_SHA1_80");
}

TEST(SdesCrypto, MalformedLinesAreErrorsWithAReason) {
  const char* bad[] = {
      "",
      "x AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
      "0 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
      "1234567890 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
      "1",
      "1 AES_CM_128_HMAC_SHA1_80",
      "1 AES_CM_128_HMAC_SHA1_80 uri:http://keys.example",
      "1 AES_CM_128_HMAC_SHA1_80 inline:",
      "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64!",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewky",                  // too short
      "1 AES_256_CM_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",  // 30 != 46
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^x",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|0",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^49",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|1:0",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|256:1",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|1:1|2^31",
      "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1|x",
  };
  for (const char* line : bad) {
    auto c = parse_crypto(line);
    ASSERT_FALSE(c) << line;
    EXPECT_EQ(c.error().reason, "crypto_malformed") << line;
    EXPECT_FALSE(c.error().detail.empty()) << line;
  }
}

TEST(SdesCrypto, CryptoAttributesOfAMediaSection) {
  Media m;
  m.proto = "RTP/SAVP";
  m.attributes = {
      {"rtpmap", "0 PCMU/8000"},
      {"crypto", "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"},
      {"crypto", "2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"}};
  auto all = crypto_attributes(m);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[1].tag, 2U);
  m.attributes.push_back({"crypto", "3 AES_CM_128_HMAC_SHA1_80"});
  EXPECT_FALSE(crypto_attributes(m));
}

TEST(SdesCrypto, Profiles) {
  EXPECT_TRUE(is_savp("RTP/SAVP"));
  EXPECT_TRUE(is_savp("rtp/savpf"));
  EXPECT_FALSE(is_savp("RTP/AVP"));
  EXPECT_FALSE(is_savp("UDP/TLS/RTP/SAVPF"));
  EXPECT_EQ(plain_profile("RTP/SAVP"), "RTP/AVP");
  EXPECT_EQ(plain_profile("RTP/SAVPF"), "RTP/AVPF");
  EXPECT_EQ(secure_profile("RTP/AVP"), "RTP/SAVP");
  EXPECT_EQ(secure_profile("RTP/AVPF"), "RTP/SAVPF");
}

TEST(SdesCrypto, RedactsEveryInlineKeyAndKeepsTheRest) {
  const std::string sdp =
      "m=audio 4000 RTP/SAVP 0\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
      "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:4\r\n"
      "a=crypto:2 AEAD_AES_128_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA==\r\n";
  const std::string out = redact_crypto_keys(sdp);
  EXPECT_EQ(out,
            "m=audio 4000 RTP/SAVP 0\r\n"
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^31|1:4\r\n"
            "a=crypto:2 AEAD_AES_128_GCM inline:<redacted>\r\n");
  EXPECT_TRUE(has_crypto_keys(sdp));
  EXPECT_EQ(redact_crypto_keys("no keys here"), "no keys here");
}

TEST(SdesCrypto, Base64) {
  EXPECT_EQ(base64_encode({'f', 'o', 'o', 'b'}), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9vYg=="), (std::vector<std::uint8_t>{'f', 'o', 'o', 'b'}));
  EXPECT_EQ(base64_decode("Zm9vYg"), (std::vector<std::uint8_t>{'f', 'o', 'o', 'b'}));
  EXPECT_FALSE(base64_decode("Zm9v Yg"));
  EXPECT_FALSE(base64_decode("Z"));
}

}  // namespace
}  // namespace portico::sdp
