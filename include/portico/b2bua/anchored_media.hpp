#pragma once
// Media anchoring: the SessionMedia of a call whose two realms both have a `media` section.
// Every offer and answer that crosses Portico is parsed, each m= line gets a RelayStream (ports
// from the realms' own ranges, on this shard), and the body relayed to the other leg names
// Portico's address and ports instead of the peer's:
//
//   A's SDP (c=A, m=pA) ──► relay_body(A, …) ──► B gets c=<B-realm media address>, m=<port on B side>
//   B's SDP (c=B, m=pB) ──► relay_body(B, …) ──► A gets c=<A-realm media address>, m=<port on A side>
//
// Ports of a stream never change for the life of the m= line (hold/resume and re-offers keep
// them); a port-0 m= line closes its stream. ICE attributes are dropped (Portico terminates the
// media path), direction attributes are kept so hold works end to end, and each leg sees
// Portico's own o= line with a version that moves only when the SDP sent to it changes.
//
// On a realm marked `nat`, the peer is expected to send from its SIP source address (the NAT's
// public side) whatever its SDP says, and Portico latches onto the port its RTP really comes
// from (RFC 7362). Once the call is answered, silence in both directions on every stream for
// `timers.media_timeout` (streams on hold excluded) ends the call.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portico/b2bua/anchored_media_factory.hpp"
#include "portico/b2bua/media_stats.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/srtp_media.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/media/relay.hpp"
#include "portico/sdp/rewrite.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::b2bua {

/// One call's media. Shard-local; owned by its Call; must not outlive its factory.
class AnchoredMedia final : public SessionMedia {
 public:
  AnchoredMedia(AnchoredMediaFactory& factory, std::string log_id,
                std::shared_ptr<const policy::PolicySnapshot> policy);
  ~AnchoredMedia() override;

  void set_leg(Side s, const LegPeer& peer) override;
  void call_answered() override;
  void set_failure_handler(FailureHandler handler) override;
  MediaSummary summary() const override;
  Result<std::string> relay_body(Side from, SdpRole role, std::string_view content_type,
                                 std::string_view body) override;
  void close() override;

  /// Both realms have media: bodies are rewritten and RTP flows through Portico.
  bool anchored() const;
  /// Adds this session's counters to `out` (live or final).
  void add_stats(MediaStats& out) const;
  /// The stream of m= line `index`, or nullptr (tests, diagnostics).
  const media::RelayStream* stream(std::size_t index) const;

 private:
  struct LegState {
    std::string realm;
    asio::ip::address signalling_address;
    const policy::RealmMedia* media = nullptr;        // in policy_; nullptr = no anchoring
    std::shared_ptr<media::PortAllocator> ports;      // keeps the allocator alive for leases
    std::optional<sdp::OriginVersioner> origin;       // Portico's o= toward this leg
  };
  /// What the last SDP of each side said about one m= line.
  struct StreamState {
    std::array<bool, 2> held{};                                   // direction != sendrecv
    std::array<std::optional<transport::Endpoint>, 2> rtp;        // as signalled (after NAT fix)
    std::array<std::optional<transport::Endpoint>, 2> rtcp;
  };

  Result<std::string> rewrite(Side from, SdpRole role, std::string_view body);
  /// The relay of this call, opened with the first SDP that needs it.
  void open_relay();
  /// m= line `index` of `s`, received from `from`: its stream opened or re-pointed at the
  /// peer, its port(s) replaced by Portico's on the other side (0 when not relayed).
  std::optional<Error> rewrite_media(Side from, SdpRole role, sdp::Session& s, std::size_t index);
  Result<media::RelayStream*> stream_for(std::size_t index, Side from,
                                         const std::optional<transport::Endpoint>& rtp,
                                         const std::optional<transport::Endpoint>& rtcp);
  media::SideConfig side_config(Side s) const;
  void drop_relay();
  /// At the end of an answered call: logs and counts one-way media.
  void report_one_way();
  /// Offer with telephone-event answered without it: logs and counts the DTMF mismatch.
  void check_dtmf(Side from, SdpRole role, const sdp::Session& s);
  /// What side `s`'s peer reported about stream 0 (live, or kept from a dropped relay).
  media::ReceptionQuality reception(Side s) const;
  /// Packets relayed toward side `s` on stream 0's relay, live or dropped.
  std::uint64_t packets_to(Side s) const;
  void arm_timeout_check();
  void check_timeout();

  AnchoredMediaFactory& factory_;
  std::string log_id_;
  std::shared_ptr<const policy::PolicySnapshot> policy_;
  std::array<LegState, 2> legs_;          // declared before relay_: leases die first
  std::unique_ptr<media::MediaRelay> relay_;
  SrtpMedia srtp_;                        // SDES keys per leg and stream (srtp_media.hpp)
  std::vector<StreamState> streams_;      // index = m= line
  std::array<std::uint64_t, 2> closed_packets_{};  // by direction, of relays already dropped
  std::string codec_;                     // from the last answer: first format of stream 0
  std::uint32_t clock_rate_ = 8000;       // of codec_: RTCP jitter is in its timestamp units
  std::array<media::ReceptionQuality, 2> kept_reception_{};  // stream 0 of dropped relays
  FailureHandler on_failure_;
  Timer timeout_timer_;
  TimePoint answered_at_{};
  bool answered_ = false;
  bool relayed_ = false;                  // a relay was opened at some point (CDR)
  bool offered_te_ = false;               // the last offer's stream 0 had telephone-event
  bool dtmf_mismatch_ = false;            // reported once per call
  bool closed_ = false;
};

}  // namespace portico::b2bua
