#pragma once
// CdrWriter: appends CallRecords as JSON lines to a file, off the shard threads.
//
// Shards must never block on disk (docs/style.md, "Threading"), so a shard only moves its
// record into a bounded queue (common/background_writer.hpp), under one short mutex held for
// the push. That is one lock per *ended call*, never per packet or per SIP message, so the
// contention is negligible. One writer thread formats and appends whatever has queued up, one
// write(2) per chunk of lines.
//
//   shard 0 ──submit()──┐
//   shard 1 ──submit()──┼──> [ BackgroundWriter queue ] ──> writer thread ──> write(2) ──> file
//   shard N ──submit()──┘                                   ^ reopen() (SIGHUP) applied here
//
// Full queue: the record is dropped and counted; a warning is logged at most once a second.
// Disk errors: counted and logged (rate-limited) on the writer thread; nothing throws at a caller.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "portico/cdr/record.hpp"
#include "portico/common/background_writer.hpp"

namespace portico::cdr {

/// Counters since construction. Each is a separate relaxed read: a snapshot, not a transaction.
struct CdrStats {
  std::uint64_t written = 0;       ///< Records whose line reached the file.
  std::uint64_t dropped = 0;       ///< Records refused (queue full) or abandoned at shutdown.
  std::uint64_t write_errors = 0;  ///< Records lost to a failed write (disk full, I/O error).
};

/// Size-based rotation (policy `cdr.max_size`, `cdr.keep`), done by the writer thread itself:
/// path -> path.1 -> ... -> path.<keep> (the oldest is deleted). max_bytes 0 = never.
struct CdrRotation {
  std::uint64_t max_bytes = 0;
  int keep = 10;
};

/// Owns the CDR file and its writer thread. Built and destroyed by the control thread;
/// `submit()`, `reopen()` and `stats()` are safe from any thread.
class CdrWriter : private BackgroundWriter<CallRecord>::Sink {
 public:
  static constexpr std::size_t kDefaultCapacity = 100'000;
  /// How long the destructor keeps writing queued records before abandoning the rest.
  static constexpr std::chrono::milliseconds kDrainTimeout{2000};

  /// Opens `path` for appending (created 0640 if missing; its directory must exist) and starts
  /// the writer thread. Control thread, at start-up. Throws std::runtime_error naming the path
  /// and the errno text if the file cannot be opened. `capacity` bounds the queue (tests use
  /// a tiny one); it must be at least 1.
  explicit CdrWriter(std::string path, std::size_t capacity = kDefaultCapacity,
                     CdrRotation rotation = {});

  /// Writes what is queued (for at most kDrainTimeout, the rest counts as dropped), then joins
  /// the writer thread and closes the file. Control thread, at shutdown, after the shards
  /// stopped submitting.
  ~CdrWriter() override;

  CdrWriter(const CdrWriter&) = delete;
  CdrWriter& operator=(const CdrWriter&) = delete;

  /// Queues `record` for writing. Any thread; never blocks beyond one short push under the
  /// mutex. Returns false (and counts a drop) if the queue is full or the writer is stopping.
  bool submit(CallRecord&& record);

  /// Asks the writer thread to reopen the path (log rotation: logrotate renamed the file, then
  /// SIGHUP reached Portico). Any thread; returns at once. Records submitted before this call
  /// go to the old file, later ones to the new file. If the path cannot be reopened the old
  /// file stays in use and an error is logged.
  void reopen();

  /// Any thread.
  CdrStats stats() const;

  /// The configured path. Any thread (immutable).
  const std::string& path() const { return path_; }

  /// Test seam: the writer thread stops taking records from the queue until resumed, so tests
  /// can fill the queue deterministically. Any thread. The destructor overrides a pause.
  void pause_ForTest();
  void resume_ForTest();

 private:
  // BackgroundWriter<CallRecord>::Sink, on the writer thread:
  void write(std::deque<CallRecord>& records) override;
  void abandon(std::deque<CallRecord>& records) override;
  void reopen_output() override;

  /// Counts records[begin..] as dropped: the drain deadline passed.
  void abandon_from(const std::deque<CallRecord>& records, std::size_t begin);
  void write_chunk(const std::deque<CallRecord>& records, std::size_t begin, std::size_t end);
  /// The file reached rotation_.max_bytes: shift the numbered files and start a new one.
  void rotate_by_size();
  void warn_dropped(std::uint64_t dropped_total);

  const std::string path_;      // immutable after construction
  int fd_ = -1;                 // writer thread only (constructor/destructor outside its life)
  bool torn_line_ = false;      // writer thread only: a failed write left half a line
  const CdrRotation rotation_;  // immutable after construction
  std::uint64_t file_bytes_ = 0;  // writer thread only: size of the file fd_ appends to

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::int64_t> last_drop_warn_ns_{0};  // rate limit for the drop warning
  std::atomic<std::int64_t> last_error_log_ns_{0};  // rate limit for write-error logs

  BackgroundWriter<CallRecord> queue_;  // last: its thread starts once the file is open
};

}  // namespace portico::cdr
