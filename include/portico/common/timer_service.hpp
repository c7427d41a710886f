#pragma once
// The clock and timers a shard runs on. Production code uses AsioTimerService (steady_timer on
// the shard's io_context); tests use ManualTimerService and advance time by hand, so the
// RFC 3261 timer schedules are checked to the millisecond without sleeping.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

namespace asio {
class io_context;
}

namespace portico {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

/// Opaque timer id; 0 is "no timer".
using TimerId = std::uint64_t;

/// Shard-local: every method must be called on the owning shard's thread.
class TimerService {
 public:
  virtual ~TimerService() = default;
  virtual TimePoint now() const = 0;
  /// Runs `fn` once after `delay`, unless cancelled first. Never calls `fn` re-entrantly.
  virtual TimerId start(Millis delay, std::function<void()> fn) = 0;
  /// Cancelling an expired or unknown id is a no-op.
  virtual void cancel(TimerId id) = 0;
  /// Number of armed timers (leak checks in tests).
  virtual std::size_t armed() const = 0;
};

/// RAII handle: cancels its timer when destroyed or re-armed. Move-only.
class Timer {
 public:
  Timer() = default;
  explicit Timer(TimerService& svc) : svc_(&svc) {}
  Timer(Timer&& o) noexcept : svc_(o.svc_), id_(o.id_) { o.id_ = 0; }
  Timer& operator=(Timer&& o) noexcept {
    if (this != &o) { cancel(); svc_ = o.svc_; id_ = o.id_; o.id_ = 0; }
    return *this;
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { cancel(); }

  void bind(TimerService& svc) { cancel(); svc_ = &svc; }
  void start(Millis delay, std::function<void()> fn) {
    cancel();
    id_ = svc_->start(delay, std::move(fn));
  }
  void cancel() {
    if (id_ != 0 && svc_ != nullptr) { svc_->cancel(id_); }
    id_ = 0;
  }
  bool armed() const { return id_ != 0; }
  /// Called by the owner from inside the callback, so a fired timer is not "armed".
  void fired() { id_ = 0; }

 private:
  TimerService* svc_ = nullptr;  // not owned; outlives the timer
  TimerId id_ = 0;
};

/// Timers on an asio::io_context. Shard-local.
class AsioTimerService final : public TimerService {
 public:
  explicit AsioTimerService(asio::io_context& io);
  ~AsioTimerService() override;
  TimePoint now() const override;
  TimerId start(Millis delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;
  std::size_t armed() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Virtual time for tests: nothing fires until advance() is called.
class ManualTimerService final : public TimerService {
 public:
  TimePoint now() const override { return now_; }
  TimerId start(Millis delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;
  std::size_t armed() const override { return by_id_.size(); }
  /// Moves time forward, firing due timers in deadline order (callbacks may arm new ones).
  void advance(Millis by);

 private:
  TimePoint now_{};
  TimerId next_ = 1;
  std::multimap<TimePoint, TimerId> queue_;
  std::unordered_map<TimerId, std::pair<TimePoint, std::function<void()>>> by_id_;
};

}  // namespace portico
