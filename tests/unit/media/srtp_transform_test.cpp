// The SRTP transform against independent libsrtp contexts (the peers): every suite round-trips
// RTP and RTCP both ways, SRTP<->SRTP re-encrypts with each leg's own key, a wrong key and a
// replay are dropped with their reason, a replacement keeps unchanged contexts (ROC, replay
// window) and renews changed ones, and the relay path allocates nothing per packet (malloc
// counted, since libsrtp and OpenSSL allocate with malloc, not operator new).

#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "../../../src/media/srtp_hmac.hpp"
#include "media_test_util.hpp"
#include "portico/media/srtp_transform.hpp"

// Not under a sanitizer, which owns malloc (gcc says so with __SANITIZE_*__, clang with
// __has_feature): memory from __libc_malloc freed by its free crashes the test.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PORTICO_UNDER_SANITIZER 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !defined(PORTICO_UNDER_SANITIZER)
#define PORTICO_COUNT_MALLOC 1
namespace {
std::atomic<bool> g_count_malloc{false};
std::atomic<std::size_t> g_mallocs{0};
}  // namespace
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t n) {
  if (g_count_malloc.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
  }
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t m) {
  if (g_count_malloc.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
  }
  return __libc_calloc(n, m);
}
void* realloc(void* p, std::size_t n) {
  if (g_count_malloc.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
  }
  return __libc_realloc(p, n);
}
}
#endif

namespace portico::media {
namespace {

using test::Bytes;
using test::make_rtcp_rr;
using test::make_rtp;

constexpr std::size_t kCapacity = 2048 + 64;  // the relay's slot: packet + tailroom

SrtpKey key_of(SrtpSuite suite, std::uint8_t seed) {
  SrtpKey k;
  k.suite = suite;
  k.key_salt.resize(srtp_key_length(suite) + srtp_salt_length(suite));
  for (std::size_t i = 0; i < k.key_salt.size(); ++i) {
    k.key_salt[i] = static_cast<std::uint8_t>(seed * 31 + i);
  }
  return k;
}

/// A peer's own libsrtp session, set up independently of Portico's code.
class Peer {
 public:
  Peer(const SrtpKey& key, bool sender) {
    init_srtp();
    srtp_policy_t p{};
    switch (key.suite) {
      case SrtpSuite::AesCm128HmacSha1_80:
        srtp_crypto_policy_set_rtp_default(&p.rtp);
        srtp_crypto_policy_set_rtcp_default(&p.rtcp);
        break;
      case SrtpSuite::AesCm128HmacSha1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
        srtp_crypto_policy_set_rtcp_default(&p.rtcp);
        break;
      case SrtpSuite::Aes256CmHmacSha1_80:
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p.rtcp);
        break;
      case SrtpSuite::AeadAes128Gcm:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
        break;
      case SrtpSuite::AeadAes256Gcm:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
        break;
    }
    key_ = key.key_salt;
    p.key = key_.data();
    p.ssrc.type = sender ? ssrc_any_outbound : ssrc_any_inbound;
    p.window_size = 128;
    EXPECT_EQ(srtp_create(&s_, &p), srtp_err_status_ok);
  }
  ~Peer() { srtp_dealloc(s_); }
  Bytes protect(Bytes b, bool rtcp = false) {
    b.resize(b.size() + SRTP_MAX_TRAILER_LEN + 4);
    int len = static_cast<int>(b.size() - SRTP_MAX_TRAILER_LEN - 4);
    EXPECT_EQ(rtcp ? srtp_protect_rtcp(s_, b.data(), &len) : srtp_protect(s_, b.data(), &len),
              srtp_err_status_ok);
    b.resize(static_cast<std::size_t>(len));
    return b;
  }
  std::optional<Bytes> unprotect(Bytes b, bool rtcp = false) {
    int len = static_cast<int>(b.size());
    const auto st = rtcp ? srtp_unprotect_rtcp(s_, b.data(), &len)
                         : srtp_unprotect(s_, b.data(), &len);
    if (st != srtp_err_status_ok) {
      return std::nullopt;
    }
    b.resize(static_cast<std::size_t>(len));
    return b;
  }

 private:
  std::vector<std::uint8_t> key_;
  srtp_t s_ = nullptr;
};

/// Runs `t` over `in` in a relay-sized slot; nullopt when it drops the packet.
std::optional<Bytes> run(PacketTransform& t, Direction d, Channel c, const Bytes& in) {
  std::vector<std::uint8_t> slot(kCapacity);
  std::copy(in.begin(), in.end(), slot.begin());
  std::span<std::uint8_t> p(slot.data(), in.size());
  if (!t.apply(d, c, p, kCapacity)) {
    return std::nullopt;
  }
  return Bytes(p.begin(), p.end());
}

PacketTransformPtr make(const SrtpLeg& a, const SrtpLeg& b) {
  init_srtp();
  auto t = make_srtp_transform(a, b);
  EXPECT_TRUE(t) << t.error().detail;
  return std::move(t).value();
}

TEST(SrtpTransform, EverySuiteInterworksWithPlainRtpBothWaysRtpAndRtcp) {
  for (SrtpSuite suite : kAllSrtpSuites) {
    SCOPED_TRACE(std::string(to_string(suite)));
    const SrtpKey peer_key = key_of(suite, 1);     // the SRTP peer's, from its a=crypto
    const SrtpKey portico_key = key_of(suite, 2);  // Portico's own toward that peer
    auto t = make(SrtpLeg{peer_key, portico_key}, SrtpLeg{});
    Peer a_sender(peer_key, true);
    Peer a_receiver(portico_key, false);
    for (std::uint16_t seq = 1; seq <= 5; ++seq) {
      const Bytes plain = make_rtp(0xA1, seq);
      const Bytes wire = a_sender.protect(plain);
      ASSERT_NE(wire, plain);
      auto out = run(*t, Direction::AtoB, Channel::Rtp, wire);  // SRTP in, plain out
      ASSERT_TRUE(out);
      EXPECT_EQ(*out, plain);
      const Bytes back = make_rtp(0xB2, seq);
      auto enc = run(*t, Direction::BtoA, Channel::Rtp, back);  // plain in, SRTP out
      ASSERT_TRUE(enc);
      EXPECT_NE(*enc, back);
      EXPECT_EQ(a_receiver.unprotect(*enc), back);
    }
    const Bytes rr = make_rtcp_rr(0xA1);
    auto rtcp = run(*t, Direction::AtoB, Channel::Rtcp, a_sender.protect(rr, true));
    ASSERT_TRUE(rtcp);
    EXPECT_EQ(*rtcp, rr);
    auto rtcp_out = run(*t, Direction::BtoA, Channel::Rtcp, make_rtcp_rr(0xB2));
    ASSERT_TRUE(rtcp_out);
    EXPECT_EQ(a_receiver.unprotect(*rtcp_out, true), make_rtcp_rr(0xB2));
  }
}

TEST(SrtpTransform, SrtpToSrtpUsesEachLegsOwnKeys) {
  const SrtpKey a_peer = key_of(SrtpSuite::AesCm128HmacSha1_80, 3);
  const SrtpKey b_portico = key_of(SrtpSuite::AeadAes128Gcm, 4);  // another suite, another key
  auto t = make(SrtpLeg{a_peer, key_of(SrtpSuite::AesCm128HmacSha1_80, 5)},
                SrtpLeg{key_of(SrtpSuite::AeadAes128Gcm, 6), b_portico});
  Peer a(a_peer, true);
  Peer b(b_portico, false);
  Peer b_with_a_key(a_peer, false);
  const Bytes plain = make_rtp(0x77, 10);
  const Bytes on_a = a.protect(plain);
  auto on_b = run(*t, Direction::AtoB, Channel::Rtp, on_a);
  ASSERT_TRUE(on_b);
  EXPECT_NE(*on_b, on_a);  // re-encrypted: A's key does not reach B
  EXPECT_EQ(b.unprotect(*on_b), plain);
  EXPECT_FALSE(b_with_a_key.unprotect(*on_b));
}

TEST(SrtpTransform, SaysWhichDirectionArrivesEncrypted) {
  // The relay reads RTCP report blocks only where they arrive in clear.
  auto t = make(SrtpLeg{key_of(SrtpSuite::AesCm128HmacSha1_80, 20), std::nullopt}, SrtpLeg{});
  EXPECT_TRUE(t->inbound_encrypted(Direction::AtoB));
  EXPECT_FALSE(t->inbound_encrypted(Direction::BtoA));
}

TEST(SrtpTransform, WrongKeyIsDroppedAsAuthFailure) {
  auto t = make(SrtpLeg{key_of(SrtpSuite::AesCm128HmacSha1_80, 7), std::nullopt}, SrtpLeg{});
  Peer wrong(key_of(SrtpSuite::AesCm128HmacSha1_80, 8), true);
  for (std::uint16_t seq = 1; seq <= 3; ++seq) {
    EXPECT_FALSE(run(*t, Direction::AtoB, Channel::Rtp, wrong.protect(make_rtp(1, seq))));
    EXPECT_EQ(t->last_drop(), TransformDrop::AuthFail);
  }
  // Plain RTP sent to an SRTP leg fails authentication too.
  EXPECT_FALSE(run(*t, Direction::AtoB, Channel::Rtp, make_rtp(1, 9)));
  EXPECT_EQ(t->last_drop(), TransformDrop::AuthFail);
}

TEST(SrtpTransform, ReplayIsDropped) {
  const SrtpKey k = key_of(SrtpSuite::AeadAes128Gcm, 9);
  auto t = make(SrtpLeg{k, std::nullopt}, SrtpLeg{});
  Peer peer(k, true);
  const Bytes wire = peer.protect(make_rtp(5, 100));
  EXPECT_TRUE(run(*t, Direction::AtoB, Channel::Rtp, wire));
  EXPECT_FALSE(run(*t, Direction::AtoB, Channel::Rtp, wire));
  EXPECT_EQ(t->last_drop(), TransformDrop::Replay);
}

TEST(SrtpTransform, ReplacementKeepsUnchangedContextsAndRenewsChangedOnes) {
  const SrtpKey k1 = key_of(SrtpSuite::AesCm128HmacSha1_80, 10);
  const SrtpKey mine = key_of(SrtpSuite::AesCm128HmacSha1_80, 11);
  auto t1 = make(SrtpLeg{k1, mine}, SrtpLeg{});
  Peer peer(k1, true);
  const Bytes early = peer.protect(make_rtp(6, 1));
  ASSERT_TRUE(run(*t1, Direction::AtoB, Channel::Rtp, early));
  // Same keys (a re-INVITE that keeps them): the replay window, hence the state, carries over.
  auto t2 = make(SrtpLeg{k1, mine}, SrtpLeg{});
  t2->take_over(*t1);
  EXPECT_FALSE(run(*t2, Direction::AtoB, Channel::Rtp, early));
  EXPECT_EQ(t2->last_drop(), TransformDrop::Replay);
  EXPECT_TRUE(run(*t2, Direction::AtoB, Channel::Rtp, peer.protect(make_rtp(6, 2))));
  // The peer's key changed: a new inbound context; Portico's own (unchanged) is kept.
  const SrtpKey k2 = key_of(SrtpSuite::AesCm128HmacSha1_80, 12);
  auto t3 = make(SrtpLeg{k2, mine}, SrtpLeg{});
  t3->take_over(*t2);
  Peer renewed(k2, true);
  EXPECT_TRUE(run(*t3, Direction::AtoB, Channel::Rtp, renewed.protect(make_rtp(6, 3))));
  EXPECT_FALSE(run(*t3, Direction::AtoB, Channel::Rtp, peer.protect(make_rtp(6, 4))));
  EXPECT_EQ(t3->last_drop(), TransformDrop::AuthFail);
}

TEST(SrtpTransform, RollOverCounterCarriesAcrossAReplacement) {
  // Portico's outbound context crosses the 16-bit sequence wrap, then the transform is replaced
  // with the same keys: the receiver, tracking ROC 1, still authenticates what follows.
  const SrtpKey mine = key_of(SrtpSuite::AesCm128HmacSha1_80, 13);
  auto t1 = make(SrtpLeg{std::nullopt, mine}, SrtpLeg{});
  Peer receiver(mine, false);
  for (std::uint32_t seq = 65530; seq <= 65536 + 3; ++seq) {
    auto out =
        run(*t1, Direction::BtoA, Channel::Rtp, make_rtp(8, static_cast<std::uint16_t>(seq)));
    ASSERT_TRUE(out);
    ASSERT_TRUE(receiver.unprotect(*out)) << seq;
  }
  auto t2 = make(SrtpLeg{std::nullopt, mine}, SrtpLeg{});
  t2->take_over(*t1);
  auto out = run(*t2, Direction::BtoA, Channel::Rtp, make_rtp(8, 4));
  ASSERT_TRUE(out);
  EXPECT_TRUE(receiver.unprotect(*out));
}

TEST(SrtpTransform, ManySsrcsStayBounded) {
  // A plain-side sender cycling SSRCs: every packet still goes out, and the outbound session
  // keeps at most kMaxSrtpSsrcs streams (older ones are removed, nothing fails).
  const SrtpKey mine = key_of(SrtpSuite::AesCm128HmacSha1_80, 14);
  auto t = make(SrtpLeg{std::nullopt, mine}, SrtpLeg{});
  for (std::uint32_t ssrc = 1; ssrc <= 200; ++ssrc) {
    ASSERT_TRUE(run(*t, Direction::BtoA, Channel::Rtp, make_rtp(ssrc, 1)));
  }
}

TEST(SrtpTransform, PorticosHmacSha1PassesLibsrtpsSelfTest) {
  // libsrtp runs the RFC 2202 vectors on a replacement auth type before it takes it; the
  // transform's peers in the tests above use it too, so baresip (tests/e2e/test_srtp.py, its
  // own libsrtp in another process) is the independent check of the tags on the wire.
  init_srtp();
  EXPECT_TRUE(install_fast_hmac_sha1());
}

TEST(SrtpTransform, KeyOfTheWrongLengthIsRefused) {
  init_srtp();
  SrtpKey bad = key_of(SrtpSuite::AesCm128HmacSha1_80, 1);
  bad.key_salt.pop_back();
  auto t = make_srtp_transform(SrtpLeg{bad, std::nullopt}, SrtpLeg{});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().reason, "srtp_setup");
}

TEST(SrtpTransform, TenThousandPacketsAcrossEverySuiteAllocateNothing) {
  // The relay path allocates nothing per packet: for each suite, SRTP in from a peer and SRTP
  // out with Portico's own key (unprotect, then protect: both halves of every cipher and the
  // HMAC), RTP and RTCP, 2,000 packets per suite after the first (libsrtp makes its per-SSRC
  // streams on an SSRC's first packet). With libsrtp 2.5's own ciphers (NSS) this counted 18
  // mallocs per AES-CM unprotect+protect pair and 10 per AES-GCM one; Portico's replacements
  // (srtp_hmac.cpp, srtp_cipher.cpp) allocate none.
  constexpr std::uint16_t kCount = 2000;
  std::size_t total_ok = 0;
  for (SrtpSuite suite : kAllSrtpSuites) {
    SCOPED_TRACE(std::string(to_string(suite)));
    const SrtpKey peer_key = key_of(suite, 15);
    const SrtpKey mine = key_of(suite, 16);
    auto t = make(SrtpLeg{peer_key, std::nullopt}, SrtpLeg{std::nullopt, mine});
    Peer peer(peer_key, true);
    std::vector<Bytes> wire;
    wire.reserve(kCount + 2);
    for (std::uint16_t seq = 0; seq <= kCount; ++seq) {
      wire.push_back(peer.protect(make_rtp(9, seq)));
    }
    const Bytes rtcp_wire = peer.protect(make_rtcp_rr(9), true);
    const Bytes rtcp_wire2 = peer.protect(make_rtcp_rr(9), true);
    std::vector<std::uint8_t> slot(kCapacity);
    auto pass = [&](const Bytes& in, Channel c) {
      std::copy(in.begin(), in.end(), slot.begin());
      std::span<std::uint8_t> p(slot.data(), in.size());
      return t->apply(Direction::AtoB, c, p, kCapacity);
    };
    ASSERT_TRUE(pass(wire[0], Channel::Rtp));  // first packet of the SSRC: streams made
    ASSERT_TRUE(pass(rtcp_wire, Channel::Rtcp));
    std::size_t ok = 0;
#ifdef PORTICO_COUNT_MALLOC
    g_mallocs = 0;
    g_count_malloc = true;
#endif
    for (std::size_t i = 1; i <= kCount; ++i) {
      ok += pass(wire[i], Channel::Rtp) ? 1 : 0;
    }
    ok += pass(rtcp_wire2, Channel::Rtcp) ? 1 : 0;
#ifdef PORTICO_COUNT_MALLOC
    g_count_malloc = false;
    const std::size_t mallocs = g_mallocs.load();
    std::printf("SRTP %s, %u RTP + 1 RTCP packets relayed SRTP to SRTP: %zu mallocs\n",
                std::string(to_string(suite)).c_str(), kCount, mallocs);
    EXPECT_EQ(mallocs, 0u);
#endif
    EXPECT_EQ(ok, kCount + 1u);
    total_ok += ok;
  }
  EXPECT_EQ(total_ok, 5u * (kCount + 1u));
}

}  // namespace
}  // namespace portico::media
