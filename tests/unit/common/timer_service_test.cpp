#include "portico/common/timer_service.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace portico {
namespace {

TEST(ManualTimerService, FiresInDeadlineOrderAndOnlyWhenDue) {
  ManualTimerService t;
  std::vector<int> fired;
  t.start(Millis(300), [&] { fired.push_back(3); });
  t.start(Millis(100), [&] { fired.push_back(1); });
  t.start(Millis(200), [&] { fired.push_back(2); });
  t.advance(Millis(99));
  EXPECT_TRUE(fired.empty());
  t.advance(Millis(150));
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  t.advance(Millis(100));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(t.armed(), 0u);
}

TEST(ManualTimerService, CancelledTimerNeverFires) {
  ManualTimerService t;
  bool fired = false;
  TimerId id = t.start(Millis(10), [&] { fired = true; });
  t.cancel(id);
  t.advance(Millis(20));
  EXPECT_FALSE(fired);
}

TEST(ManualTimerService, CallbackMayArmANewTimerSeenInSameAdvance) {
  ManualTimerService t;
  int count = 0;
  std::function<void()> again = [&] {
    ++count;
    if (count < 3) {
      t.start(Millis(10), again);
    }
  };
  t.start(Millis(10), again);
  t.advance(Millis(100));
  EXPECT_EQ(count, 3);
}

TEST(Timer, RaiiCancelsOnDestruction) {
  ManualTimerService t;
  bool fired = false;
  {
    Timer timer(t);
    timer.start(Millis(5), [&] { fired = true; });
    EXPECT_EQ(t.armed(), 1u);
  }
  EXPECT_EQ(t.armed(), 0u);
  t.advance(Millis(10));
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace portico
