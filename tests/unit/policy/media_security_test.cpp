// media_security and srtp_suites per realm, trunk and access peer: defaults, the most specific
// setting winning, SRTP by default over TLS, and bad values named with file:line and field.

#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

const char* const kSecurity = R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
  carrier:
    listeners: [udp://127.0.0.2:5060]
    media_security: optional
    srtp_suites: [AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80]
trunks:
  secure:
    realm: carrier
    host: 127.0.0.2
    port: 5070
    media_security: srtp
  inherits:
    realm: carrier
    host: 127.0.0.2
    port: 5080
access_peers:
  pbx:
    realm: access
    sources: [127.0.0.10]
    srtp_suites: [AES_256_CM_HMAC_SHA1_80]
)";

TEST(MediaSecurity, DefaultsAreRtpAndAllFiveSuitesWithSha1_80First) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  auto s = media_security_for(*p, "access", "", Protocol::Udp);
  EXPECT_EQ(s.mode, MediaSecurity::Rtp);
  ASSERT_EQ(s.suites.size(), 5U);
  EXPECT_EQ(s.suites[0], SrtpSuite::AesCm128HmacSha1_80);
  EXPECT_EQ(media_security_for(*p, "carrier", "", Protocol::Tcp).mode, MediaSecurity::Rtp);
}

TEST(MediaSecurity, TlsSignallingDefaultsToSrtp) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_EQ(default_media_security(Protocol::Tls), MediaSecurity::Srtp);
  EXPECT_EQ(media_security_for(*p, "access", "", Protocol::Tls).mode, MediaSecurity::Srtp);
}

TEST(MediaSecurity, MostSpecificSettingWins) {
  auto p = load_policy_texts({{"p.yaml", kSecurity}});
  auto secure = media_security_for(*p, "carrier", "secure", Protocol::Udp);
  EXPECT_EQ(secure.mode, MediaSecurity::Srtp);  // trunk over realm
  EXPECT_EQ(secure.suites,
            (std::vector<SrtpSuite>{SrtpSuite::AeadAes128Gcm, SrtpSuite::AesCm128HmacSha1_80}));
  EXPECT_EQ(media_security_for(*p, "carrier", "inherits", Protocol::Udp).mode,
            MediaSecurity::Optional);  // realm's
  auto pbx = media_security_for(*p, "access", "pbx", Protocol::Udp);
  EXPECT_EQ(pbx.mode, MediaSecurity::Rtp);  // default
  EXPECT_EQ(pbx.suites, std::vector<SrtpSuite>{SrtpSuite::Aes256CmHmacSha1_80});
  // An explicit setting beats the TLS default.
  EXPECT_EQ(media_security_for(*p, "carrier", "inherits", Protocol::Tls).mode,
            MediaSecurity::Optional);
  // A peer of another realm does not lend its setting.
  EXPECT_EQ(media_security_for(*p, "access", "secure", Protocol::Udp).mode, MediaSecurity::Rtp);
}

TEST(MediaSecurity, BadValuesAreNamed) {
  auto diags = diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media_security: sdes
    srtp_suites: [AES_CM_128_HMAC_SHA1_80, F8_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_80]
  carrier:
    listeners: [udp://127.0.0.2:5060]
    srtp_suites: []
)"}});
  ASSERT_EQ(diags.size(), 4U);
  EXPECT_NE(diags[0].find("p.yaml:4:21: realms.access.media_security: \"sdes\" is not a media "
                          "security (rtp, srtp or optional)"),
            std::string::npos)
      << diags[0];
  EXPECT_NE(diags[1].find("realms.access.srtp_suites[1]: \"F8_128_HMAC_SHA1_80\" is not an SRTP "
                          "suite"),
            std::string::npos)
      << diags[1];
  EXPECT_NE(diags[2].find("is listed twice"), std::string::npos) << diags[2];
  EXPECT_NE(diags[3].find("realms.carrier.srtp_suites: lists no suite"), std::string::npos)
      << diags[3];
}

}  // namespace
}  // namespace portico::policy::test
