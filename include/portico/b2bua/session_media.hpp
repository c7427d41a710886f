#pragma once
// The media seam of a call. Every SDP body that crosses Portico goes through the call's
// SessionMedia, in both directions, on every offer and answer (INVITE, 18x, 2xx, ACK, PRACK,
// UPDATE, re-INVITE). The signalling core relays bodies through PassthroughMedia; media
// anchoring replaces it with a session that allocates relay ports and rewrites c=/m= lines.

#include <asio/ip/address.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "portico/common/result.hpp"
#include "portico/common/side.hpp"
#include "portico/policy/model.hpp"

namespace portico::b2bua {

/// What a body carries in the offer/answer exchange (RFC 3264).
enum class SdpRole { Offer, Answer };

/// Where one leg's peer is: its realm and the address its SIP comes from (behind NAT, the
/// NAT's public address; media latching expects RTP from there).
struct LegPeer {
  std::string realm;
  asio::ip::address signalling_address;
  std::string peer;                    // trunk or access peer name; empty = none (media security
                                       // then comes from the realm)
  Protocol transport = Protocol::Udp;  // the leg's signalling (TLS defaults media to SRTP)
};

/// What the receiving peer of one direction of the first stream said in its RTCP reception
/// reports (RFC 3550 §6.4): the media quality as that end heard it.
struct DirectionQuality {
  bool reported = false;    // false: that peer sent no RTCP reception report
  std::uint32_t lost = 0;   // cumulative packets lost, latest report
  double jitter_ms = 0;     // highest interarrival jitter reported
};

/// What a call's media did, for its CDR.
struct MediaSummary {
  bool anchored = false;
  std::string codec;              // first codec of the first answered stream
  std::uint64_t packets_a_to_b = 0;
  std::uint64_t packets_b_to_a = 0;
  DirectionQuality quality_a_to_b;  // as reported by B's peer
  DirectionQuality quality_b_to_a;  // as reported by A's peer
};

/// Per-call media state. Shard-local; owned by its Call.
class SessionMedia {
 public:
  using FailureHandler = std::function<void(const std::string& reason)>;

  virtual ~SessionMedia() = default;
  /// The leg on side `s` now talks to `peer` (A once at call creation; B on every target
  /// tried, so a failover to another realm starts the B side afresh).
  virtual void set_leg(Side /*s*/, const LegPeer& /*peer*/) {}
  /// The call was answered: from now on silence on every stream ends it (media timeout).
  virtual void call_answered() {}
  /// Called (on the shard) when the media layer ends the call by itself ("media_timeout").
  /// The handler may destroy this session.
  virtual void set_failure_handler(FailureHandler /*handler*/) {}
  /// Totals so far (also valid after close()).
  virtual MediaSummary summary() const { return {}; }
  /// Rewrites a body received on `from` for the other leg. Error.reason becomes the call's
  /// failure reason ("codec_mismatch", "ports_exhausted"...) and maps to a SIP status.
  virtual Result<std::string> relay_body(Side from, SdpRole role, std::string_view content_type,
                                         std::string_view body) = 0;
  /// The call ended: release every resource now.
  virtual void close() = 0;
};
using SessionMediaPtr = std::unique_ptr<SessionMedia>;

/// Creates the media session of each new call. Shard-local.
class SessionMediaFactory {
 public:
  virtual ~SessionMediaFactory() = default;
  /// `policy` is the snapshot the call keeps for its life (realm media settings, timeouts).
  virtual SessionMediaPtr create(const std::string& call_log_id,
                                 const std::shared_ptr<const policy::PolicySnapshot>& policy) = 0;
};

/// Relays bodies unchanged: the behaviour of a signalling-only B2BUA.
class PassthroughMedia final : public SessionMedia {
 public:
  Result<std::string> relay_body(Side, SdpRole, std::string_view, std::string_view body) override {
    return std::string(body);
  }
  void close() override {}
};

class PassthroughMediaFactory final : public SessionMediaFactory {
 public:
  SessionMediaPtr create(const std::string&,
                         const std::shared_ptr<const policy::PolicySnapshot>&) override {
    return std::make_unique<PassthroughMedia>();
  }
};

}  // namespace portico::b2bua
