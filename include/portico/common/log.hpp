#pragma once
// One-line structured logs: `ts level=info shard=1 call=a1b2 event=call.answered key=value ...`.
// Every line about a call carries its call id so `grep call=<id>` tells the whole story.
// The sink is process-wide and thread-safe (each line is one write(2)); configured once in main.

#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

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

/// Writes one line if `lvl` is enabled. Safe from any thread.
void write(Level lvl, std::string_view event, std::initializer_list<Field> fields);

/// Writes a multi-line block (a full SIP message in a trace) after a header line.
void write_block(Level lvl, std::string_view event, std::initializer_list<Field> fields,
                 std::string_view block);

inline bool enabled(Level lvl) { return lvl >= level(); }

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Debug, e, f); }
inline void info(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Info, e, f); }
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Warn, e, f); }
inline void error(std::string_view e, std::initializer_list<Field> f = {}) { write(Level::Error, e, f); }

}  // namespace portico::log
