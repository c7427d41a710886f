#pragma once
// EpollSet: the epoll path's readiness for every media socket of one shard, in one descriptor.
//
// Waiting on each socket through asio costs an epoll_ctl (asio re-arms the descriptor on every
// async_wait) and an asio operation per packet, because at 50 packets/s a socket is readable
// for one datagram at a time. Here every socket is registered once, edge-triggered, in a
// shard-owned epoll set, and the shard's asio loop waits on the set's descriptor: one re-arm
// per wake-up, whatever the number of sockets that became readable. On a wake-up one
// epoll_wait (zero timeout) lists the ready sockets and each is drained (recvmmsg until the
// queue is empty) by its sink.
//
// Shard-local: created, used and destroyed on the thread that runs the shard's io_context.
// Nothing on the wake-up path allocates.

#include <sys/epoll.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace portico::media {

/// Who drains one registered socket.
class ReadySink {
 public:
  virtual ~ReadySink() = default;
  /// Socket `index` of this sink became readable (edge): read it until the kernel reports an
  /// empty queue, or schedule the rest of the drain, since no further edge comes for what is
  /// already queued.
  virtual void on_ready(std::size_t index) = 0;
};

/// Counters of one set (shard-local).
struct EpollSetStats {
  std::uint64_t wakes = 0;   // wake-ups of the shard for the set
  std::uint64_t events = 0;  // socket readiness events handled
};

class EpollSet {
 public:
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;

  /// The set for a shard running `io`, or nullptr with `why` saying what failed.
  static std::unique_ptr<EpollSet> create(asio::io_context& io, std::string& why);
  ~EpollSet();
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;

  /// Registers `fd` (non-blocking, owned by the caller) for socket `index` of `sink`. Returns
  /// its slot, or kNoSlot if the kernel refused (the caller then waits on the socket itself).
  std::uint32_t add(ReadySink* sink, std::size_t index, int fd);
  /// Unregisters a slot before its socket closes; events already listed for it are ignored.
  void remove(std::uint32_t slot);

  const EpollSetStats& stats() const { return stats_; }

 private:
  struct Entry {
    ReadySink* sink = nullptr;  // nullptr: free
    std::size_t index = 0;
    int fd = -1;
    std::uint32_t gen = 0;      // bumped on every add: stale events of a reused slot are ignored
  };
  static constexpr int kEvents = 256;  // ready sockets taken per epoll_wait
  static constexpr int kMaxRounds = 4; // then yield to the rest of the shard

  EpollSet(asio::io_context& io, int epfd);
  void arm();
  void on_wake();

  asio::io_context& io_;
  asio::posix::stream_descriptor set_;  // the epoll descriptor, owned
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> free_;
  std::array<epoll_event, kEvents> events_{};
  EpollSetStats stats_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace portico::media
