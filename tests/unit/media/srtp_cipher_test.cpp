// Portico's AES-ICM and AES-GCM cipher types for libsrtp, driven directly through libsrtp's
// cipher API against published vectors: RFC 3711 B.2 / RFC 6188 7.1 keystreams (including the
// blocks at the far end of B.2's counter range and a keystream split across calls) and RFC 7714
// section 16 packets, whose tag must also reject a changed octet. The SrtpTransform tests'
// "independent" peers share these types (they are registered process-wide), so these vectors
// and tests/e2e/test_srtp.py (baresip, its own crypto) are what make the round trips meaningful.

#include <gtest/gtest.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "../../../src/media/srtp_cipher.hpp"
#include "portico/media/srtp_transform.hpp"

namespace portico::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(const std::string& s) {
  Bytes out;
  std::string digits;
  for (char c : s) {
    if (c != ' ') {
      digits.push_back(c);
    }
  }
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

/// One cipher of a Portico type, keyed; freed at scope end.
class Cipher {
 public:
  Cipher(const srtp_cipher_type_t& type, const Bytes& key, int tag_len) {
    EXPECT_EQ(srtp_cipher_type_alloc(&type, &c_, static_cast<int>(key.size()), tag_len),
              srtp_err_status_ok);
    EXPECT_EQ(srtp_cipher_init(c_, key.data()), srtp_err_status_ok);
  }
  ~Cipher() { srtp_cipher_dealloc(c_); }
  Cipher(const Cipher&) = delete;
  Cipher& operator=(const Cipher&) = delete;
  srtp_cipher_t* get() { return c_; }

 private:
  srtp_cipher_t* c_ = nullptr;
};

TEST(SrtpCipher, LibsrtpTakesAllFourAfterItsKnownAnswerTests) {
  init_srtp();  // installs them
  for (const srtp_cipher_type_t* t :
       {&fast_aes_icm_128(), &fast_aes_icm_256(), &fast_aes_gcm_128(), &fast_aes_gcm_256()}) {
    EXPECT_EQ(srtp_cipher_type_self_test(t), srtp_err_status_ok) << t->description;
  }
  EXPECT_TRUE(install_fast_aes_ciphers());
}

// RFC 3711 Appendix B.2: session key, salt F0..FD, IV 0; keystream blocks for counters 0000,
// 0001, 0002 and FEFF, FF00, FF01 (the last 16 bits count blocks).
TEST(SrtpCipher, AesIcm128KeystreamMatchesRfc3711AppendixB2) {
  init_srtp();
  Cipher c(fast_aes_icm_128(), hex("2b7e151628aed2a6abf7158809cf4f3c f0f1f2f3f4f5f6f7f8f9fafbfcfd"),
           0);
  std::uint8_t iv[16] = {};
  ASSERT_EQ(srtp_cipher_set_iv(c.get(), iv, srtp_direction_encrypt), srtp_err_status_ok);
  Bytes ks(0xff02 * 16, 0);
  // Split at a non-block boundary: the keystream must continue across calls.
  std::uint32_t first = 5;
  std::uint32_t rest = static_cast<std::uint32_t>(ks.size()) - first;
  ASSERT_EQ(srtp_cipher_encrypt(c.get(), ks.data(), &first), srtp_err_status_ok);
  ASSERT_EQ(srtp_cipher_encrypt(c.get(), ks.data() + 5, &rest), srtp_err_status_ok);
  EXPECT_EQ(Bytes(ks.begin(), ks.begin() + 48),
            hex("e03ead0935c95e80e166b16dd92b4eb4 d23513162b02d0f72a43a2fe4a5f97ab "
                "41e95b3bb0a2e8dd477901e4fca894c0"));
  EXPECT_EQ(Bytes(ks.end() - 48, ks.end()),
            hex("ec8cdf7398607cb0f2d21675ea9ea1e4 362b7c3c6773516318a077d7fc5073ae "
                "6a2cc3787889374fbeb4c81b17ba6c44"));
  // A new IV restarts the keystream (a packet's set_iv in libsrtp).
  Bytes again(16, 0);
  std::uint32_t n = 16;
  ASSERT_EQ(srtp_cipher_set_iv(c.get(), iv, srtp_direction_encrypt), srtp_err_status_ok);
  ASSERT_EQ(srtp_cipher_encrypt(c.get(), again.data(), &n), srtp_err_status_ok);
  EXPECT_EQ(again, hex("e03ead0935c95e80e166b16dd92b4eb4"));
}

// RFC 6188 section 7.1: the AES-256 counterpart.
TEST(SrtpCipher, AesIcm256KeystreamMatchesRfc6188) {
  init_srtp();
  Cipher c(fast_aes_icm_256(),
           hex("57f82fe3613fd170a85ec93c40b1f0922ec4cb0dc025b58272147cc438944a98 "
               "f0f1f2f3f4f5f6f7f8f9fafbfcfd"),
           0);
  std::uint8_t iv[16] = {};
  ASSERT_EQ(srtp_cipher_set_iv(c.get(), iv, srtp_direction_encrypt), srtp_err_status_ok);
  Bytes ks(48, 0);
  std::uint32_t n = 48;
  ASSERT_EQ(srtp_cipher_encrypt(c.get(), ks.data(), &n), srtp_err_status_ok);
  EXPECT_EQ(ks, hex("92bdd28a93c3f52511c677d08b5515a4 9da71b2378a854f67050756ded165bac "
                    "63c4868b7096d88421b563b8c94c9a31"));
}

struct GcmVector {
  const srtp_cipher_type_t& (*type)();
  const char* key;
  const char* sealed;  // ciphertext || 16-octet tag
};

// RFC 7714 sections 16.1.1 (AES-128) and 16.2.1 (AES-256): header 8040f17b 8041f8d3 5501a0b2
// as AAD, IV 51753c65 80c2726f 20718414, payload "Gallia est omnis divisa in partes tres".
TEST(SrtpCipher, AesGcmSealsAndOpensRfc7714Section16Packets) {
  init_srtp();
  const Bytes aad = hex("8040f17b8041f8d35501a0b2");
  const std::string text = "Gallia est omnis divisa in partes tres";
  const Bytes plain(text.begin(), text.end());
  const GcmVector vectors[] = {
      {fast_aes_gcm_128, "000102030405060708090a0b0c0d0e0f",
       "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833"
       "899d7f27beb16a9152cf765ee4390cce"},
      {fast_aes_gcm_256, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
       "32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b"
       "7aa3db36dfffd6b0f9bb7878d7a76c13"},
  };
  for (const GcmVector& v : vectors) {
    Bytes key = hex(v.key);
    const Bytes salt = hex("517569642070726f2071756f");  // libsrtp keys with key || salt
    key.insert(key.end(), salt.begin(), salt.end());
    const Bytes sealed = hex(v.sealed);
    Cipher c(v.type(), key, 16);
    Bytes iv = hex("51753c6580c2726f20718414");
    // Seal twice: the second packet on the same context must not depend on the first.
    for (int round = 0; round < 2; ++round) {
      Bytes buf = plain;
      buf.resize(plain.size() + 16);
      std::uint32_t n = static_cast<std::uint32_t>(plain.size());
      std::uint32_t tag_len = 0;
      ASSERT_EQ(srtp_cipher_set_iv(c.get(), iv.data(), srtp_direction_encrypt), srtp_err_status_ok);
      ASSERT_EQ(srtp_cipher_set_aad(c.get(), aad.data(), 12), srtp_err_status_ok);
      ASSERT_EQ(srtp_cipher_encrypt(c.get(), buf.data(), &n), srtp_err_status_ok);
      ASSERT_EQ(srtp_cipher_get_tag(c.get(), buf.data() + n, &tag_len), srtp_err_status_ok);
      EXPECT_EQ(tag_len, 16u);
      EXPECT_EQ(buf, sealed) << v.type().description;
    }
    // Open it, then the same with one tag octet changed: refused as an authentication failure.
    for (bool tamper : {false, true, false}) {
      Bytes buf = sealed;
      if (tamper) {
        buf.back() ^= 0x01;
      }
      std::uint32_t n = static_cast<std::uint32_t>(buf.size());
      ASSERT_EQ(srtp_cipher_set_iv(c.get(), iv.data(), srtp_direction_decrypt), srtp_err_status_ok);
      ASSERT_EQ(srtp_cipher_set_aad(c.get(), aad.data(), 12), srtp_err_status_ok);
      const srtp_err_status_t st = srtp_cipher_decrypt(c.get(), buf.data(), &n);
      if (tamper) {
        EXPECT_EQ(st, srtp_err_status_auth_fail);
      } else {
        ASSERT_EQ(st, srtp_err_status_ok);
        EXPECT_EQ(Bytes(buf.begin(), buf.begin() + n), plain);
      }
    }
    // A truncated 8-octet tag (RFC 7714 7.2) is the 16-octet one's prefix.
    Cipher short_tag(v.type(), key, 8);
    Bytes buf = plain;
    buf.resize(plain.size() + 8);
    std::uint32_t n = static_cast<std::uint32_t>(plain.size());
    std::uint32_t tag_len = 0;
    ASSERT_EQ(srtp_cipher_set_iv(short_tag.get(), iv.data(), srtp_direction_encrypt),
              srtp_err_status_ok);
    ASSERT_EQ(srtp_cipher_set_aad(short_tag.get(), aad.data(), 12), srtp_err_status_ok);
    ASSERT_EQ(srtp_cipher_encrypt(short_tag.get(), buf.data(), &n), srtp_err_status_ok);
    ASSERT_EQ(srtp_cipher_get_tag(short_tag.get(), buf.data() + n, &tag_len), srtp_err_status_ok);
    EXPECT_EQ(tag_len, 8u);
    EXPECT_EQ(buf, Bytes(sealed.begin(), sealed.begin() + 46));
  }
}

TEST(SrtpCipher, WrongKeyOrTagLengthIsRefused) {
  init_srtp();
  srtp_cipher_t* c = nullptr;
  EXPECT_EQ(srtp_cipher_type_alloc(&fast_aes_icm_128(), &c, 16, 0), srtp_err_status_bad_param);
  EXPECT_EQ(srtp_cipher_type_alloc(&fast_aes_gcm_128(), &c, 28, 12), srtp_err_status_bad_param);
  EXPECT_EQ(srtp_cipher_type_alloc(&fast_aes_gcm_256(), &c, 30, 16), srtp_err_status_bad_param);
  EXPECT_EQ(c, nullptr);
}

}  // namespace
}  // namespace portico::media
