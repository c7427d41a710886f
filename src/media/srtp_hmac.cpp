// HMAC-SHA1 (RFC 2104) as a libsrtp auth type. libsrtp 2.5 as Debian builds it (on NSS)
// re-creates its HMAC context for every packet (heap allocations and most of the cost of an
// AES_CM_*_HMAC_SHA1 packet, measured in docs/performance.md). HMAC's keyed state is two SHA-1 states (after
// key^ipad and key^opad): computed once per context here and copied per packet, a plain struct
// copy. SHA-1 itself is OpenSSL's (SHA1_Update, the same assembly as its EVP path).

#include "srtp_hmac.hpp"

#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/crypto_types.h>
#include <string.h>  // explicit_bzero

#include <cstdint>
#include <cstdlib>
#include <cstring>

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP_Digest*, whose contexts
// are heap objects: the low-level calls are what keeps this allocation-free.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace portico::media {
namespace {

constexpr int kDigest = SHA_DIGEST_LENGTH;  // 20
constexpr int kBlock = 64;

struct HmacState {
  SHA_CTX inner_keyed;  // after key ^ ipad
  SHA_CTX outer_keyed;  // after key ^ opad
  SHA_CTX running;      // this packet's inner hash
};

extern const srtp_auth_type_t kFastHmac;

srtp_err_status_t hmac_alloc(srtp_auth_t** a, int key_len, int out_len) {
  if (key_len < 0 || key_len > kDigest || out_len < 0 || out_len > kDigest) {
    return srtp_err_status_bad_param;
  }
  // One block: the auth object, then its state (the layout libsrtp's own hmac uses).
  auto* mem = static_cast<std::uint8_t*>(std::calloc(1, sizeof(srtp_auth_t) + sizeof(HmacState)));
  if (mem == nullptr) {
    return srtp_err_status_alloc_fail;
  }
  *a = reinterpret_cast<srtp_auth_t*>(mem);
  (*a)->type = &kFastHmac;
  (*a)->state = mem + sizeof(srtp_auth_t);
  (*a)->out_len = out_len;
  (*a)->key_len = key_len;
  (*a)->prefix_len = 0;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_dealloc(srtp_auth_t* a) {
  explicit_bzero(a, sizeof(srtp_auth_t) + sizeof(HmacState));  // keyed states are key material
  std::free(a);
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_init(void* state, const std::uint8_t* key, int key_len) {
  if (key_len < 0 || key_len > kDigest) {
    return srtp_err_status_bad_param;
  }
  auto* s = static_cast<HmacState*>(state);
  std::uint8_t ipad[kBlock];
  std::uint8_t opad[kBlock];
  for (int i = 0; i < kBlock; ++i) {
    const std::uint8_t k = i < key_len ? key[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  SHA1_Init(&s->inner_keyed);
  SHA1_Update(&s->inner_keyed, ipad, kBlock);
  SHA1_Init(&s->outer_keyed);
  SHA1_Update(&s->outer_keyed, opad, kBlock);
  s->running = s->inner_keyed;
  explicit_bzero(ipad, sizeof ipad);
  explicit_bzero(opad, sizeof opad);
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_start(void* state) {
  auto* s = static_cast<HmacState*>(state);
  s->running = s->inner_keyed;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_update(void* state, const std::uint8_t* message, int len) {
  SHA1_Update(&static_cast<HmacState*>(state)->running, message, static_cast<std::size_t>(len));
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_compute(void* state, const std::uint8_t* message, int len, int tag_len,
                               std::uint8_t* result) {
  if (tag_len < 0 || tag_len > kDigest) {
    return srtp_err_status_bad_param;
  }
  auto* s = static_cast<HmacState*>(state);
  std::uint8_t inner[kDigest];
  std::uint8_t outer[kDigest];
  SHA1_Update(&s->running, message, static_cast<std::size_t>(len));
  SHA1_Final(inner, &s->running);
  SHA_CTX o = s->outer_keyed;
  SHA1_Update(&o, inner, kDigest);
  SHA1_Final(outer, &o);
  std::memcpy(result, outer, static_cast<std::size_t>(tag_len));
  return srtp_err_status_ok;
}

// RFC 2202 §3, test cases 1 and 2: libsrtp runs them before it accepts the replacement.
const std::uint8_t kKey1[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
const std::uint8_t kData1[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
const std::uint8_t kTag1[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
                                0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
const std::uint8_t kKey2[4] = {'J', 'e', 'f', 'e'};
const char kData2[] = "what do ya want for nothing?";
const std::uint8_t kTag2[20] = {0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
                                0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};
const srtp_auth_test_case_t kTest2 = {
    4, kKey2, 28, reinterpret_cast<const std::uint8_t*>(kData2), 20, kTag2, nullptr};
const srtp_auth_test_case_t kTest1 = {20, kKey1, 8, kData1, 20, kTag1, &kTest2};

const srtp_auth_type_t kFastHmac = {hmac_alloc,
                                    hmac_dealloc,
                                    hmac_init,
                                    hmac_compute,
                                    hmac_update,
                                    hmac_start,
                                    "HMAC-SHA1 (Portico: keyed states kept)",
                                    &kTest1,
                                    SRTP_HMAC_SHA1};

}  // namespace

bool install_fast_hmac_sha1() {
  return srtp_replace_auth_type(&kFastHmac, SRTP_HMAC_SHA1) == srtp_err_status_ok;
}

}  // namespace portico::media
