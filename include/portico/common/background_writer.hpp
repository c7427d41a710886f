#pragma once
// BackgroundWriter<T>: the queue and the thread behind every writer that must keep the shards
// off the disk (CDR lines, pcap trace files). Shards never block on I/O (docs/style.md,
// "Threading"): a shard only moves its items into a bounded queue, under one short mutex held
// once per call of push(), so once per ended call or per batch of messages, never per packet.
// One thread takes everything queued at once and hands it to the Sink, which does the I/O.
//
//   shard 0 ──push()──┐
//   shard N ──push()──┴──> [ bounded deque, mu_ ] ──> writer thread ──> Sink::write(items)
//                                                       ^ Sink::reopen_output() in its place
//
// Bound: at most `capacity` counted items wait (a Sink may leave small bookkeeping items out
// of the count, see Counted); beyond it items are refused and added to dropped(). stop() (or
// the destructor) writes what is queued for at most the drain timeout; a batch taken after the
// deadline goes to Sink::abandon() instead.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace portico {

template <class T>
class BackgroundWriter {
 public:
  /// What the writer thread calls; implemented by the owner (CdrWriter, TraceWriter). Every
  /// method runs on the writer thread only, one at a time.
  class Sink {
   public:
    virtual ~Sink() = default;
    /// Writes `items` (in queue order; possibly empty when a tick interval is set).
    virtual void write(std::deque<T>& items) = 0;
    /// Drops `items` taken after the drain deadline (count them, log them).
    virtual void abandon(std::deque<T>& items) = 0;
    /// Reopens the output after reopen() (log rotation). Items pushed before reopen() were
    /// written before this call, later ones are written after it.
    virtual void reopen_output() {}
  };

  /// Whether an item counts against the capacity (nullptr: every item does).
  using Counted = bool (*)(const T&);

  /// `capacity`: counted items that may wait (0 refuses them all). `tick`: if not zero, the
  /// thread also wakes after that long without items and calls Sink::write() with none
  /// (periodic upkeep such as pruning old files).
  BackgroundWriter(std::size_t capacity, std::chrono::milliseconds drain_timeout,
                   std::chrono::milliseconds tick = {}, Counted counted = nullptr)
      : capacity_(capacity), drain_timeout_(drain_timeout), tick_(tick), counted_(counted) {}

  ~BackgroundWriter() { stop(); }

  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  /// Starts the writer thread on `sink`, which must outlive stop(). Once, by the owner, when
  /// the sink is ready to write.
  void start(Sink& sink) {
    sink_ = &sink;
    thread_ = std::thread([this] { run(); });
  }

  /// Writes what is queued (until the drain timeout), then joins the thread. Idempotent; the
  /// owner calls it first thing in its destructor, while the sink is still whole.
  void stop() {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        drain_deadline_ = std::chrono::steady_clock::now() + drain_timeout_;
      }
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  /// Queues `item`. Any thread; one short lock. Returns false (and counts a drop) if the
  /// queue is full or stopping.
  bool push(T&& item) {
    bool accepted = false;
    {
      std::lock_guard lock(mu_);
      accepted = admit(item);
      if (accepted) {
        queue_.push_back(std::move(item));
      }
    }
    if (accepted) {
      cv_.notify_one();
      return true;
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  /// Queues every item of `batch` that fits, in order, and clears it. Any thread; one short
  /// lock for the whole batch. Returns how many items were refused (counted as dropped).
  std::size_t push(std::vector<T>& batch) {
    std::size_t refused = 0;
    {
      std::lock_guard lock(mu_);
      for (T& item : batch) {
        if (admit(item)) {
          queue_.push_back(std::move(item));
        } else {
          ++refused;
        }
      }
    }
    batch.clear();
    cv_.notify_one();
    if (refused > 0) {
      dropped_.fetch_add(refused, std::memory_order_relaxed);
    }
    return refused;
  }

  /// Asks the thread to call Sink::reopen_output() after the items queued now. Any thread.
  void reopen() {
    {
      std::lock_guard lock(mu_);
      // A second reopen() before the thread acts moves the split to the later point.
      reopen_at_ = queue_.size();
    }
    cv_.notify_one();
  }

  /// Stopping and past the drain deadline: a Sink writing a long batch checks this between
  /// chunks and abandons the rest. Writer thread (any thread, in fact; one short lock).
  bool past_drain_deadline() const {
    std::lock_guard lock(mu_);
    return stopping_ && std::chrono::steady_clock::now() > drain_deadline_;
  }

  /// Items refused or abandoned since construction. Any thread; relaxed.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  /// Counts `n` more dropped items (the Sink's own losses: abandoned, orphaned). Any thread.
  std::uint64_t add_dropped(std::uint64_t n) {
    return dropped_.fetch_add(n, std::memory_order_relaxed) + n;
  }
  std::size_t capacity() const { return capacity_; }

  /// Test seam: the thread takes nothing from the queue until resumed. Any thread; stop()
  /// overrides a pause.
  void pause() {
    std::lock_guard lock(mu_);
    paused_ = true;
  }
  void resume() {
    {
      std::lock_guard lock(mu_);
      paused_ = false;
    }
    cv_.notify_one();
  }

 private:
  bool admit(const T& item) {  // mu_ held
    if (counted_ != nullptr && !counted_(item)) {
      return true;  // uncounted items are always taken (they bound themselves)
    }
    if (stopping_ || counted_in_queue_ >= capacity_) {
      return false;
    }
    ++counted_in_queue_;
    return true;
  }

  bool ready() const {  // mu_ held
    return stopping_ || (!paused_ && (!queue_.empty() || reopen_at_.has_value()));
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {  // ends once stopping_ is set and nothing is left: see stop()
      if (tick_.count() > 0) {
        cv_.wait_for(lock, tick_, [this] { return ready(); });
      } else {
        cv_.wait(lock, [this] { return ready(); });
      }
      if (stopping_ && queue_.empty() && !reopen_at_) {
        return;
      }
      if (paused_ && !stopping_) {
        continue;  // a tick while paused
      }
      // Take everything at once: the shards' lock is free for the whole write.
      std::deque<T> items;
      items.swap(queue_);
      counted_in_queue_ = 0;
      const std::optional<std::size_t> split = std::exchange(reopen_at_, std::nullopt);
      const bool late = stopping_ && std::chrono::steady_clock::now() > drain_deadline_;
      lock.unlock();
      deliver(items, split, late);
      lock.lock();
    }
  }

  /// Hands one batch to the sink, with the reopen (if any) at its place in the batch.
  void deliver(std::deque<T>& items, std::optional<std::size_t> split, bool late) {
    if (late) {
      sink_->abandon(items);
      return;
    }
    if (!split) {
      sink_->write(items);  // empty only on a tick
      return;
    }
    const auto at = static_cast<std::ptrdiff_t>(std::min(*split, items.size()));
    std::deque<T> later(std::make_move_iterator(items.begin() + at),
                        std::make_move_iterator(items.end()));
    items.erase(items.begin() + at, items.end());
    if (!items.empty()) {
      sink_->write(items);
    }
    sink_->reopen_output();
    if (!later.empty()) {
      sink_->write(later);
    }
  }

  const std::size_t capacity_;
  const std::chrono::milliseconds drain_timeout_;
  const std::chrono::milliseconds tick_;
  const Counted counted_;
  Sink* sink_ = nullptr;  // set by start(), before the thread exists

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_;                   // GUARDED_BY(mu_)
  std::size_t counted_in_queue_ = 0;      // GUARDED_BY(mu_)
  std::optional<std::size_t> reopen_at_;  // GUARDED_BY(mu_): queued items before reopen()
  bool paused_ = false;                   // GUARDED_BY(mu_)
  bool stopping_ = false;                 // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point drain_deadline_{};  // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> dropped_{0};

  std::thread thread_;  // started by start(), joined by stop()
};

}  // namespace portico
