// AsioTimerService keeps one steady_timer per armed timer. Signalling timers are few per call
// (a handful per transaction), so a timer object each is simpler than a wheel and cheap enough.

#include "portico/common/timer_service.hpp"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

namespace portico {

struct AsioTimerService::Impl {
  explicit Impl(asio::io_context& ctx) : io(ctx) {}
  asio::io_context& io;
  TimerId next = 1;
  std::unordered_map<TimerId, std::unique_ptr<asio::steady_timer>> timers;
};

AsioTimerService::AsioTimerService(asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}

AsioTimerService::~AsioTimerService() {
  for (auto& [id, t] : impl_->timers) {
    t->cancel();
  }
}

TimePoint AsioTimerService::now() const { return Clock::now(); }

TimerId AsioTimerService::start(Millis delay, std::function<void()> fn) {
  TimerId id = impl_->next++;
  auto timer = std::make_unique<asio::steady_timer>(impl_->io, delay);
  Impl* impl = impl_.get();
  // The handler captures the id, not the timer: a cancelled timer's handler finds no entry.
  timer->async_wait([impl, id, fn = std::move(fn)](const std::error_code& ec) {
    if (ec) {
      return;
    }
    auto it = impl->timers.find(id);
    if (it == impl->timers.end()) {
      return;
    }
    impl->timers.erase(it);
    fn();
  });
  impl_->timers.emplace(id, std::move(timer));
  return id;
}

void AsioTimerService::cancel(TimerId id) {
  auto it = impl_->timers.find(id);
  if (it == impl_->timers.end()) {
    return;
  }
  it->second->cancel();
  impl_->timers.erase(it);
}

std::size_t AsioTimerService::armed() const { return impl_->timers.size(); }

TimerId ManualTimerService::start(Millis delay, std::function<void()> fn) {
  TimerId id = next_++;
  TimePoint at = now_ + delay;
  queue_.emplace(at, id);
  by_id_.emplace(id, std::make_pair(at, std::move(fn)));
  return id;
}

void ManualTimerService::cancel(TimerId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return;
  }
  auto range = queue_.equal_range(it->second.first);
  for (auto q = range.first; q != range.second; ++q) {
    if (q->second == id) {
      queue_.erase(q);
      break;
    }
  }
  by_id_.erase(it);
}

void ManualTimerService::advance(Millis by) {
  TimePoint target = now_ + by;
  while (!queue_.empty() && queue_.begin()->first <= target) {
    auto [at, id] = *queue_.begin();
    queue_.erase(queue_.begin());
    auto it = by_id_.find(id);
    auto fn = std::move(it->second.second);
    by_id_.erase(it);
    now_ = at;
    fn();
  }
  now_ = target;
}

}  // namespace portico
