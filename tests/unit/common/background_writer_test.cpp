// BackgroundWriter<T> on its own: order, the bound and its drop count, reopen in its place,
// stop() draining, the drain deadline, items that do not count against the bound, the tick.

#include "portico/common/background_writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portico {
namespace {

using namespace std::chrono_literals;

/// Records what the writer thread hands over; "|" marks a reopen.
class Recorder : public BackgroundWriter<int>::Sink {
 public:
  void write(std::deque<int>& items) override {
    {
      std::lock_guard lock(mu_);
      ++writes_;
      for (int i : items) {
        seen_.push_back(std::to_string(i));
      }
    }
    if (const auto d = slow_.load(); d.count() > 0) {
      std::this_thread::sleep_for(d);  // a slow disk, without blocking the test's reads
    }
  }
  void abandon(std::deque<int>& items) override {
    std::lock_guard lock(mu_);
    abandoned_ += items.size();
  }
  void reopen_output() override {
    std::lock_guard lock(mu_);
    seen_.push_back("|");
  }

  std::vector<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::size_t abandoned() const {
    std::lock_guard lock(mu_);
    return abandoned_;
  }
  int writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  std::atomic<std::chrono::milliseconds> slow_{0ms};

 private:
  mutable std::mutex mu_;
  std::vector<std::string> seen_;
  std::size_t abandoned_ = 0;
  int writes_ = 0;
};

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    out.push_back(std::to_string(i));
  }
  return out;
}

bool wait_for(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(BackgroundWriter, WritesInPushOrder) {
  Recorder sink;
  BackgroundWriter<int> w(1000, 2s);
  w.start(sink);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(w.push(int{i}));
  }
  std::vector<int> batch{100, 101, 102};
  EXPECT_EQ(w.push(batch), 0u);
  EXPECT_TRUE(batch.empty());
  w.stop();
  EXPECT_EQ(sink.seen(), numbers(0, 103));
  EXPECT_EQ(w.dropped(), 0u);
}

TEST(BackgroundWriter, ConcurrentPushesAllArriveInEachThreadsOrder) {
  Recorder sink;
  BackgroundWriter<int> w(100000, 2s);
  w.start(sink);
  std::thread a([&] {
    for (int i = 0; i < 5000; ++i) {
      w.push(int{i});
    }
  });
  std::thread b([&] {
    for (int i = 5000; i < 10000; ++i) {
      w.push(int{i});
    }
  });
  a.join();
  b.join();
  w.stop();
  std::vector<int> from_a;
  std::vector<int> from_b;
  for (const auto& s : sink.seen()) {
    const int v = std::stoi(s);
    (v < 5000 ? from_a : from_b).push_back(v);
  }
  ASSERT_EQ(from_a.size(), 5000u);
  ASSERT_EQ(from_b.size(), 5000u);
  EXPECT_TRUE(std::is_sorted(from_a.begin(), from_a.end()));
  EXPECT_TRUE(std::is_sorted(from_b.begin(), from_b.end()));
}

TEST(BackgroundWriter, FullQueueRefusesAndCounts) {
  Recorder sink;
  BackgroundWriter<int> w(3, 2s);
  w.start(sink);
  w.pause();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(w.push(int{i}));
  }
  EXPECT_FALSE(w.push(3));
  std::vector<int> batch{4, 5};
  EXPECT_EQ(w.push(batch), 2u);
  EXPECT_EQ(w.dropped(), 3u);
  w.resume();
  ASSERT_TRUE(wait_for([&] { return sink.seen().size() == 3; }));
  EXPECT_TRUE(w.push(6));  // room again once the thread took the queue
  w.stop();
  EXPECT_EQ(sink.seen(), (std::vector<std::string>{"0", "1", "2", "6"}));
  EXPECT_EQ(w.add_dropped(2), 5u);
  EXPECT_EQ(w.dropped(), 5u);
}

TEST(BackgroundWriter, StopDrainsWhatIsQueuedThenRefuses) {
  Recorder sink;
  BackgroundWriter<int> w(100, 2s);
  w.start(sink);
  w.pause();  // nothing written before stop()
  for (int i = 0; i < 50; ++i) {
    w.push(int{i});
  }
  w.stop();  // overrides the pause
  EXPECT_EQ(sink.seen(), numbers(0, 50));
  EXPECT_FALSE(w.push(50));
  EXPECT_EQ(w.dropped(), 1u);
  w.stop();  // idempotent
}

TEST(BackgroundWriter, BatchTakenAfterTheDrainDeadlineIsAbandoned) {
  Recorder sink;
  sink.slow_ = 300ms;
  BackgroundWriter<int> w(100, 100ms);
  w.start(sink);
  w.push(1);
  ASSERT_TRUE(wait_for([&] { return sink.writes() == 1; }));  // the thread is in its slow write
  w.push(2);
  w.push(3);
  w.stop();  // the deadline passes during the slow write: 2 and 3 are abandoned
  EXPECT_EQ(sink.seen(), (std::vector<std::string>{"1"}));
  EXPECT_EQ(sink.abandoned(), 2u);
  EXPECT_TRUE(w.past_drain_deadline());
}

TEST(BackgroundWriter, ReopenHappensBetweenItemsPushedBeforeAndAfter) {
  Recorder sink;
  BackgroundWriter<int> w(100, 2s);
  w.start(sink);
  w.pause();  // both groups in one batch
  w.push(1);
  w.push(2);
  w.reopen();
  w.push(3);
  w.resume();
  ASSERT_TRUE(wait_for([&] { return sink.seen().size() == 4; }));
  EXPECT_EQ(sink.seen(), (std::vector<std::string>{"1", "2", "|", "3"}));
  w.reopen();  // nothing queued: a reopen alone
  ASSERT_TRUE(wait_for([&] { return sink.seen().size() == 5; }));
  w.pause();
  w.push(4);
  w.reopen();
  w.push(5);
  w.reopen();  // a second reopen before the thread acts moves the split to the later point
  w.push(6);
  w.stop();
  EXPECT_EQ(sink.seen(), (std::vector<std::string>{"1", "2", "|", "3", "|", "4", "5", "|", "6"}));
}

TEST(BackgroundWriter, UncountedItemsAreAlwaysTaken) {
  Recorder sink;
  BackgroundWriter<int> w(2, 2s, {}, [](const int& i) { return i >= 0; });
  w.start(sink);
  w.pause();
  std::vector<int> batch{-1, 1, 2, 3, -2};
  EXPECT_EQ(w.push(batch), 1u);  // only 3 is refused
  w.stop();
  EXPECT_EQ(sink.seen(), (std::vector<std::string>{"-1", "1", "2", "-2"}));
  EXPECT_EQ(w.dropped(), 1u);
}

TEST(BackgroundWriter, TickWritesEmptyBatchesWhenIdle) {
  Recorder sink;
  BackgroundWriter<int> w(10, 2s, 20ms);
  w.start(sink);
  EXPECT_TRUE(wait_for([&] { return sink.writes() >= 3; }));
  w.stop();
  EXPECT_TRUE(sink.seen().empty());
}

}  // namespace
}  // namespace portico
