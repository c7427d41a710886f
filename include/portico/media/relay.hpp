#pragma once
// Media anchoring: every RTP/RTCP packet of a call flows through Portico between two realms.
//
//   peer A ──► [A rtp socket] ──stages──► [B rtp socket] ──► peer B     (Direction::AtoB)
//   peer A ◄── [A rtp socket] ◄──stages── [B rtp socket] ◄── peer B     (Direction::BtoA)
//   (the same again on the RTCP pair, or on the RTP sockets with rtcp-mux, RFC 5761)
//
// Each side of a RelayStream owns sockets bound on its realm's media address. A readable socket
// (reported by the shard's EpollSet, or by the UringEngine's completions) is drained with
// recvmmsg in bounded batches; each packet runs a fixed chain of stages over a
// PacketCtx (size check, RTP/RTCP demux, latching, destination, transform) and is appended to
// the egress socket's sendmmsg batch, flushed once per batch. Buffers are allocated with the
// stream: the packet path allocates nothing.
//
// Latching (RFC 7362 §4, symmetric RTP, rtpengine/LiveKit behaviour): the SDP address is the
// first destination; with `latch` the first valid RTP from the expected IP (any port: the NAT
// rewrote it), or from anywhere with `latch_any_ip`, becomes the destination. A different
// source is then a hijack attempt and is dropped, unless the latched source has been silent
// for `relatch_after` and the packet comes from the expected IP (a new NAT binding) or carries
// the SSRC seen before (the same stream, moved). Without `latch` only the SDP address (and
// port, with `strict_port`) may send: everything else is dropped as an unexpected source.

#include <asio/io_context.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "portico/common/endpoint.hpp"
#include "portico/common/result.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/media/epoll_set.hpp"
#include "portico/media/packet_transform.hpp"
#include "portico/media/port_allocator.hpp"
#include "portico/media/uring_engine.hpp"

namespace portico::media {

using portico::Endpoint;

/// One leg's media endpoint as signalled in SDP, plus its NAT handling.
struct SideConfig {
  asio::ip::address local;             // this realm's media address (sockets bind here)
  std::optional<Endpoint> peer_rtp;    // c=/m= of the peer's SDP; nullopt = not known yet
  std::optional<Endpoint> peer_rtcp;   // RFC 3605 a=rtcp; default peer_rtp port + 1
  bool latch = true;                   // RFC 7362 symmetric RTP; false = fixed SDP destination
                                       // and only the SDP address may send (strict source)
  bool latch_any_ip = false;           // latch onto any source IP, not only the SDP one
  bool strict_port = false;            // without latch: the SDP port must match too
};

struct StreamConfig {
  SideConfig a;
  SideConfig b;
  bool rtcp_mux = false;               // RFC 5761 on both legs: one port per side
  Millis relatch_after{1000};          // silence after which a new SSRC may re-latch
};

/// Counters of one stream or one relay. Plain shard-local fields (docs/style.md, "Threading").
struct RelayStats {
  std::array<std::uint64_t, 2> packets{};  // relayed, index = Direction
  std::array<std::uint64_t, 2> bytes{};    // relayed payload bytes, index = Direction
  std::array<std::uint64_t, 2> rtcp_reports{};  // RTCP reception report blocks read, by Direction
  std::uint64_t no_destination = 0;
  std::uint64_t hijack_dropped = 0;
  std::uint64_t source_dropped = 0;  // not latching: not from the SDP address (strict)
  std::uint64_t malformed_rtp = 0;
  std::uint64_t send_error = 0;
  std::uint64_t oversize = 0;
  std::uint64_t transform_dropped = 0;
  std::uint64_t transform_auth_fail = 0;   // of transform_dropped: SRTP authentication failed
  std::uint64_t transform_replay = 0;      // of transform_dropped: SRTP replayed packet
  std::uint64_t transform_other = 0;       // of transform_dropped: any other reason
  std::uint64_t latched = 0;               // first latch of a flow
  std::uint64_t relatched = 0;             // latch moved after silence + new SSRC

  std::uint64_t dropped() const {
    return no_destination + hijack_dropped + source_dropped + malformed_rtp + send_error +
           oversize + transform_dropped;
  }
  RelayStats& operator+=(const RelayStats& o);
};

/// What one side's peer said, in its RTCP reception reports (RFC 3550 §6.4), about the media it
/// received through Portico. Shard-local; zero when the peer sends no RTCP.
struct ReceptionQuality {
  std::uint64_t reports = 0;           // report blocks read
  std::uint32_t cumulative_lost = 0;   // packets lost since the start, latest report
  std::uint8_t max_fraction_lost = 0;  // highest per-interval loss, in 1/256
  std::uint32_t max_jitter = 0;        // highest interarrival jitter, RTP timestamp units
};

/// What a stream needs. The ports come from the shard that opens the stream (the call's); the
/// packets are relayed by the media shard: `io`, `timers`, `uring` and `epoll` are that shard's.
/// With `remote` the media shard runs on another thread (server.media_shards): the stream then
/// reaches it only by posting to `io`, and needs its uring or epoll (asio waits are per
/// io_context). All references outlive the stream.
struct RelayDeps {
  asio::io_context& io;
  TimerService& timers;     // clock for latching and last_rx
  PortAllocator& a_ports;   // side A's realm range (the opening shard's slice of it)
  PortAllocator& b_ports;   // side B's realm range; may be the same allocator as a_ports
  UringEngine* uring = nullptr;  // the media shard's io_uring path; nullptr = epoll + recvmmsg
  EpollSet* epoll = nullptr;     // the media shard's epoll set (epoll path); nullptr = one asio
                                 // wait per socket
  bool remote = false;           // the media shard is another thread
};

class RelayStream;
using RelayStreamPtr = std::unique_ptr<RelayStream>;

/// One m= line relayed between side A and side B. The stream is opened, changed and destroyed
/// on one shard (the call's); its packets are relayed on the media shard of RelayDeps, the same
/// thread unless `remote`. Changes reach the media shard in order, by post; counters and
/// last_rx are written there and readable here (single-writer relaxed atomics). Destroying it
/// closes its sockets on the media shard and returns its ports (into quarantine) at once.
/// Must not be destroyed from inside its own transform.
class RelayStream {
 public:
  /// Allocates both sides' ports and starts receiving. Fails with "ports_exhausted".
  static Result<RelayStreamPtr> open(RelayDeps deps, StreamConfig config);
  ~RelayStream();
  RelayStream(const RelayStream&) = delete;
  RelayStream& operator=(const RelayStream&) = delete;

  /// Portico's own address for side `s` (what the SDP sent to that side's peer advertises).
  Endpoint local_rtp(Side s) const;
  Endpoint local_rtcp(Side s) const;
  /// New SDP from side `s` (re-INVITE/UPDATE): resets that side's latching.
  void set_peer(Side s, std::optional<Endpoint> rtp, std::optional<Endpoint> rtcp);
  /// Current destination of packets sent to side `s`'s peer, if known. Media shard only.
  std::optional<Endpoint> destination(Side s, Channel c) const;
  /// Installs the transform slot (nullptr = none). Owned by the stream; runs on the media shard.
  void set_transform(PacketTransformPtr transform);

  /// A snapshot of the stream's counters.
  RelayStats stats() const;
  /// Time of the last packet accepted from side `s`'s peer (epoch if none), for media timeouts.
  TimePoint last_rx(Side s) const;
  /// What side `s`'s peer reported about the media it received (sent by the other side).
  ReceptionQuality reception(Side s) const;
  bool rtcp_mux() const { return config_.rtcp_mux; }

 private:
  struct Impl;
  RelayStream(RelayDeps deps, StreamConfig config, PortLease a, PortLease b);
  void start();
  /// Runs `fn(impl)` on the media shard: now if it is this thread, else posted in order.
  template <class Fn>
  void on_media_shard(Fn&& fn);

  StreamConfig config_;  // immutable after construction, except peers via set_peer
  bool remote_;          // the media shard is another thread
  asio::io_context* media_io_;  // the media shard's loop
  UringEngine* media_uring_;    // rung after a post: a shard sleeping in its ring sees no post
  PortLease a_;          // the ports (and, until handed to the media shard, the sockets)
  PortLease b_;
  std::array<Endpoint, 4> locals_{};  // each port's bound address
  std::unique_ptr<Impl> impl_;  // goes before the leases: sockets first, then ports
};

/// The media of one call: a set of streams indexed like the SDP m= lines. Shard-local.
class MediaRelay {
 public:
  explicit MediaRelay(RelayDeps deps) : deps_(deps) {}

  /// Opens stream number `index` (replacing any stream at that index). "ports_exhausted" on
  /// failure, with nothing left allocated for that index.
  Result<RelayStream*> open_stream(std::size_t index, StreamConfig config);
  /// nullptr if no stream is open at `index`.
  RelayStream* stream(std::size_t index);
  /// Closes one stream; its ports go to quarantine and its counters stay in stats().
  void close_stream(std::size_t index);
  /// Closes every stream (the call ended).
  void close();
  std::size_t open_streams() const;
  /// Totals of the open streams plus the closed ones.
  RelayStats stats() const;

 private:
  RelayDeps deps_;
  std::vector<RelayStreamPtr> streams_;  // index = m= line; nullptr = closed
  RelayStats closed_totals_;
};

}  // namespace portico::media
