#pragma once
// Private state of a UringEngine (see uring_engine.hpp for why it exists).
//
// user_data of every SQE: [63..62] kind (recv, send, cancel) | [61..32] generation | [31..0]
// port slot (recv) or buffer id (send). A completion whose generation no longer matches its
// slot belongs to a port that was removed: its buffer is recycled and nothing else is touched.

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "portico/common/endpoint.hpp"
#include "portico/media/packet_transform.hpp"
#include "portico/media/uring_engine.hpp"

namespace portico::media {

constexpr unsigned kUringEntries = 2048;        // SQ entries; the CQ gets twice as many
constexpr unsigned kUringBuffers = 4096;        // provided receive buffers (power of two)
constexpr std::size_t kUringBufSize = 2176;     // recvmsg header + name + 2 KiB + SRTP tailroom
constexpr std::uint16_t kUringBufGroup = 7;
constexpr unsigned kUringFixedFiles = 16384;    // registered sockets per shard, at most
// A sleep that follows sends ends after this even if nothing arrives, so the sends are
// counted (and their buffers returned) within it, not at the next packet of a quiet shard.
constexpr long kRetireWaitNs = 10'000'000;

/// The epoll descriptor of this process that has `member` registered in it, or -1
/// (uring_loop.cpp: how the engine finds asio's reactor).
int epoll_holding(int member);

/// Who receives the packets of one registered socket.
class UringSink {
 public:
  virtual ~UringSink() = default;
  /// A datagram arrived on port `index` of this sink. `packet` lies in a provided buffer with
  /// `capacity` bytes from its start; the sink either hands it to UringEngine::Impl::send()
  /// (same buffer, maybe resized) or drops it. Never called re-entrantly.
  virtual void on_uring_packet(std::size_t index, std::uint16_t bid, std::span<std::uint8_t> packet,
                               std::size_t capacity, const sockaddr* from, socklen_t from_len,
                               bool truncated) = 0;
  /// A send queued by this sink completed (`ok` false: the kernel refused it).
  virtual void on_uring_sent(Direction dir, std::size_t len, bool ok) = 0;
};

struct UringEngine::Impl {
  enum Kind : std::uint64_t { kRecv = 1, kSend = 2, kCancel = 3 };
  // The ring-driven loop's own requests use kind kCancel with these ids, above any port slot.
  static constexpr std::uint32_t kAsioPoll = 0xfffffff0U;
  static constexpr std::uint32_t kDoorbellRead = 0xfffffff1U;

  struct Port {
    UringSink* sink = nullptr;  // nullptr: removed (awaiting its final completion) or free
    std::size_t index = 0;
    int fd = -1;
    std::uint32_t gen = 0;
    bool armed = false;         // a multishot recvmsg is outstanding
    bool in_use = false;
    bool fixed = false;         // registered in the ring's file table at index = slot
  };
  struct SendSlot {              // one per buffer: the msghdr of the send using that buffer
    msghdr msg{};
    iovec iov{};
    sockaddr_storage to{};
    std::uint32_t port = 0;      // the receiving port whose sink gets the completion
    std::uint32_t gen = 0;
    Direction dir = Direction::AtoB;
    bool failed = false;         // an error completion arrived (success posts none)
  };

  Impl(asio::io_context& io, int doorbell_fd);
  ~Impl();
  bool init(std::string& why);

  std::uint32_t add_port(UringSink* sink, std::size_t index, int fd);
  void remove_port(std::uint32_t slot);
  /// Queues `packet` (inside buffer `bid`) to `dest` from the socket of `egress_port`. The
  /// buffer returns to the ring once the enter that issues the send has returned (retire_sends).
  /// `from_port` names the sink told whether it was sent.
  void send(std::uint32_t from_port, std::uint16_t bid, std::span<const std::uint8_t> packet,
            std::uint32_t egress_port, const Endpoint& dest, Direction dir);
  /// Points `s` at port `slot`'s socket: its file-table index when registered, else its fd.
  void target(io_uring_sqe* s, std::uint32_t slot);
  void unregister_file(Port& p, std::uint32_t slot);

  /// The ring-driven loop (UringEngine::run).
  void run();
  void poll();
  void arm_loop_requests();
  void on_loop_completion(const io_uring_cqe& cqe, std::uint32_t id);
  /// How submit_queued enters the ring: submit only (set-up, teardown, a full SQ), submit and
  /// run the deferred receives, or that and sleep until a completion (the ring-driven loop).
  enum class Enter { Submit, GetEvents, Wait };
  /// One io_uring_enter that issues the queued sends (and any other SQE waiting).
  void submit_queued(Enter how);
  /// One round of the loop: submit_queued(how), then reap the completions and retire the sends.
  void round(Enter how);
  /// The sends issued by the last submit_queued() are done (sent, or failed with a completion
  /// that reap() has seen): tell their sinks and return their buffers.
  void retire_sends();
  void reap();
  void on_recv(const io_uring_cqe& cqe, std::uint32_t slot, std::uint32_t gen);
  void on_send_failed(std::uint16_t bid);
  void arm_recv(std::uint32_t slot);
  /// The ring is created disabled (IORING_SETUP_R_DISABLED) because a single-issuer ring
  /// belongs to the thread that enables it: the shard thread, on first use.
  void enable();
  io_uring_sqe* sqe();
  void recycle(std::uint16_t bid);
  void flush_recycled();
  std::uint8_t* buffer(std::uint16_t bid) { return buffers + std::size_t{bid} * kUringBufSize; }

  asio::io_context& io;
  // Rung by other threads after they post to `io` (UringEngine::wake). Registered in asio's
  // reactor only so that init() can find that reactor's epoll descriptor; asio never waits on it.
  asio::posix::stream_descriptor doorbell;
  std::uint64_t doorbell_value = 0;      // IORING_OP_READ target
  int asio_fd = -1;                      // asio's epoll descriptor (found by init())
  bool asio_poll_armed = false;
  bool doorbell_armed = false;
  bool asio_ready = false;               // asio has work: io.poll() before sleeping
  io_uring ring{};
  bool ring_ready = false;
  io_uring_buf_ring* buf_ring = nullptr;
  std::uint8_t* buffers = nullptr;       // kUringBuffers * kUringBufSize, mmapped
  int recycled = 0;                      // buffers added since the last advance
  msghdr recv_template{};                // namelen for sockaddr_in6; no control
  std::vector<Port> ports;
  std::vector<std::uint32_t> free_ports;
  std::array<SendSlot, kUringBuffers> sends{};
  // Buffer ids of sends queued since the last submit_queued(), and of those it issued.
  std::array<std::uint16_t, kUringBuffers> queued{};
  std::size_t queued_count = 0;
  std::array<std::uint16_t, kUringBuffers> issued{};
  std::size_t issued_count = 0;
  bool sq_drained = true;                // the last submit left no SQE behind
  unsigned fixed_files = 0;              // size of the registered file table (0: none)
  bool send_to = false;                  // IORING_OP_SEND takes a destination (else SENDMSG)
  bool enabled = false;                  // rings enabled (on the shard thread, see enable())
  bool consumed = false;                 // the packet being delivered was handed to send()
  UringStats stats;
};

}  // namespace portico::media
