#pragma once
// SDES SRTP negotiation of one call, per leg and m= line (docs/srtp.md). Each leg's media
// security comes from policy (policy::media_security_for): Portico's offer toward a leg carries
// that leg's security (RTP/SAVP with a=crypto lines holding Portico's own keys, one per allowed
// suite; RTP/AVP with them for `optional`; plain RTP/AVP without them for `rtp`), and the
// answer toward the offerer carries one a=crypto for the suite Portico picked from its offer.
// The peer's key from its SDP decrypts what it sends; Portico's key protects what it receives.
// Keys never cross legs. Once both sides of an exchange are known the stream's transform is
// (re)installed: unchanged keys keep their contexts (see media/srtp_transform.hpp).
//
// A leg whose policy requires SRTP and whose offer or answer has no usable a=crypto, or any
// a=crypto Portico cannot parse, fails the exchange with a reason (a 488 with a Warning).
// Shard-local; owned by the call's AnchoredMedia.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "portico/b2bua/media_stats.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/media/relay.hpp"
#include "portico/media/srtp_transform.hpp"
#include "portico/policy/model.hpp"
#include "portico/sdp/crypto.hpp"
#include "portico/sdp/session.hpp"

namespace portico::b2bua {

/// The Warning header (RFC 3261 §20.43, code 399) of a 488 caused by SRTP negotiation, or empty
/// when `reason` is not one of SrtpMedia's; `host` is the warn-agent (Portico's host on that
/// leg, or "-").
std::string srtp_warning(const std::string& reason, const std::string& host);

class SrtpMedia {
 public:
  SrtpMedia(std::string log_id, MediaStats& stats) : log_id_(std::move(log_id)), stats_(stats) {}

  /// Side `s` now talks to a peer with this security (a new dialog on that side: its keys and
  /// what was negotiated with its previous peer are forgotten).
  void set_leg(Side s, policy::LegMediaSecurity security);
  /// Rewrites m= line `index` of an SDP received from `from` for the other leg (profile and
  /// a=crypto lines). Errors: "srtp_no_usable_crypto", "srtp_malformed_crypto",
  /// "srtp_unsupported_lifetime", "srtp_unsupported_mki" (logged and counted here).
  std::optional<Error> rewrite(Side from, SdpRole role, std::size_t index, sdp::Media& m);
  /// After an answer: installs (or removes) stream `index`'s SRTP transform if what it must do
  /// changed since the last install on that stream.
  void install(std::size_t index, media::RelayStream& stream);
  /// Any leg of any stream protected with SRTP now (CDR, tests).
  bool secure(Side s) const;

 private:
  struct Offered {
    std::uint32_t tag = 0;
    SrtpSuite suite{};
  };
  struct StreamState {
    std::array<std::optional<sdp::CryptoAttribute>, 2> offer_crypto;  // picked from side's offer
    std::array<std::string, 2> offer_proto;                 // the proto side's offer came with
    std::array<std::vector<Offered>, 2> offered_to;         // a=crypto Portico offered the side
    std::array<std::optional<media::SrtpKey>, 2> peer_key;  // negotiated, per side
    std::array<std::optional<SrtpSuite>, 2> own_suite;      // Portico's key's suite, per side
    std::array<media::SrtpLeg, 2> applied{};                // what the installed transform does
    const media::RelayStream* installed_on = nullptr;       // the stream it was installed on
  };
  struct LegState {
    policy::LegMediaSecurity security;
    std::array<std::vector<std::uint8_t>, 5> own_keys;  // by SrtpSuite, made on first use
  };

  std::optional<Error> take_offer(Side from, StreamState& st, const sdp::Media& m);
  std::optional<Error> take_answer(Side from, StreamState& st, const sdp::Media& m);
  void write_offer(Side to, StreamState& st, sdp::Media& m);
  void write_answer(Side to, StreamState& st, sdp::Media& m);
  const std::vector<std::uint8_t>& own_key(Side s, SrtpSuite suite);
  Error refuse(Side s, Error e);

  std::string log_id_;
  MediaStats& stats_;
  std::array<LegState, 2> legs_;
  std::vector<StreamState> streams_;  // index = m= line
};

}  // namespace portico::b2bua
