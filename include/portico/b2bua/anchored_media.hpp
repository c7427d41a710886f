#pragma once
// Media anchoring (ARCHITECTURE §2.2 steps 6, 7, 9, 10): the SessionMedia of a call whose two
// realms both have a `media` section. Every offer and answer that crosses Portico is parsed,
// each m= line gets a RelayStream (ports from the realms' own ranges, on this shard), and the
// body relayed to the other leg names Portico's address and ports instead of the peer's:
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

#include <asio/io_context.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "portico/b2bua/session_media.hpp"
#include "portico/common/histogram.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/media/relay.hpp"
#include "portico/sdp/rewrite.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::b2bua {

/// Media counters of one realm (labels of portico_media_* metrics).
struct JitterBoundsMs {
  static constexpr std::array<double, 10> kUpper = {1, 2, 5, 10, 20, 30, 50, 100, 200, 500};
};
struct LossBoundsPercent {
  static constexpr std::array<double, 9> kUpper = {0.1, 0.5, 1, 2, 3, 5, 10, 20, 50};
};

struct RealmMediaStats {
  std::uint64_t packets_received = 0;  // from peers in this realm, relayed on
  std::uint64_t bytes_received = 0;
  std::uint64_t packets_sent = 0;      // to peers in this realm
  std::uint64_t bytes_sent = 0;
  std::uint64_t rtcp_reports = 0;      // reception report blocks sent by peers in this realm
  // One observation per ended stream and receiving peer in this realm that sent RTCP: the
  // highest jitter it reported, and its loss (lost / (lost + relayed to it)).
  Histogram<JitterBoundsMs> jitter_ms;
  Histogram<LossBoundsPercent> loss_percent;
};

/// Shard-wide media counters: plain fields read by the metrics collector via a shard post.
struct MediaStats {
  std::map<std::string, RealmMediaStats, std::less<>> realms;
  media::RelayStats relay;              // drops by reason, latching events (all streams)
  std::uint64_t sessions_anchored = 0;  // calls whose media went through Portico
  std::uint64_t ports_exhausted = 0;    // offers refused because a range was full
  std::uint64_t media_timeouts = 0;     // calls ended for silence
  /// Answered calls that ended with RTP in one direction only, by the silent direction
  /// (index = media::Direction: AtoB = the caller sent nothing): one-way audio, named.
  std::array<std::uint64_t, 2> one_way_calls{};
  std::uint64_t dtmf_mismatches = 0;    // offers with telephone-event answered without it
  std::uint64_t streams_active = 0;
};

/// This shard's port allocators: one per realm with media, each over the shard's slice of the
/// realm's range (so shards never compete for a port). Shard-local.
class MediaPorts {
 public:
  MediaPorts(asio::io_context& io, TimerService& timers, std::uint16_t shard,
             std::uint16_t shard_count);

  /// Adopts a policy: realms new or changed get a fresh allocator; unchanged ones keep theirs.
  /// Live calls hold their allocators (shared_ptr), so a reload never pulls ports from under
  /// them. A range too small to give this shard a slice is logged and left without allocator
  /// (its calls are refused with ports_exhausted).
  void update(const policy::PolicySnapshot& policy);
  std::shared_ptr<media::PortAllocator> find(const std::string& realm) const;

  /// Shard `shard`'s part of [min, max]: equal even-aligned slices, nullopt when a slice would
  /// hold fewer than 4 ports (one call's RTP/RTCP pair on each leg).
  static std::optional<media::PortRange> slice(std::uint16_t min, std::uint16_t max,
                                               std::uint16_t shard, std::uint16_t shard_count);

 private:
  struct Entry {
    asio::ip::address address;
    std::uint16_t min = 0;
    std::uint16_t max = 0;
    std::shared_ptr<media::PortAllocator> ports;
  };
  asio::io_context& io_;
  TimerService& timers_;
  std::uint16_t shard_;
  std::uint16_t shard_count_;
  std::map<std::string, Entry> by_realm_;
};

class AnchoredMedia;

/// Creates the media session of each call on one shard and keeps the shard's media counters.
/// Shard-local.
class AnchoredMediaFactory final : public SessionMediaFactory {
 public:
  /// `uring` and `epoll` (the shard's media I/O, see media::RelayDeps; either may be null)
  /// must outlive the factory and every session.
  AnchoredMediaFactory(asio::io_context& io, TimerService& timers, MediaPorts& ports,
                       media::UringEngine* uring = nullptr, media::EpollSet* epoll = nullptr);
  ~AnchoredMediaFactory() override;

  /// Relays the media of this shard's calls on another shard's thread (server.media_shards):
  /// its loop, clock and media I/O (uring or epoll, one of them non-null), which must outlive
  /// every session. Before the first call.
  void relay_on(asio::io_context& io, TimerService& timers, media::UringEngine* uring,
                media::EpollSet* epoll);

  SessionMediaPtr create(const std::string& call_log_id,
                         const std::shared_ptr<const policy::PolicySnapshot>& policy) override;
  /// Totals of ended sessions plus the live ones.
  MediaStats stats() const;

 private:
  friend class AnchoredMedia;
  asio::io_context& io_;
  TimerService& timers_;
  MediaPorts& ports_;
  asio::io_context* relay_io_;     // the media shard's loop (this shard's unless relay_on)
  TimerService* relay_timers_;     // the media shard's clock
  media::UringEngine* uring_;      // the media shard's media I/O
  media::EpollSet* epoll_;
  bool remote_ = false;            // the media shard is another thread
  std::set<const AnchoredMedia*> live_;
  MediaStats closed_;  // counters of ended sessions and events
};

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
