#include "portico/b2bua/trunk_usage.hpp"

namespace portico::b2bua {

std::atomic<int>* TrunkUsage::counter(const std::string& target) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = counters_[target];
  if (!slot) {
    slot = std::make_unique<std::atomic<int>>(0);
  }
  return slot.get();
}

bool TrunkUsage::try_acquire(const std::string& target, int max, Slot& out) {
  std::atomic<int>* c = counter(target);
  int now = c->fetch_add(1, std::memory_order_relaxed);
  if (max > 0 && now >= max) {
    c->fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  out = Slot(c);
  return true;
}

int TrunkUsage::in_use(const std::string& target) {
  return counter(target)->load(std::memory_order_relaxed);
}

}  // namespace portico::b2bua
