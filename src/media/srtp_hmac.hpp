#pragma once
// HMAC-SHA1 for libsrtp without its per-packet cost (see srtp_hmac.cpp).

namespace portico::media {

/// Replaces libsrtp's HMAC-SHA1 auth type (process-wide, after srtp_init) with one that keeps
/// the keyed inner and outer SHA-1 states and copies them per packet: no allocation and no
/// re-keying per packet. libsrtp checks it against RFC 2202 before taking it. False (libsrtp's
/// own stays) if it refuses.
bool install_fast_hmac_sha1();

}  // namespace portico::media
