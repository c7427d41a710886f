#pragma once
// The shards of the process, and the one way a thread asks a shard to do something:
// invoke_on(i, fn) runs fn(Shard&) on shard i's own thread, in the order posted. A shard never
// keeps another shard's pointer or reads its members; what it may ask of another is the
// "what other shards ask" part of Shard's interface (docs/style.md, "Threading").
//
// Threads: the set is filled by add() on the control thread before any shard starts and
// emptied by stop_all() after every shard has stopped; in between it is read-only, so any
// thread may call size() and invoke_on() without a lock.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "portico/runtime/shard.hpp"

namespace portico::runtime {

class ShardSet {
 public:
  ShardSet() = default;
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;
  ~ShardSet() = default;  // a shard's destructor stops its loop and joins its thread

  /// Adds shard number size(). Control thread, before any shard starts.
  Shard& add(std::unique_ptr<Shard> shard) {
    shards_.push_back(std::move(shard));
    return *shards_.back();
  }
  std::uint16_t size() const { return static_cast<std::uint16_t>(shards_.size()); }
  bool empty() const { return shards_.empty(); }
  /// Shard `i` itself, for the control thread (start, stop, post) and for another shard's
  /// bind() (media_host(), before any shard thread starts).
  Shard& at(std::uint16_t i) const { return *shards_.at(i); }

  /// Runs `fn(Shard&)` on shard `i`'s thread, after everything posted to it before. Any thread.
  /// `fn` may be move-only (it is moved into the shard's queue, not copied).
  template <class F>
  void invoke_on(std::uint16_t i, F&& fn) const {
    Shard& shard = *shards_[i];
    shard.post([&shard, fn = std::forward<F>(fn)]() mutable { fn(shard); });
  }
  /// invoke_on() for every shard (a copy of `fn` each). Any thread.
  template <class F>
  void invoke_on_all(const F& fn) const {
    for (std::uint16_t i = 0; i < size(); ++i) {
      invoke_on(i, F(fn));
    }
  }

  /// Stops every shard, highest index first, then destroys them. Control thread. Media shards
  /// are the lowest: the streams of the shards stopped before them close their sockets there
  /// (posted, run before the media shard's own stop), and a stopped shard's object stays until
  /// every thread is joined, so a late post to it still lands.
  void stop_all() {
    for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) {
      (*it)->stop();
    }
    while (!shards_.empty()) {
      shards_.pop_back();
    }
  }

 private:
  std::vector<std::unique_ptr<Shard>> shards_;  // RO between the first start and stop_all()
};

}  // namespace portico::runtime
