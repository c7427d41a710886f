#pragma once
// One-line structured logs: `ts level=info shard=1 call=a1b2 event=call.answered key=value ...`.
// Every line about a call carries its call id so `grep call=<id>` tells the whole story.
// The sink is process-wide and thread-safe (each line is one write(2)); configured once in main.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "portico/common/timer_service.hpp"

namespace portico::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// A key=value field. Holds a view or a number, never a copy: building the fields of a
/// disabled log line costs no allocation. Views must outlive the log call (temporaries do).
struct Field {
  std::string_view key;
  std::string_view text;
  long long number = 0;
  bool is_number = false;
  Field(std::string_view k, std::string_view v) : key(k), text(v) {}
  Field(std::string_view k, const std::string& v) : key(k), text(v) {}
  Field(std::string_view k, const char* v) : key(k), text(v) {}
  template <class N>
    requires std::is_integral_v<N>
  Field(std::string_view k, N n) : key(k), number(static_cast<long long>(n)), is_number(true) {}
};

/// Control thread only, before shards start.
void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);

/// Tags every later line written by the calling thread with `shard=<index>`.
void set_thread_shard(int index);

/// Writes one line if `lvl` is enabled. Safe from any thread. Text values are quoted when they
/// hold white space, '"' or '='; control characters (C0 and DEL) are written as escapes (\r,
/// \n, \t, \x1b...), so a value a peer sent can never start a line of its own.
void write(Level lvl, std::string_view event, std::initializer_list<Field> fields);

/// Writes a multi-line block (a full SIP message in a trace) after a header line.
void write_block(Level lvl, std::string_view event, std::initializer_list<Field> fields,
                 std::string_view block);

inline bool enabled(Level lvl) { return lvl >= level(); }

/// Caps the lines a peer can cause, one per packet or connection (docs/style.md, "Packet path":
/// counters are the signal, logs a sample): at most kPerSecond per second; the rest are
/// counted, and the first line allowed after some were suppressed is preceded by one
/// `log.suppressed count=N` line. One thread only.
class Limiter {
 public:
  static constexpr unsigned kPerSecond = 20;
  /// True if a line may be written now; false counts it as suppressed.
  bool allow(TimePoint now);
  /// Lines suppressed since construction.
  std::uint64_t suppressed() const { return suppressed_total_; }

 private:
  TimePoint window_{};
  unsigned used_ = 0;
  std::uint64_t suppressed_window_ = 0;  // not yet reported by a log.suppressed line
  std::uint64_t suppressed_total_ = 0;
};

/// The calling thread's limiter (one per shard thread), on the steady clock: every per-packet
/// line of a shard shares its budget, whichever layer writes it.
bool allow_limited();
/// Lines the calling thread's limiter suppressed (the shard's portico_log_suppressed_total).
std::uint64_t suppressed_lines();

/// A warning about one packet or connection: written only if the thread's limiter allows it.
inline void warn_limited(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Warn) && allow_limited()) {
    write(Level::Warn, e, f);
  }
}
/// The same for an info line about one packet (a request for an unknown dialog...).
inline void info_limited(std::string_view e, std::initializer_list<Field> f = {}) {
  if (enabled(Level::Info) && allow_limited()) {
    write(Level::Info, e, f);
  }
}

/// Refusals by one cap seen as episodes, so a cap logs ONE line when it starts refusing rather
/// than one per refused packet: refuse() is true for the first refusal after `quiet` without
/// any. Safe from any thread: one instance per cap serves every shard, so a flood spread over
/// the shards still logs one line. The time of the latest refusal is written at most every
/// quiet/10 (a shared cache line is not written per packet), which is the precision of "quiet".
class RefusalEpisodes {
 public:
  explicit RefusalEpisodes(Clock::duration quiet = std::chrono::seconds(10)) : quiet_(quiet) {}
  bool refuse(TimePoint now);

 private:
  static constexpr Clock::rep kNever = std::numeric_limits<Clock::rep>::min();
  Clock::duration quiet_;
  std::atomic<Clock::rep> last_{kNever};  // the latest refusal noted, since the clock's epoch
};

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Debug, e, f); }
inline void info(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Info, e, f); }
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Warn, e, f); }
inline void error(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Error, e, f); }

}  // namespace portico::log
