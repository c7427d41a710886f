#pragma once
// TraceWriter: writes one pcap file per call, off the shard threads, and keeps the trace
// directory within its retention limits.
//
//   shard 0 ──submit(batch)──┐
//   shard N ──submit(batch)──┴──> [ bounded queue ] ──> writer thread ──> <dir>/<name>.pcap
//                                                          └──> prune oldest / too old
//
// The queue and the writer thread are a BackgroundWriter (common/background_writer.hpp).
//
// A shard hands over batches of events (one lock per batch, not per message): Begin names a
// call's file, Message carries one SIP message and its addresses, End closes the file and hands
// it to retention. Message events beyond the queue's capacity are dropped and counted; Begin
// and End are always taken (they are small and bounded by the number of calls), so a file is
// never left without an end. The pcap encoding (and its TCP sequence state) lives here.
//
// Retention: finished files are kept in creation order (those already in the directory at
// start-up are read in by modification time); after each batch and at least once a second the
// oldest are deleted while there are more than max_files or the oldest is older than max_age,
// at most kMaxPrunePerPass deletions per pass. Files of calls in progress are never deleted.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "portico/common/background_writer.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/trace/pcap.hpp"

namespace portico::trace {

/// One thing a shard tells the writer. `trace` is unique in the process (shard in the top bits).
struct TraceEvent {
  enum class Kind : std::uint8_t { Begin, Message, End };
  Kind kind = Kind::Message;
  std::uint64_t trace = 0;
  std::string text;  // Begin: the file name (no directory); Message: the SIP message
  PacketMeta meta;   // Message only
};

struct Retention {
  std::size_t max_files = 10000;
  Millis max_age{0};  // 0 = no age limit
};

/// Counters since construction; each a relaxed read.
struct TraceWriterStats {
  std::uint64_t files_written = 0;     ///< trace files finished (call over)
  std::uint64_t messages_written = 0;  ///< SIP messages that reached a file
  std::uint64_t messages_dropped = 0;  ///< refused (queue full) or abandoned at shutdown
  std::uint64_t write_errors = 0;      ///< SIP messages lost to a failed open or write
  std::uint64_t files_pruned = 0;      ///< deleted by retention
};

/// Any thread may submit; built and destroyed by the control thread.
class TraceWriter : private BackgroundWriter<TraceEvent>::Sink {
 public:
  static constexpr std::size_t kDefaultCapacity = 100'000;  // Message events queued
  static constexpr std::size_t kMaxPrunePerPass = 100;
  static constexpr std::size_t kMaxOpenFiles = 256;  // beyond: descriptors closed after a batch
  static constexpr std::chrono::milliseconds kDrainTimeout{2000};

  /// Creates `directory` if missing (throws std::runtime_error naming it if that fails or it
  /// is not writable), reads the trace files already there for retention, starts the thread.
  TraceWriter(std::string directory, Retention retention,
              std::size_t capacity = kDefaultCapacity);
  /// Writes what is queued (at most kDrainTimeout), closes every file, joins the thread.
  ~TraceWriter() override;
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  /// Takes the events of `batch` (leaves it empty). Any thread; one short push under the mutex.
  void submit(std::vector<TraceEvent>& batch);

  TraceWriterStats stats() const;
  const std::string& directory() const { return directory_; }

 private:
  struct OpenTrace;

  // BackgroundWriter<TraceEvent>::Sink, on the writer thread (also every second when idle):
  void write(std::deque<TraceEvent>& batch) override;
  void abandon(std::deque<TraceEvent>& batch) override;

  void write_batch(std::deque<TraceEvent>& batch);
  void flush(std::uint64_t id, OpenTrace& t);
  void finish(std::uint64_t id);
  void prune();
  void scan_existing();

  const std::string directory_;  // immutable
  const Retention retention_;    // immutable

  // Writer thread only:
  std::unordered_map<std::uint64_t, std::unique_ptr<OpenTrace>> open_;
  std::vector<std::uint64_t> touched_;  // traces with bytes to flush after this batch
  std::deque<std::pair<std::filesystem::file_time_type, std::string>> finished_;  // oldest first

  std::atomic<std::uint64_t> files_written_{0};
  std::atomic<std::uint64_t> messages_written_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> files_pruned_{0};
  std::atomic<std::int64_t> last_drop_warn_ns_{0};
  std::atomic<std::int64_t> last_error_log_ns_{0};

  // Message events count against the capacity; Begin and End are always taken. Its dropped()
  // is messages_dropped. Last: its thread starts once everything above is initialised.
  BackgroundWriter<TraceEvent> queue_;
};

/// "20261125-014224_k3j4h5g6f7.pcap": the call's start (UTC, to the second) and its log id, so
/// names sort by time and `ls | grep <call>` finds a call's file. Any thread.
std::string trace_file_name(WallClock::time_point start, std::string_view call_log_id);

}  // namespace portico::trace
