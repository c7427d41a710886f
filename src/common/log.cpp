// Log sink: formats a whole line into a thread-local buffer and emits it with one write(2) so
// lines from different shards never interleave, without taking a lock.

#include "portico/common/log.hpp"

#include "portico/common/sdes_redact.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace portico::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};
thread_local int t_shard = -1;

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "?";
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// A control character as an escape: \r \n \t by name, the rest as \xNN (ESC is \x1b).
void append_escape(std::string& out, char c) {
  switch (c) {
    case '\r':
      out.append("\\r");
      return;
    case '\n':
      out.append("\\n");
      return;
    case '\t':
      out.append("\\t");
      return;
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  out.append("\\x");
  out.push_back(kHex[u >> 4]);
  out.push_back(kHex[u & 0xf]);
}

// Values may come from a peer (a header, a reason phrase): no byte of one may end the line,
// move the cursor or reach the terminal as a control sequence.
void append_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    quote = quote || c == ' ' || c == '"' || c == '=' || is_control(c);
  }
  if (!quote) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (is_control(c)) {
      append_escape(out, c);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// A line of a traced message: kept as it is but for control characters (tabs stay).
void append_block_line(std::string& out, std::string_view line) {
  for (char c : line) {
    if (is_control(c) && c != '\t') {
      append_escape(out, c);
    } else {
      out.push_back(c);
    }
  }
}

thread_local Limiter t_limiter;

void format_header(std::string& out, Level lvl, std::string_view event,
                   std::initializer_list<Field> fields) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  out.append(ts);
  out.append(" level=");
  out.append(level_name(lvl));
  if (t_shard >= 0) {
    out.append(" shard=");
    out.append(std::to_string(t_shard));
  }
  out.append(" event=");
  out.append(event);
  for (const auto& f : fields) {
    out.push_back(' ');
    out.append(f.key);
    out.push_back('=');
    if (f.is_number) {
      char buf[24];
      int n = std::snprintf(buf, sizeof buf, "%lld", f.number);
      out.append(buf, static_cast<size_t>(n));
    } else {
      append_value(out, f.text);
    }
  }
}

void emit(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) {
      return;  // nowhere else to report a failing stderr
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

void set_level(Level l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

bool parse_level(std::string_view t, Level& out) {
  if (t == "debug") { out = Level::Debug; return true; }
  if (t == "info") { out = Level::Info; return true; }
  if (t == "warn") { out = Level::Warn; return true; }
  if (t == "error") { out = Level::Error; return true; }
  return false;
}

void set_thread_shard(int index) { t_shard = index; }

bool Limiter::allow(TimePoint now) {
  if (now - window_ >= std::chrono::seconds(1)) {
    window_ = now;
    used_ = 0;
  }
  if (used_ >= kPerSecond) {
    ++suppressed_window_;
    ++suppressed_total_;
    return false;
  }
  ++used_;
  if (suppressed_window_ > 0) {
    write(Level::Warn, "log.suppressed", {{"count", suppressed_window_}});
    suppressed_window_ = 0;
  }
  return true;
}

bool allow_limited() { return t_limiter.allow(Clock::now()); }

std::uint64_t suppressed_lines() { return t_limiter.suppressed(); }

bool RefusalEpisodes::refuse(TimePoint now) {
  const Clock::rep t = now.time_since_epoch().count();
  Clock::rep last = last_.load(std::memory_order_relaxed);
  if (last == kNever || t - last >= quiet_.count()) {
    // Of the shards that see the episode start at once, the one that moves the time logs.
    return last_.compare_exchange_strong(last, t, std::memory_order_relaxed);
  }
  if (t - last >= quiet_.count() / 10) {
    last_.compare_exchange_strong(last, t, std::memory_order_relaxed);
  }
  return false;
}

void write(Level lvl, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(lvl)) {
    return;
  }
  thread_local std::string line;
  line.clear();
  format_header(line, lvl, event, fields);
  line.push_back('\n');
  emit(line);
}

void write_block(Level lvl, std::string_view event, std::initializer_list<Field> fields,
                 std::string_view block) {
  if (!enabled(lvl)) {
    return;
  }
  thread_local std::string line;
  line.clear();
  format_header(line, lvl, event, fields);
  line.push_back('\n');
  // A traced message may carry SDES keys (a=crypto inline:): they never reach the log.
  const std::string redacted = has_crypto_keys(block) ? redact_crypto_keys(block) : std::string();
  if (!redacted.empty()) {
    block = redacted;
  }
  // Indent the block so a reader (and grep -A) sees where it ends.
  size_t start = 0;
  while (start < block.size()) {
    size_t end = block.find('\n', start);
    std::string_view l = block.substr(start, end == std::string_view::npos ? end : end - start);
    if (!l.empty() && l.back() == '\r') {
      l.remove_suffix(1);
    }
    line.append("    | ");
    append_block_line(line, l);
    line.push_back('\n');
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  emit(line);
}

}  // namespace portico::log
