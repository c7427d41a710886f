#pragma once
// AES-ICM and AES-GCM for libsrtp without per-packet re-initialisation (see srtp_cipher.cpp).

struct srtp_cipher_type_t;

namespace portico::media {

/// Replaces libsrtp's AES-ICM 128/256 and AES-GCM 128/256 cipher types (process-wide, after
/// srtp_init) with ones that key an OpenSSL context once per stream and change only the IV per
/// packet: no allocation and no key schedule per packet. libsrtp runs each type's known-answer
/// tests (RFC 3711 B.2, RFC 6188 7.1, RFC 7714 16) before it takes it. True if all four were
/// taken; a refused one leaves libsrtp's own in place (correct, slower).
bool install_fast_aes_ciphers();

/// The replacement types, for tests that drive them directly.
const srtp_cipher_type_t& fast_aes_icm_128();
const srtp_cipher_type_t& fast_aes_icm_256();
const srtp_cipher_type_t& fast_aes_gcm_128();
const srtp_cipher_type_t& fast_aes_gcm_256();

}  // namespace portico::media
