#pragma once
// UringEngine: the io_uring receive/send path of one shard's media relay.
//
// The epoll path costs two system calls per relayed packet (recvmmsg on the socket that became
// readable, sendmmsg on its partner) plus the readiness wake-up, because at 50 packets/s per
// stream a wake-up rarely finds more than one packet on the same socket. With io_uring every
// media socket has a multishot recvmsg armed once, reading into a shared ring of provided
// buffers; a wake-up reaps the completions of all sockets at once, runs the same relay stages,
// and queues one sendmsg per packet that leaves in the same io_uring_enter as every other
// packet of the batch. System calls per packet fall below one in each direction.
//
// The shard's thread sleeps in the ring itself (run()): one io_uring_enter per wake-up submits
// the sends of the last batch and waits for the next packets, asio's epoll descriptor (a
// multishot poll) or the doorbell other threads ring after posting. Signalling, timers and the
// relay still share one thread and nothing is locked. Receives run as deferred task work
// (IORING_SETUP_DEFER_TASKRUN) inside that enter, so a packet costs no wake-up or system call
// of its own. Nothing else wakes for that work (an eventfd registered with the ring is
// signalled late or not at all), so the engine only exists where run() can work: where
// io_uring is unavailable (old kernel, seccomp, io_uring_disabled) or asio's reactor cannot be
// found, create() says why and the shard keeps the epoll path.

#include <asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace portico::media {

/// Counters of one engine (shard-local, read via a shard post like every other stat).
struct UringStats {
  std::uint64_t wakes = 0;        // wake-ups: returns of run()'s wait
  std::uint64_t completions = 0;  // CQEs reaped
  std::uint64_t submits = 0;      // io_uring_enter calls made to submit
  std::uint64_t rearms = 0;       // multishot receives re-armed (buffer ring ran dry, errors)
  std::uint64_t no_buffer = 0;    // receives that found no free buffer (packet left in socket)
  std::uint64_t sq_full = 0;      // sends that waited for a submit because the SQ was full
};

class UringEngine {
 public:
  /// The engine for a shard running `io`, or nullptr with `why` saying what failed.
  /// Shard-local from then on: every use on the thread that runs `io`.
  static std::unique_ptr<UringEngine> create(asio::io_context& io, std::string& why);
  ~UringEngine();
  UringEngine(const UringEngine&) = delete;
  UringEngine& operator=(const UringEngine&) = delete;

  const UringStats& stats() const;

  /// Runs the shard's thread in the ring instead of in asio (see the top of this file): sleeps
  /// in one io_uring_enter for packets, asio's readiness and posts from other threads, and
  /// returns when `io` is stopped.
  void run();
  /// One round of that loop without sleeping: asio's ready handlers, then one io_uring_enter
  /// that issues the queued sends and runs the waiting receives, their relay, and the retiring
  /// of the sends it issued. The sends it queued leave at the next round. For callers that
  /// own the loop (tests); the shard uses run().
  void poll();
  /// Thread-safe: another thread posted to the shard's io_context; the ring-driven loop must
  /// look at asio. (Asio itself only wakes a thread blocked inside asio.)
  void wake();

  struct Impl;  // private to the media module (uring_impl.hpp)
  Impl& impl() { return *impl_; }

 private:
  explicit UringEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace portico::media
