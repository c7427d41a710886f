#pragma once
// Concurrent-call counters per route target, shared by all shards. The map is looked up under a
// mutex once per call set-up; the counter itself is an atomic the call holds until it ends, so
// no shard ever waits on another during a call.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "portico/common/timer_service.hpp"
#include "portico/common/token_bucket.hpp"

namespace portico::b2bua {

class TrunkUsage {
 public:
  /// A held slot; releases it when destroyed. Move-only.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(std::atomic<int>* c) : counter_(c) {}
    Slot(Slot&& o) noexcept : counter_(o.counter_) { o.counter_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) { release(); counter_ = o.counter_; o.counter_ = nullptr; }
      return *this;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    void release() {
      if (counter_ != nullptr) { counter_->fetch_sub(1, std::memory_order_relaxed); }
      counter_ = nullptr;
    }
    bool held() const { return counter_ != nullptr; }

   private:
    std::atomic<int>* counter_ = nullptr;  // owned by TrunkUsage, which outlives every call
  };

  /// Takes a slot on `target` if fewer than `max` (0 = unlimited) are in use. Any thread.
  bool try_acquire(const std::string& target, int max, Slot& out);
  int in_use(const std::string& target);

  // Call rates per peer and direction (trunk_rate.cpp), with the same one lock per call
  // set-up. One bucket for all shards, rather than rate/N per shard: carriers allow 1-15 CPS,
  // and N shards each holding 1/N of 5 CPS would refuse or delay calls while the trunk's real
  // rate sits unused whenever calls do not spread evenly over the shards.

  /// What reserve_rate() decided.
  struct RateVerdict {
    bool admitted = true;
    Nanos wait{0};  // admitted: until its reserved turn (0 = now); refused: until one is free
  };
  /// Reserves the next call set-up on the bucket `key` ("in/<peer>", "out/<target>") if its
  /// turn comes within `max_wait`; beyond, reserves nothing. A reserved turn is used or lost,
  /// never handed back (a cancelled queued call), so the peer never sees more than `rate`.
  /// Any thread.
  RateVerdict reserve_rate(const std::string& key, const RateSpec& rate, TimePoint now,
                           Nanos max_wait);
  /// A refusal under `key` ("in/<peer>"...): true when it should be logged, that is when no
  /// refusal of `key` was logged in the last 10 seconds (one line while a limit keeps
  /// refusing, not one per call). Any thread.
  bool log_refusal(const std::string& key, TimePoint now);

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<int>>> counters_;  // GUARDED_BY(mu_)
  std::map<std::string, TokenBucket> rates_;                           // GUARDED_BY(mu_)
  std::map<std::string, TimePoint> refusals_logged_;                   // GUARDED_BY(mu_)
  std::atomic<int>* counter(const std::string& target);
};

}  // namespace portico::b2bua
