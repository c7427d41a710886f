#pragma once
// Private state of a RelayStream: its sockets, latches, batch buffers and the packet path.
// Everything here belongs to the stream's media shard, except the counters, which the opening
// shard reads (single writer, relaxed atomics).

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <memory>

#include "latch.hpp"
#include "portico/media/relay.hpp"
#include "uring_impl.hpp"

namespace portico::media {

constexpr std::size_t kBatch = 32;           // datagrams per recvmmsg/sendmmsg
constexpr std::size_t kMaxPacket = 2048;     // larger datagrams are dropped as oversize
constexpr std::size_t kTailroom = 64;        // room for an SRTP auth tag/MKI added in place
constexpr std::size_t kSlot = kMaxPacket + kTailroom;
constexpr unsigned kMaxBatchesPerWake = 8;   // then yield to other sockets on the shard

/// One receiving socket of the stream.
struct RelayPort {
  asio::ip::udp::socket* socket = nullptr;  // owned by the side's PortLease; closed handle
                                            // once the lease is detached from the reactor
  int fd = -1;                              // the socket's descriptor, detached or not
  Side side = Side::A;
  Channel channel = Channel::Rtp;           // Rtp also carries RTCP when muxed
  std::size_t egress = 0;                   // index of the port that sends what this receives
};

/// recvmmsg/sendmmsg vectors and packet slots. One set per shard thread serves every stream of
/// the shard: a batch is received, processed and flushed inside one handler, and a shard runs
/// one handler at a time. (One set per stream would cost 67 KB per call and the cache misses
/// of touching a different 67 KB for every packet.)
struct RelayBatch {
  RelayBatch();  // points each rx header at its slot, once; recvmmsg only rewrites lengths
  std::array<mmsghdr, kBatch> rx{};
  std::array<iovec, kBatch> rx_iov{};
  std::array<sockaddr_storage, kBatch> rx_from{};
  std::array<mmsghdr, kBatch> tx{};
  std::array<iovec, kBatch> tx_iov{};
  std::array<sockaddr_storage, kBatch> tx_to{};
  std::size_t tx_count = 0;
  std::array<std::array<std::uint8_t, kSlot>, kBatch> data{};
};

/// The calling shard thread's batch, created on first use and kept for the thread's life.
RelayBatch& shard_batch();

/// A counter written by one thread only (the stream's media shard) and read by any. Relaxed
/// loads and stores: plain moves on x86-64 and arm64, no locked instruction per packet.
class SoloCounter {
 public:
  void add(std::uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

/// RelayStats as the media shard writes it.
struct StreamCounters {
  std::array<SoloCounter, 2> packets;
  std::array<SoloCounter, 2> bytes;
  std::array<SoloCounter, 2> rtcp_reports;
  SoloCounter no_destination;
  SoloCounter hijack_dropped;
  SoloCounter source_dropped;
  SoloCounter malformed_rtp;
  SoloCounter send_error;
  SoloCounter oversize;
  SoloCounter transform_dropped;
  SoloCounter transform_auth_fail;  // of transform_dropped: SRTP authentication failed
  SoloCounter transform_replay;     // of transform_dropped: SRTP replay
  SoloCounter transform_other;      // of transform_dropped: any other reason
  SoloCounter latched;
  SoloCounter relatched;

  RelayStats load() const;
};

/// ReceptionQuality as the media shard writes it (field by field, relaxed) and the call's
/// shard reads it.
struct SharedReception {
  std::atomic<std::uint64_t> reports{0};
  std::atomic<std::uint32_t> cumulative_lost{0};
  std::atomic<std::uint8_t> max_fraction_lost{0};
  std::atomic<std::uint32_t> max_jitter{0};

  ReceptionQuality load() const;
  void store(const ReceptionQuality& q);
};

/// What the stages know about the packet in hand (docs/style.md, "Packet path").
struct PacketCtx {
  RelayPort& in;
  std::uint8_t* buf;                // start of the buffer holding the packet
  std::size_t capacity;             // bytes usable from buf (packet + tailroom)
  std::uint16_t bid;                // io_uring provided-buffer id (epoll path: unused)
  std::span<std::uint8_t> packet;   // received bytes; the transform may resize it
  Endpoint source;
  Channel channel;                  // after mux demux
  Direction direction;
  Endpoint destination;             // set by stage_destination
  TimePoint now;
  bool truncated;                   // longer than kMaxPacket (MSG_TRUNC)
};

/// The sockets a stream relays between, as handed to the media shard.
struct RelaySockets {
  std::array<asio::ip::udp::socket*, 4> sockets{};  // the leases' handles (asio waits only)
  std::array<int, 4> fds{-1, -1, -1, -1};           // A RTP, B RTP, A RTCP, B RTCP
  bool rtcp_mux = false;
  bool owns_fds = false;  // the media shard closes the descriptors (they left the leases)
};

struct RelayStream::Impl final : UringSink, ReadySink {
  Impl(RelayDeps d, RelaySockets s, Millis relatch_after);
  ~Impl() override;

  // relay_stream.cpp
  void start();  // on the media shard: registers every port with its ring, set or asio
  void arm(std::size_t port);
  Latch& latch(Side s, Channel c);
  void reset_latches(Side s, std::optional<Endpoint> rtp, std::optional<Endpoint> rtcp,
                     const SideConfig& mode);

  // relay_path.cpp: the stages, in order
  void on_readable(std::size_t port);
  void on_ready(std::size_t port) override { on_readable(port); }  // from the EpollSet
  int receive_batch(RelayPort& in);
  void process(PacketCtx& ctx);
  // io_uring path (uring_engine.cpp delivers; relay_path.cpp handles)
  void on_uring_packet(std::size_t index, std::uint16_t bid, std::span<std::uint8_t> packet,
                       std::size_t capacity, const sockaddr* from, socklen_t from_len,
                       bool truncated) override;
  void on_uring_sent(Direction dir, std::size_t len, bool ok) override;
  bool stage_size(PacketCtx& ctx);
  bool stage_demux(PacketCtx& ctx);
  bool stage_latch(PacketCtx& ctx);
  /// Reads RTCP reception reports into the stream's ReceptionQuality; never drops.
  bool stage_observe(PacketCtx& ctx);
  bool stage_destination(PacketCtx& ctx);
  bool stage_transform(PacketCtx& ctx);
  void stage_enqueue(PacketCtx& ctx);
  void flush(RelayPort& in);
  void count_sent(Direction dir, std::size_t len);

  RelayDeps deps;                // io, timers, uring and epoll are the media shard's
  const Millis relatch_after;
  const bool rtcp_mux;
  const bool owns_fds;
  std::array<RelayPort, 4> ports{};
  std::size_t port_count = 0;
  std::array<Latch, 4> latches{};  // index = side * 2 + channel
  PacketTransformPtr transform;    // may be null
  UringEngine::Impl* uring = nullptr;        // the shard's io_uring path; nullptr = epoll
  std::array<std::uint32_t, 4> uring_slots{};  // engine port slot of each port
  EpollSet* epoll = nullptr;                   // the shard's epoll set; nullptr = asio waits
  std::array<std::uint32_t, 4> epoll_slots{};  // set slot of each port; kNoSlot = asio waits
  bool all_elsewhere = false;  // every port waits in the ring or the set (set by start())
  // The only fields another thread reads (docs/style.md, "Threading"). Single writer, so
  // relaxed stores and loads suffice: each value stands alone and nothing else is published
  // through it; a reader may see a value one packet old.
  // written by: media shard, per packet; read by: call's shard, stats() (relaxed)
  StreamCounters counters;
  // written by: media shard, per packet; read by: call's shard, media timeout (relaxed)
  std::array<std::atomic<Clock::rep>, 2> last_rx{};  // time_since_epoch, index = Side
  // written by: media shard, per RTCP report; read by: call's shard, CDR and loss metrics
  // (relaxed; the four fields may come from two consecutive reports, close enough for those)
  std::array<SharedReception, 2> reception{};       // index = reporting side
  // Liveness guard: handlers capture a weak_ptr and return if the stream is gone; made with
  // the Impl, checked and destroyed on the media shard only
  // (docs/style.md, "Ownership": handlers that may outlive their object capture a handle).
  std::shared_ptr<int> life = std::make_shared<int>(0);
};

}  // namespace portico::media
