#pragma once
// RefusalLog: when a cap logs. A cap logs one line when it starts refusing and one when it has
// refused nothing for `quiet`, however many requests it refuses in between and whichever
// sources they come from (docs/style.md: one log line when a cap starts refusing, never one
// per packet). Plain value; owned by the shard-local object that enforces the cap.

#include "portico/common/timer_service.hpp"

namespace portico {

class RefusalLog {
 public:
  static constexpr Millis kQuiet{10000};

  /// A request was refused at `now`: true if this starts an episode (log it).
  bool refused(TimePoint now) {
    const bool starts = !refusing_;
    refusing_ = true;
    last_ = now;
    return starts;
  }
  /// A request passed the cap at `now`: true if this ends an episode (log it).
  bool passed(TimePoint now) {
    if (!refusing_ || now - last_ < kQuiet) {
      return false;
    }
    refusing_ = false;
    return true;
  }

 private:
  bool refusing_ = false;
  TimePoint last_{};
};

}  // namespace portico
