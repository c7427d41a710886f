// SDES negotiation of one call (SrtpMedia) over SDP models: what each leg is offered and answered
// for each media_security, the suite picked, keys never crossing legs, keys kept across re-offers,
// and each refusal with its reason and counter.

#include "portico/b2bua/srtp_media.hpp"

#include <gtest/gtest.h>

#include "portico/sdp/crypto.hpp"

namespace portico::b2bua {
namespace {

using policy::LegMediaSecurity;
using policy::MediaSecurity;

const char* const kKey30 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";  // RFC 4568 §4

sdp::Media media(const std::string& proto, std::vector<sdp::Attribute> crypto = {}) {
  sdp::Media m;
  m.type = "audio";
  m.port = 4000;
  m.proto = proto;
  m.formats = {"0"};
  m.attributes = {{"rtpmap", "0 PCMU/8000"}};
  for (auto& c : crypto) {
    m.attributes.push_back(std::move(c));
  }
  return m;
}

std::vector<sdp::CryptoAttribute> cryptos(const sdp::Media& m) {
  auto all = sdp::crypto_attributes(m);
  EXPECT_TRUE(all);
  return all ? std::move(all).value() : std::vector<sdp::CryptoAttribute>{};
}

LegMediaSecurity sec(MediaSecurity mode,
                     std::vector<SrtpSuite> suites = policy::default_srtp_suites()) {
  return LegMediaSecurity{mode, std::move(suites)};
}

class SrtpMediaTest : public ::testing::Test {
 protected:
  MediaStats stats_;
  SrtpMedia srtp_{"call1", stats_};
};

TEST_F(SrtpMediaTest, PlainCallerToSrtpTrunk) {
  srtp_.set_leg(Side::A, sec(MediaSecurity::Rtp));
  srtp_.set_leg(Side::B, sec(MediaSecurity::Srtp));
  sdp::Media m = media("RTP/AVP");
  ASSERT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, m));
  EXPECT_EQ(m.proto, "RTP/SAVP");
  const auto offered = cryptos(m);
  ASSERT_EQ(offered.size(), 5U);  // one per suite, in the policy's order, tags 1..5
  EXPECT_EQ(offered[0].suite, SrtpSuite::AesCm128HmacSha1_80);
  EXPECT_EQ(offered[0].tag, 1U);
  EXPECT_EQ(offered[4].suite, SrtpSuite::AeadAes256Gcm);
  EXPECT_NE(offered[0].key_salt, offered[1].key_salt);
  // The trunk answers with tag 1 and its own key: the caller gets plain RTP.
  sdp::Media a =
      media("RTP/SAVP", {{"crypto", std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30}});
  ASSERT_FALSE(srtp_.rewrite(Side::B, SdpRole::Answer, 0, a));
  EXPECT_EQ(a.proto, "RTP/AVP");
  EXPECT_TRUE(cryptos(a).empty());
  // A re-offer carries the same keys (so the contexts, and their ROC, are kept).
  sdp::Media again = media("RTP/AVP");
  ASSERT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, again));
  EXPECT_EQ(cryptos(again)[0].key_salt, offered[0].key_salt);
}

TEST_F(SrtpMediaTest, SrtpCallerGetsPorticosOwnKeyForTheSuiteItOffered) {
  srtp_.set_leg(Side::A, sec(MediaSecurity::Srtp,
                             {SrtpSuite::AeadAes128Gcm, SrtpSuite::AesCm128HmacSha1_32}));
  srtp_.set_leg(Side::B, sec(MediaSecurity::Rtp));
  const std::string gcm_key = sdp::base64_encode(std::vector<std::uint8_t>(28, 7));
  sdp::Media m =
      media("RTP/SAVP", {{"crypto", std::string("7 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30},
                         {"crypto", std::string("8 AES_CM_128_HMAC_SHA1_32 inline:") + kKey30},
                         {"crypto", "9 AEAD_AES_128_GCM inline:" + gcm_key}});
  ASSERT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, m));
  EXPECT_EQ(m.proto, "RTP/AVP");  // the trunk is plain
  EXPECT_TRUE(cryptos(m).empty());
  sdp::Media a = media("RTP/AVP");
  ASSERT_FALSE(srtp_.rewrite(Side::B, SdpRole::Answer, 0, a));
  EXPECT_EQ(a.proto, "RTP/SAVP");
  const auto answer = cryptos(a);
  ASSERT_EQ(answer.size(), 1U);
  // The offerer's order among the allowed suites: tag 8 (SHA1_32) comes before tag 9 (GCM);
  // tag 7's suite is not allowed by this policy.
  EXPECT_EQ(answer[0].tag, 8U);
  EXPECT_EQ(answer[0].suite, SrtpSuite::AesCm128HmacSha1_32);
  EXPECT_NE(sdp::base64_encode(answer[0].key_salt), kKey30);  // Portico's key, not the peer's
}

TEST_F(SrtpMediaTest, OptionalOffersCryptoOnRtpAvpAndAcceptsAPlainAnswer) {
  srtp_.set_leg(Side::A, sec(MediaSecurity::Rtp));
  srtp_.set_leg(Side::B, sec(MediaSecurity::Optional, {SrtpSuite::AesCm128HmacSha1_80}));
  sdp::Media m = media("RTP/AVP");
  ASSERT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, m));
  EXPECT_EQ(m.proto, "RTP/AVP");
  EXPECT_EQ(cryptos(m).size(), 1U);
  sdp::Media a = media("RTP/AVP");
  EXPECT_FALSE(srtp_.rewrite(Side::B, SdpRole::Answer, 0, a));
}

TEST_F(SrtpMediaTest, RequiredSrtpWithoutCryptoIsRefusedAndCounted) {
  srtp_.set_leg(Side::A, sec(MediaSecurity::Srtp));
  srtp_.set_leg(Side::B, sec(MediaSecurity::Srtp));
  sdp::Media m = media("RTP/AVP");
  auto err = srtp_.rewrite(Side::A, SdpRole::Offer, 0, m);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->reason, "srtp_no_usable_crypto");
  EXPECT_EQ(stats_.srtp_no_usable_crypto, 1U);
  // The answer side: offered SRTP, answered without crypto.
  sdp::Media ok =
      media("RTP/SAVP", {{"crypto", std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30}});
  ASSERT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, ok));
  sdp::Media a = media("RTP/SAVP");
  err = srtp_.rewrite(Side::B, SdpRole::Answer, 0, a);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->reason, "srtp_no_usable_crypto");
  // An answer naming a tag Portico never offered.
  sdp::Media wrong =
      media("RTP/SAVP", {{"crypto", std::string("9 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30}});
  ASSERT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, ok));
  err = srtp_.rewrite(Side::B, SdpRole::Answer, 0, wrong);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->reason, "srtp_no_usable_crypto");
  EXPECT_EQ(stats_.srtp_no_usable_crypto, 3U);
}

TEST_F(SrtpMediaTest, MalformedAndUnsupportedCryptoHaveTheirReasons) {
  srtp_.set_leg(Side::A, sec(MediaSecurity::Optional));
  srtp_.set_leg(Side::B, sec(MediaSecurity::Rtp));
  sdp::Media bad = media("RTP/SAVP", {{"crypto", "1 AES_CM_128_HMAC_SHA1_80 inline:***"}});
  auto err = srtp_.rewrite(Side::A, SdpRole::Offer, 0, bad);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->reason, "srtp_malformed_crypto");
  sdp::Media lifetime =
      media("RTP/SAVP",
            {{"crypto", std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30 + "|2^20"}});
  err = srtp_.rewrite(Side::A, SdpRole::Offer, 0, lifetime);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->reason, "srtp_unsupported_lifetime");
  sdp::Media mki =
      media("RTP/SAVP",
            {{"crypto", std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30 + "|2^31|1:8"}});
  err = srtp_.rewrite(Side::A, SdpRole::Offer, 0, mki);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->reason, "srtp_unsupported_mki");
  // A usable line beside the unsupported one is taken.
  sdp::Media mixed = media(
      "RTP/SAVP", {{"crypto", std::string("1 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30 + "|2^20"},
                   {"crypto", std::string("2 AES_CM_128_HMAC_SHA1_80 inline:") + kKey30}});
  EXPECT_FALSE(srtp_.rewrite(Side::A, SdpRole::Offer, 0, mixed));
  EXPECT_EQ(stats_.srtp_malformed_crypto, 1U);
  EXPECT_EQ(stats_.srtp_unsupported_lifetime, 1U);
  EXPECT_EQ(stats_.srtp_unsupported_mki, 1U);
}

TEST(SrtpWarning, NamesTheReasonWithCode399) {
  EXPECT_EQ(srtp_warning("srtp_no_usable_crypto", "198.51.100.1"),
            "Warning: 399 198.51.100.1 \"SRTP required: no usable a=crypto (SDES) line\"\r\n");
  EXPECT_EQ(srtp_warning("srtp_malformed_crypto", ""),
            "Warning: 399 - \"malformed a=crypto line\"\r\n");
  EXPECT_EQ(srtp_warning("codec_mismatch", "x"), "");
}

}  // namespace
}  // namespace portico::b2bua
