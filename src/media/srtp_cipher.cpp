// AES-ICM (RFC 3711 4.1.1, RFC 6188) and AES-GCM (RFC 7714) as libsrtp cipher types. libsrtp
// 2.5 as Debian builds it runs its ciphers on NSS and sets each packet's IV by re-creating a
// PK11 context: mallocs and a mutex per packet (measured in docs/performance.md). Here each
// cipher holds one OpenSSL EVP context, keyed once when libsrtp keys the stream; a packet changes
// only its IV (EVP_CipherInit_ex with no cipher and no key: the provider keeps the key schedule,
// and for GCM the hash subkey, and allocates nothing), then runs OpenSSL's AES-CTR / AES-GCM
// (AES-NI and CLMUL where the CPU has them). libsrtp's KDF allocates an AES-ICM cipher too, so
// stream set-up uses these as well.

#include "srtp_cipher.hpp"

#include <openssl/evp.h>
#include <srtp2/cipher.h>
#include <srtp2/crypto_types.h>
#include <srtp2/srtp.h>
#include <string.h>  // explicit_bzero

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>

namespace portico::media {
namespace {

constexpr int kBlock = 16;
constexpr int kIcmSalt = SRTP_SALT_LEN;     // 14: the last 2 counter octets are the block index
constexpr int kGcmIv = SRTP_AEAD_SALT_LEN;  // 12: libsrtp passes the full IV (salt applied)
constexpr int kGcmTag = 16;
constexpr int kGcmTagShort = 8;

struct CipherState {
  EVP_CIPHER_CTX* ctx = nullptr;
  int key_size = 0;                // AES key octets (16 or 32)
  int tag_len = 0;                 // GCM only
  bool encrypting = true;          // GCM: the direction of the last set_iv
  std::uint8_t salt[kBlock] = {};  // ICM: salt || 0x0000
};

// Fetched once (at the first stream's set-up) rather than implicitly by each context's first
// EVP_CipherInit_ex from EVP_aes_*(): one lookup in OpenSSL 3's provider store per process.
const EVP_CIPHER* evp_cipher(bool gcm, int key_size) {
  static EVP_CIPHER* const kCtr128 = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  static EVP_CIPHER* const kCtr256 = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  static EVP_CIPHER* const kGcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const kGcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (gcm) {
    return key_size == 16 ? kGcm128 : kGcm256;
  }
  return key_size == 16 ? kCtr128 : kCtr256;
}

CipherState* state_of(void* s) { return static_cast<CipherState*>(s); }

// One block: the cipher object, then its state (the layout libsrtp's own ciphers use).
srtp_err_status_t make(srtp_cipher_t** c, const srtp_cipher_type_t* type, int key_len,
                       int algorithm, int key_size, int tag_len) {
  auto* mem =
      static_cast<std::uint8_t*>(std::calloc(1, sizeof(srtp_cipher_t) + sizeof(CipherState)));
  if (mem == nullptr) {
    return srtp_err_status_alloc_fail;
  }
  auto* s = new (mem + sizeof(srtp_cipher_t)) CipherState{};
  s->ctx = EVP_CIPHER_CTX_new();
  if (s->ctx == nullptr) {
    std::free(mem);
    return srtp_err_status_alloc_fail;
  }
  s->key_size = key_size;
  s->tag_len = tag_len;
  *c = reinterpret_cast<srtp_cipher_t*>(mem);
  (*c)->type = type;
  (*c)->state = s;
  (*c)->key_len = key_len;
  (*c)->algorithm = algorithm;
  return srtp_err_status_ok;
}

srtp_err_status_t destroy(srtp_cipher_t* c) {
  EVP_CIPHER_CTX_free(state_of(c->state)->ctx);  // clears its key schedule
  explicit_bzero(c, sizeof(srtp_cipher_t) + sizeof(CipherState));
  std::free(c);
  return srtp_err_status_ok;
}

// --- AES-ICM ---------------------------------------------------------------------------------

extern const srtp_cipher_type_t kIcm128;
extern const srtp_cipher_type_t kIcm256;

srtp_err_status_t icm_alloc(srtp_cipher_t** c, int key_len, int /*tag_len*/) {
  switch (key_len) {
    case SRTP_AES_ICM_128_KEY_LEN_WSALT:
      return make(c, &kIcm128, key_len, SRTP_AES_ICM_128, 16, 0);
    case SRTP_AES_ICM_256_KEY_LEN_WSALT:
      return make(c, &kIcm256, key_len, SRTP_AES_ICM_256, 32, 0);
    default:
      return srtp_err_status_bad_param;
  }
}

srtp_err_status_t icm_init(void* state, const std::uint8_t* key) {
  auto* s = state_of(state);
  std::memset(s->salt, 0, sizeof s->salt);
  std::memcpy(s->salt, key + s->key_size, kIcmSalt);
  const EVP_CIPHER* cipher = evp_cipher(false, s->key_size);
  if (cipher == nullptr || EVP_EncryptInit_ex(s->ctx, cipher, nullptr, key, nullptr) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t icm_set_iv(void* state, std::uint8_t* iv, srtp_cipher_direction_t /*dir*/) {
  auto* s = state_of(state);
  std::uint8_t counter[kBlock];
  for (int i = 0; i < kBlock; ++i) {
    counter[i] = s->salt[i] ^ iv[i];
  }
  // The IV alone: resets the counter and the keystream position, keeps the key schedule.
  if (EVP_EncryptInit_ex(s->ctx, nullptr, nullptr, nullptr, counter) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t icm_crypt(void* state, std::uint8_t* buf, unsigned int* len) {
  int out = 0;
  if (EVP_EncryptUpdate(state_of(state)->ctx, buf, &out, buf, static_cast<int>(*len)) != 1) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// --- AES-GCM ---------------------------------------------------------------------------------

extern const srtp_cipher_type_t kGcm128;
extern const srtp_cipher_type_t kGcm256;

srtp_err_status_t gcm_alloc(srtp_cipher_t** c, int key_len, int tag_len) {
  if (tag_len != kGcmTag && tag_len != kGcmTagShort) {
    return srtp_err_status_bad_param;
  }
  switch (key_len) {
    case SRTP_AES_GCM_128_KEY_LEN_WSALT:
      return make(c, &kGcm128, key_len, SRTP_AES_GCM_128, 16, tag_len);
    case SRTP_AES_GCM_256_KEY_LEN_WSALT:
      return make(c, &kGcm256, key_len, SRTP_AES_GCM_256, 32, tag_len);
    default:
      return srtp_err_status_bad_param;
  }
}

srtp_err_status_t gcm_init(void* state, const std::uint8_t* key) {
  auto* s = state_of(state);
  const EVP_CIPHER* cipher = evp_cipher(true, s->key_size);
  if (cipher == nullptr || EVP_CipherInit_ex(s->ctx, cipher, nullptr, key, nullptr, 1) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_set_iv(void* state, std::uint8_t* iv, srtp_cipher_direction_t dir) {
  if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt) {
    return srtp_err_status_bad_param;
  }
  auto* s = state_of(state);
  s->encrypting = dir == srtp_direction_encrypt;
  // 12 octets is GCM's default IV length, so the IV can go straight in.
  static_assert(kGcmIv == 12);
  if (EVP_CipherInit_ex(s->ctx, nullptr, nullptr, nullptr, iv, s->encrypting ? 1 : 0) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_set_aad(void* state, const std::uint8_t* aad, std::uint32_t aad_len) {
  int out = 0;
  if (EVP_CipherUpdate(state_of(state)->ctx, nullptr, &out, aad, static_cast<int>(aad_len)) != 1) {
    return srtp_err_status_algo_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_encrypt(void* state, std::uint8_t* buf, unsigned int* len) {
  auto* s = state_of(state);
  if (!s->encrypting) {
    return srtp_err_status_bad_param;
  }
  int out = 0;
  if (EVP_CipherUpdate(s->ctx, buf, &out, buf, static_cast<int>(*len)) != 1) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_get_tag(void* state, std::uint8_t* tag, std::uint32_t* len) {
  auto* s = state_of(state);
  int out = 0;
  std::uint8_t none[kBlock];  // GCM's final writes no octets
  if (EVP_CipherFinal_ex(s->ctx, none, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, s->tag_len, tag) != 1) {
    return srtp_err_status_algo_fail;
  }
  *len = static_cast<std::uint32_t>(s->tag_len);
  return srtp_err_status_ok;
}

// The buffer ends with the tag: decrypt what precedes it, then check the tag.
srtp_err_status_t gcm_decrypt(void* state, std::uint8_t* buf, unsigned int* len) {
  auto* s = state_of(state);
  if (s->encrypting || *len < static_cast<unsigned int>(s->tag_len)) {
    return srtp_err_status_bad_param;
  }
  const unsigned int body = *len - static_cast<unsigned int>(s->tag_len);
  int out = 0;
  std::uint8_t none[kBlock];
  if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, s->tag_len, buf + body) != 1 ||
      EVP_CipherUpdate(s->ctx, buf, &out, buf, static_cast<int>(body)) != 1) {
    return srtp_err_status_cipher_fail;
  }
  if (EVP_CipherFinal_ex(s->ctx, none, &out) != 1) {
    return srtp_err_status_auth_fail;
  }
  *len = body;
  return srtp_err_status_ok;
}

// --- Known answers: libsrtp runs them on each type before srtp_replace_cipher_type takes it ---

// RFC 3711 Appendix B.2: AES-128 session key and salt, IV 0, three keystream blocks.
const std::uint8_t kIcm128Key[30] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7,
                                     0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c, 0xf0, 0xf1, 0xf2, 0xf3,
                                     0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
const std::uint8_t kIcm128Keystream[48] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
    0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0};
// RFC 6188 section 7.1: the same for AES-256.
const std::uint8_t kIcm256Key[46] = {
    0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92,
    0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82, 0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
const std::uint8_t kIcm256Keystream[48] = {
    0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4,
    0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6, 0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac,
    0x63, 0xc4, 0x86, 0x8b, 0x70, 0x96, 0xd8, 0x84, 0x21, 0xb5, 0x63, 0xb8, 0xc9, 0x4c, 0x9a, 0x31};
std::uint8_t kIcmIv[16] = {};
const std::uint8_t kZeros[48] = {};

const srtp_cipher_test_case_t kIcm128Test = {
    30, kIcm128Key, kIcmIv, 48, kZeros, 48, kIcm128Keystream, 0, nullptr, 0, nullptr};
const srtp_cipher_test_case_t kIcm256Test = {
    46, kIcm256Key, kIcmIv, 48, kZeros, 48, kIcm256Keystream, 0, nullptr, 0, nullptr};

// RFC 7714 sections 16.1.1 and 16.2.1: the RTP packet's header is the AAD, its payload
// ("Gallia est omnis divisa in partes tres") the plaintext; the IV is 16.1's (SSRC 0x5501a0b2,
// sequence 0xf17b, salt "Quid pro quo").
const std::uint8_t kGcmKey128[28] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                     0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 'Q',  'u',  'i',  'd',
                                     ' ',  'p',  'r',  'o',  ' ',  'q',  'u',  'o'};
const std::uint8_t kGcmKey256[44] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
    0x1e, 0x1f, 'Q',  'u',  'i',  'd',  ' ',  'p',  'r',  'o',  ' ',  'q',  'u',  'o'};
std::uint8_t kGcmIvRfc[12] = {0x51, 0x75, 0x3c, 0x65, 0x80, 0xc2,
                              0x72, 0x6f, 0x20, 0x71, 0x84, 0x14};
const std::uint8_t kGcmAad[12] = {0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41,
                                  0xf8, 0xd3, 0x55, 0x01, 0xa0, 0xb2};
const char kGcmPlain[] = "Gallia est omnis divisa in partes tres";
const std::uint8_t kGcm128Sealed[54] = {
    0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c, 0xac, 0xba, 0x86, 0x1c, 0x9d, 0x7e, 0x4b, 0xca,
    0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f, 0x42, 0xa5, 0xf4, 0x7a, 0x51, 0xc7, 0xd1, 0x9b,
    0x36, 0xde, 0x3a, 0xdf, 0x88, 0x33,  // tag:
    0x89, 0x9d, 0x7f, 0x27, 0xbe, 0xb1, 0x6a, 0x91, 0x52, 0xcf, 0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce};
const std::uint8_t kGcm256Sealed[54] = {
    0x32, 0xb1, 0xde, 0x78, 0xa8, 0x22, 0xfe, 0x12, 0xef, 0x9f, 0x78, 0xfa, 0x33, 0x2e, 0x33, 0xaa,
    0xb1, 0x80, 0x12, 0x38, 0x9a, 0x58, 0xe2, 0xf3, 0xb5, 0x0b, 0x2a, 0x02, 0x76, 0xff, 0xae, 0x0f,
    0x1b, 0xa6, 0x37, 0x99, 0xb8, 0x7b,  // tag:
    0x7a, 0xa3, 0xdb, 0x36, 0xdf, 0xff, 0xd6, 0xb0, 0xf9, 0xbb, 0x78, 0x78, 0xd7, 0xa7, 0x6c, 0x13};
const auto* const kGcmPlainBytes = reinterpret_cast<const std::uint8_t*>(kGcmPlain);

// The 8-octet tag is the 16-octet one truncated (RFC 7714 section 7.2 allows both).
const srtp_cipher_test_case_t kGcm128Short = {
    28, kGcmKey128, kGcmIvRfc, 38, kGcmPlainBytes, 46, kGcm128Sealed, 12, kGcmAad, 8, nullptr};
const srtp_cipher_test_case_t kGcm128Test = {
    28, kGcmKey128, kGcmIvRfc, 38,           kGcmPlainBytes, 54, kGcm128Sealed,
    12, kGcmAad,    16,        &kGcm128Short};
const srtp_cipher_test_case_t kGcm256Short = {
    44, kGcmKey256, kGcmIvRfc, 38, kGcmPlainBytes, 46, kGcm256Sealed, 12, kGcmAad, 8, nullptr};
const srtp_cipher_test_case_t kGcm256Test = {
    44, kGcmKey256, kGcmIvRfc, 38,           kGcmPlainBytes, 54, kGcm256Sealed,
    12, kGcmAad,    16,        &kGcm256Short};

constexpr srtp_cipher_type_t icm_type(const char* name, const srtp_cipher_test_case_t* test,
                                      srtp_cipher_type_id_t id) {
  return {icm_alloc,  destroy, icm_init, nullptr, icm_crypt, icm_crypt,
          icm_set_iv, nullptr, name,     test,    id};
}
constexpr srtp_cipher_type_t gcm_type(const char* name, const srtp_cipher_test_case_t* test,
                                      srtp_cipher_type_id_t id) {
  return {gcm_alloc,  destroy,     gcm_init, gcm_set_aad, gcm_encrypt, gcm_decrypt,
          gcm_set_iv, gcm_get_tag, name,     test,        id};
}

const srtp_cipher_type_t kIcm128 =
    icm_type("AES-128 ICM (Portico: keyed context kept)", &kIcm128Test, SRTP_AES_ICM_128);
const srtp_cipher_type_t kIcm256 =
    icm_type("AES-256 ICM (Portico: keyed context kept)", &kIcm256Test, SRTP_AES_ICM_256);
const srtp_cipher_type_t kGcm128 =
    gcm_type("AES-128 GCM (Portico: keyed context kept)", &kGcm128Test, SRTP_AES_GCM_128);
const srtp_cipher_type_t kGcm256 =
    gcm_type("AES-256 GCM (Portico: keyed context kept)", &kGcm256Test, SRTP_AES_GCM_256);

}  // namespace

const srtp_cipher_type_t& fast_aes_icm_128() { return kIcm128; }
const srtp_cipher_type_t& fast_aes_icm_256() { return kIcm256; }
const srtp_cipher_type_t& fast_aes_gcm_128() { return kGcm128; }
const srtp_cipher_type_t& fast_aes_gcm_256() { return kGcm256; }

bool install_fast_aes_ciphers() {
  bool all = true;
  for (const srtp_cipher_type_t* t : {&kIcm128, &kIcm256, &kGcm128, &kGcm256}) {
    all = srtp_replace_cipher_type(t, t->id) == srtp_err_status_ok && all;
  }
  return all;
}

}  // namespace portico::media
