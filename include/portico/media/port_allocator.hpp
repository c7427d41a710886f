#pragma once
// PortAllocator: this shard's slice of the RTP port range (policy `media.ports`). It hands out
// an even RTP port with RTCP on RTP+1 (RFC 3550 §11: "RTP SHOULD use an even destination port
// number and the corresponding RTCP stream SHOULD use the next higher (odd) port"), or a single
// port when RTCP is multiplexed on it (RFC 5761), and binds the real UDP sockets on the realm's
// media address. Released ports drain in quarantine before reuse, so late packets of an ended
// call never reach the next call that would get the same port.

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "portico/common/result.hpp"
#include "portico/common/timer_service.hpp"

namespace portico::media {

/// An inclusive port range [lo, hi].
struct PortRange {
  std::uint16_t lo = 20000;
  std::uint16_t hi = 29999;
};

struct PortAllocatorConfig {
  PortRange range;
  /// How long a released port drains before reuse.
  Millis quarantine{2000};
  /// Ports that fail to bind (used by another process) are skipped; at most this many binds
  /// are tried per allocation, so a crowded range cannot stall the shard.
  unsigned max_bind_attempts = 16;
};

class PortAllocator;

/// The sockets of one allocated port (or even/odd pair). Move-only; closes its sockets and
/// returns the ports to the allocator (into quarantine) when destroyed. The allocator must
/// outlive every lease. Shard-local.
class PortLease {
 public:
  PortLease(PortLease&& other) noexcept;
  PortLease& operator=(PortLease&& other) = delete;
  PortLease(const PortLease&) = delete;
  PortLease& operator=(const PortLease&) = delete;
  ~PortLease();

  std::uint16_t rtp_port() const { return port_; }
  /// The RTCP port: RTP+1, or the RTP port itself when muxed.
  std::uint16_t rtcp_port() const {
    return rtcp_mux_ ? port_ : static_cast<std::uint16_t>(port_ + 1);
  }
  bool rtcp_mux() const { return rtcp_mux_; }
  asio::ip::udp::socket& rtp_socket() { return rtp_; }
  /// Closed (not open) when muxed.
  asio::ip::udp::socket& rtcp_socket() { return rtcp_; }
  /// The descriptors, valid for the lease's life whether detached or not; -1 when not open.
  int rtp_fd() const { return rtp_fd_; }
  int rtcp_fd() const { return rtcp_fd_; }

  /// Takes the sockets out of the io_context's reactor. asio registers every socket it opens,
  /// edge-triggered, so a socket that something else waits for (the shard's EpollSet, the
  /// io_uring ring) would still cost the reactor an event per datagram. Afterwards
  /// rtp_socket() and rtcp_socket() are closed handles (no async_wait, no local_endpoint);
  /// the lease still closes the descriptors.
  void detach_from_reactor();
  /// After detach_from_reactor(): the caller takes the descriptors and closes them (a media
  /// shard on another thread); the lease keeps only the ports. Returns {rtp, rtcp}, -1 if none.
  std::pair<int, int> release_fds();

 private:
  friend class PortAllocator;
  PortLease(PortAllocator& owner, std::uint16_t port, bool rtcp_mux, asio::ip::udp::socket rtp,
            asio::ip::udp::socket rtcp);

  PortAllocator* owner_;  // not owned; nullptr once moved from
  std::uint16_t port_;
  bool rtcp_mux_;
  asio::ip::udp::socket rtp_;
  asio::ip::udp::socket rtcp_;
  int rtp_fd_;
  int rtcp_fd_;
  bool detached_ = false;  // the lease owns rtp_fd_/rtcp_fd_ itself
};

/// Hands out ports from one shard's slice of the media range. Shard-local: every method runs on
/// the owning shard's thread, as do the quarantine timers. Throws only at construction (invalid
/// range); allocation failures are Results with reason "ports_exhausted".
class PortAllocator {
 public:
  PortAllocator(asio::io_context& io, TimerService& timers, PortAllocatorConfig config);
  PortAllocator(const PortAllocator&) = delete;
  PortAllocator& operator=(const PortAllocator&) = delete;

  /// Binds an even/odd pair (or one port when `rtcp_mux`) on `local`. Non-blocking sockets,
  /// ready for async_wait on this allocator's io_context.
  Result<PortLease> allocate(const asio::ip::address& local, bool rtcp_mux);

  std::size_t capacity() const { return state_.size(); }
  std::size_t free_count() const { return free_; }
  std::size_t in_use_count() const { return in_use_; }
  std::size_t quarantined_count() const { return quarantine_.size(); }
  /// Ports skipped because bind() failed (counted; they go to quarantine and are retried later).
  std::uint64_t bind_failures() const { return bind_failures_; }

 private:
  enum class PortState : std::uint8_t { Free, InUse, Quarantined };
  friend class PortLease;

  bool is_free(std::uint32_t port) const;
  void set_state(std::uint16_t port, PortState s);
  /// Next candidate at or after the cursor, or 0 if none is free.
  std::uint16_t next_candidate(bool rtcp_mux);
  std::error_code bind_one(asio::ip::udp::socket& s, const asio::ip::address& local,
                           std::uint16_t port);
  void release(std::uint16_t port, bool rtcp_mux);
  void quarantine(std::uint16_t port);
  void drain_quarantine();
  void arm_quarantine_timer();

  asio::io_context& io_;
  PortAllocatorConfig config_;  // immutable after construction
  std::vector<PortState> state_;  // index = port - range.lo
  std::uint32_t cursor_;          // next port to try (round robin spreads reuse)
  std::size_t free_ = 0;
  std::size_t in_use_ = 0;
  std::deque<std::pair<TimePoint, std::uint16_t>> quarantine_;  // FIFO: release order
  TimerService& timers_;
  Timer quarantine_timer_;
  std::uint64_t bind_failures_ = 0;
};

}  // namespace portico::media
