// The SRTP transform (see srtp_transform.hpp): libsrtp2 contexts per leg and direction.

#include "portico/media/srtp_transform.hpp"

#include "srtp_cipher.hpp"
#include "srtp_hmac.hpp"

#include <arpa/inet.h>
#include <srtp2/srtp.h>
#include <string.h>  // explicit_bzero

#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace portico::media {
namespace {

// Outbound contexts carry no MKI, so protect() writes at most the tag (16 bytes) on RTP, and
// the SRTCP index (4) plus the tag on RTCP.
constexpr std::size_t kProtectTrailer = 4 + SRTP_MAX_TAG_LEN;
constexpr std::size_t kMinRtp = 12;  // RFC 3550 §5.1 fixed header
constexpr std::size_t kMinRtcp = 8;  // RFC 3550 §6.4 header with sender SSRC

struct SrtpDeleter {
  void operator()(srtp_ctx_t* s) const { srtp_dealloc(s); }
};
using SrtpSession = std::unique_ptr<srtp_ctx_t, SrtpDeleter>;

void set_crypto_policy(SrtpSuite suite, srtp_policy_t& p) {
  switch (suite) {
    case SrtpSuite::AesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
      break;
    case SrtpSuite::AesCm128HmacSha1_32:
      // RFC 4568 §6.2.2: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits.
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
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
}

TransformDrop classify(srtp_err_status_t st) {
  if (st == srtp_err_status_auth_fail) {
    return TransformDrop::AuthFail;
  }
  if (st == srtp_err_status_replay_fail || st == srtp_err_status_replay_old) {
    return TransformDrop::Replay;
  }
  return TransformDrop::Other;
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// One libsrtp session (one key, one direction of one leg) and the SSRCs it holds streams for.
class Context {
 public:
  static Result<std::unique_ptr<Context>> make(const SrtpKey& key, bool inbound) {
    const std::size_t want = srtp_key_length(key.suite) + srtp_salt_length(key.suite);
    if (key.key_salt.size() != want) {
      return Error{"srtp_setup", std::string(to_string(key.suite)) + " needs a " +
                                     std::to_string(want) + "-byte key and salt"};
    }
    auto c = std::unique_ptr<Context>(new Context(key));
    srtp_policy_t p{};
    set_crypto_policy(key.suite, p);
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    p.window_size = 128;
    // Portico relays what the peer sent: a peer's own retransmission must not be refused.
    p.allow_repeat_tx = inbound ? 0 : 1;
    std::array<std::uint8_t, 4> mki{};
    srtp_master_key_t master{};
    srtp_master_key_t* masters[1] = {&master};
    if (key.mki_length > 0) {
      for (std::uint32_t i = 0; i < key.mki_length; ++i) {
        mki[i] = static_cast<std::uint8_t>(key.mki_value >> (8 * (key.mki_length - 1 - i)));
      }
      master.key = c->key_.key_salt.data();
      master.mki_id = mki.data();
      master.mki_size = key.mki_length;
      p.keys = masters;
      p.num_master_keys = 1;
    } else {
      p.key = c->key_.key_salt.data();
    }
    srtp_t session = nullptr;
    const srtp_err_status_t st = srtp_create(&session, &p);
    if (st != srtp_err_status_ok) {
      return Error{"srtp_setup", "libsrtp refused a " + std::string(to_string(key.suite)) +
                                     " context (status " + std::to_string(st) + ")"};
    }
    c->session_.reset(session);
    return c;
  }

  ~Context() { explicit_bzero(key_.key_salt.data(), key_.key_salt.size()); }

  const SrtpKey& key() const { return key_; }

  srtp_err_status_t unprotect(Channel ch, std::uint8_t* p, int& len) {
    const bool mki = key_.mki_length > 0;
    if (ch == Channel::Rtp) {
      return mki ? srtp_unprotect_mki(session_.get(), p, &len, 1)
                 : srtp_unprotect(session_.get(), p, &len);
    }
    return mki ? srtp_unprotect_rtcp_mki(session_.get(), p, &len, 1)
               : srtp_unprotect_rtcp(session_.get(), p, &len);
  }

  srtp_err_status_t protect(Channel ch, std::uint8_t* p, int& len) {
    return ch == Channel::Rtp ? srtp_protect(session_.get(), p, &len)
                              : srtp_protect_rtcp(session_.get(), p, &len);
  }

  /// Records that libsrtp holds a stream for `ssrc`; beyond kMaxSrtpSsrcs the least recently
  /// used one is removed, so a sender cycling SSRCs cannot grow the session without bound.
  void note_ssrc(std::uint32_t ssrc) {
    ++clock_;
    std::size_t oldest = 0;
    for (std::size_t i = 0; i < used_; ++i) {
      if (ssrcs_[i].ssrc == ssrc) {
        ssrcs_[i].last_use = clock_;
        return;
      }
      if (ssrcs_[i].last_use < ssrcs_[oldest].last_use) {
        oldest = i;
      }
    }
    if (used_ < ssrcs_.size()) {
      ssrcs_[used_++] = {ssrc, clock_};
      return;
    }
    srtp_remove_stream(session_.get(), htonl(ssrcs_[oldest].ssrc));  // network order
    ssrcs_[oldest] = {ssrc, clock_};
  }

 private:
  explicit Context(SrtpKey key) : key_(std::move(key)) {}

  struct Seen {
    std::uint32_t ssrc = 0;
    std::uint64_t last_use = 0;
  };
  SrtpKey key_;  // libsrtp keeps its own expanded copy; ours is for take_over's comparison
  SrtpSession session_;
  std::array<Seen, kMaxSrtpSsrcs> ssrcs_{};
  std::size_t used_ = 0;
  std::uint64_t clock_ = 0;
};
using ContextPtr = std::unique_ptr<Context>;

std::uint32_t ssrc_of(Channel ch, const std::uint8_t* p) {
  return read_be32(p + (ch == Channel::Rtp ? 8 : 4));
}

class SrtpTransform final : public PacketTransform {
 public:
  // index = Side: inbound_[s] unprotects what side s's peer sends, outbound_[s] protects what
  // Portico sends to it.
  std::array<ContextPtr, 2> inbound_;
  std::array<ContextPtr, 2> outbound_;

  bool apply(Direction dir, Channel ch, std::span<std::uint8_t>& packet,
             std::size_t capacity) override {
    const std::size_t in = dir == Direction::AtoB ? 0 : 1;
    const std::size_t out = 1 - in;
    const std::size_t min = ch == Channel::Rtp ? kMinRtp : kMinRtcp;
    if (packet.size() < min || packet.size() > capacity) {
      last_drop_ = TransformDrop::Other;
      return false;
    }
    int len = static_cast<int>(packet.size());
    std::uint8_t* p = packet.data();
    if (Context* c = inbound_[in].get()) {
      const srtp_err_status_t st = c->unprotect(ch, p, len);
      if (st != srtp_err_status_ok) {
        last_drop_ = classify(st);
        return false;
      }
      c->note_ssrc(ssrc_of(ch, p));
    }
    if (Context* c = outbound_[out].get()) {
      if (static_cast<std::size_t>(len) < min ||
          capacity - static_cast<std::size_t>(len) < kProtectTrailer) {
        last_drop_ = TransformDrop::Other;
        return false;
      }
      const srtp_err_status_t st = c->protect(ch, p, len);
      if (st != srtp_err_status_ok) {
        last_drop_ = classify(st);
        return false;
      }
      c->note_ssrc(ssrc_of(ch, p));
    }
    packet = std::span<std::uint8_t>(p, static_cast<std::size_t>(len));
    return true;
  }

  TransformDrop last_drop() const override { return last_drop_; }

  bool inbound_encrypted(Direction dir) const override {
    return inbound_[dir == Direction::AtoB ? 0 : 1] != nullptr;
  }

  void take_over(PacketTransform& previous) override {
    auto* prev = dynamic_cast<SrtpTransform*>(&previous);
    if (prev == nullptr) {
      return;
    }
    // A context whose key is unchanged keeps its state (ROC, replay window): swap it in; the
    // fresh one made for the same key is freed with `previous`.
    for (std::size_t s = 0; s < 2; ++s) {
      keep_if_same(inbound_[s], prev->inbound_[s]);
      keep_if_same(outbound_[s], prev->outbound_[s]);
    }
  }

 private:
  static void keep_if_same(ContextPtr& mine, ContextPtr& theirs) {
    if (mine && theirs && mine->key() == theirs->key()) {
      std::swap(mine, theirs);
    }
  }
  TransformDrop last_drop_ = TransformDrop::Other;
};

}  // namespace

namespace {
srtp_err_status_t srtp_started() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] {
    status = srtp_init();
    if (status == srtp_err_status_ok) {
      // If one is refused, libsrtp's own stays for it (correct, slower).
      install_fast_hmac_sha1();
      install_fast_aes_ciphers();
    }
  });
  return status;
}
}  // namespace

void init_srtp() {
  if (const srtp_err_status_t status = srtp_started(); status != srtp_err_status_ok) {
    throw std::runtime_error("libsrtp failed to initialise (status " + std::to_string(status) +
                             ")");
  }
}

Result<PacketTransformPtr> make_srtp_transform(const SrtpLeg& a, const SrtpLeg& b) {
  if (srtp_started() != srtp_err_status_ok) {
    return Error{"srtp_setup", "libsrtp is not initialised"};
  }
  auto t = std::make_unique<SrtpTransform>();
  const std::array<const SrtpLeg*, 2> legs = {&a, &b};
  for (std::size_t s = 0; s < 2; ++s) {
    if (legs[s]->inbound) {
      auto c = Context::make(*legs[s]->inbound, true);
      if (!c) {
        return c.error();
      }
      t->inbound_[s] = std::move(c).value();
    }
    if (legs[s]->outbound) {
      auto c = Context::make(*legs[s]->outbound, false);
      if (!c) {
        return c.error();
      }
      t->outbound_[s] = std::move(c).value();
    }
  }
  return PacketTransformPtr(std::move(t));
}

}  // namespace portico::media
