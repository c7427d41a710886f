#pragma once
// Concurrent-call counters per route target, shared by all shards. The map is looked up under a
// mutex once per call set-up; the counter itself is an atomic the call holds until it ends, so
// no shard ever waits on another during a call.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

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

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<int>>> counters_;  // GUARDED_BY(mu_)
  std::atomic<int>* counter(const std::string& target);
};

}  // namespace portico::b2bua
