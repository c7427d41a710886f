// CallRecord helpers and its JSON-lines encoding.
//
// The encoder is hand-written rather than pulled from a JSON library: the record is flat, the
// key order is part of the file format (operators grep and cut these files), and the only
// subtle part, string escaping, must also survive bytes a peer put into a SIP header.

#include "portico/cdr/record.hpp"

#include <cstdio>
#include <ctime>
#include <type_traits>

namespace portico::cdr {
namespace {

using std::chrono::milliseconds;

milliseconds non_negative_ms(CallRecord::Clock::duration d) {
  // system_clock can step (NTP); a negative CDR duration would only confuse billing.
  if (d.count() < 0) {
    return milliseconds{0};
  }
  return std::chrono::duration_cast<milliseconds>(d);
}

/// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is ill-formed.
/// Follows Unicode Table 3-7, so overlongs, surrogates and code points above U+10FFFF are
/// rejected: a strict JSON parser would reject them too.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 == 0xE0) {
    len = 3;
    lo = 0xA0;
  } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    len = 3;
  } else if (b0 == 0xED) {
    len = 3;
    hi = 0x9F;
  } else if (b0 == 0xF0) {
    len = 4;
    lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    len = 4;
  } else if (b0 == 0xF4) {
    len = 4;
    hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) {
    return 0;
  }
  for (std::size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) {
      return 0;
    }
  }
  return len;
}

void append_escaped_ascii(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (c < 0x20) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
    out += buf;
    return;
  }
  out += static_cast<char>(c);
}

void add_key(std::string& out, std::string_view key) {
  if (out.size() > 1) {
    out += ',';
  }
  out += '"';
  out += key;  // keys are our own ASCII literals: no escaping needed
  out += "\":";
}

void add_string(std::string& out, std::string_view key, std::string_view value) {
  add_key(out, key);
  append_json_string(out, value);
}

void add_number(std::string& out, std::string_view key, long long value) {
  add_key(out, key);
  out += std::to_string(value);
}

/// A count (integer) or a measurement (one decimal), or null when absent.
template <class T>
void add_optional(std::string& out, std::string_view key, const std::optional<T>& value) {
  if (!value) {
    add_key(out, key);
    out += "null";
  } else if constexpr (std::is_floating_point_v<T>) {
    add_key(out, key);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", *value);
    out += buf;
  } else {
    add_number(out, key, static_cast<long long>(*value));
  }
}

void add_time(std::string& out, std::string_view key, CallRecord::TimePoint t) {
  add_key(out, key);
  out += '"';
  out += format_utc_ms(t);
  out += '"';
}

}  // namespace

milliseconds CallRecord::duration() const {
  if (!answer) {
    return milliseconds{0};
  }
  return non_negative_ms(end - *answer);
}

milliseconds CallRecord::setup_time() const {
  return non_negative_ms((answer ? *answer : end) - start);
}

std::string format_utc_ms(CallRecord::TimePoint t) {
  // floor, not duration_cast: a time before the epoch must round to the past, like the
  // seconds field does, or the milliseconds would be negative.
  const auto since_epoch = std::chrono::floor<milliseconds>(t.time_since_epoch());
  const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = (since_epoch - secs).count();
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);  // gmtime() shares a static buffer between threads
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {  // bounded: i advances by at least 1 each pass
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      append_escaped_ascii(out, c);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      out += "\\ufffd";  // one replacement character per bad byte, as WHATWG decoders do
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  out += '"';
}

std::string to_json_line(const CallRecord& r) {
  std::string out;
  out.reserve(512);
  out += '{';
  add_string(out, "call", r.call);
  add_string(out, "a_call_id", r.a_call_id);
  add_string(out, "b_call_id", r.b_call_id);
  add_string(out, "realm_in", r.realm_in);
  add_string(out, "source_peer", r.source_peer);
  add_string(out, "route", r.route);
  add_string(out, "target", r.target);
  add_string(out, "realm_out", r.realm_out);
  add_string(out, "caller", r.caller);
  add_string(out, "callee", r.callee);
  add_number(out, "attempts", r.attempts);
  add_time(out, "start", r.start);
  if (r.answer) {
    add_time(out, "answer", *r.answer);
  } else {
    add_key(out, "answer");
    out += "null";
  }
  add_time(out, "end", r.end);
  add_number(out, "duration_ms", r.duration().count());
  add_number(out, "setup_ms", r.setup_time().count());
  add_number(out, "final_status", r.final_status);
  add_string(out, "end_reason", r.end_reason);
  add_string(out, "disconnect", r.disconnect);
  add_key(out, "media_anchored");
  out += r.media_anchored ? "true" : "false";
  add_string(out, "codec", r.codec);
  add_number(out, "packets_a_to_b", r.packets_a_to_b);
  add_number(out, "packets_b_to_a", r.packets_b_to_a);
  add_optional(out, "lost_a_to_b", r.lost_a_to_b);
  add_optional(out, "lost_b_to_a", r.lost_b_to_a);
  add_optional(out, "jitter_ms_a_to_b", r.jitter_ms_a_to_b);
  add_optional(out, "jitter_ms_b_to_a", r.jitter_ms_b_to_a);
  add_string(out, "trace", r.trace);
  add_string(out, "a_tls_version", r.a_tls_version);
  add_string(out, "a_tls_cipher", r.a_tls_cipher);
  add_string(out, "b_tls_version", r.b_tls_version);
  add_string(out, "b_tls_cipher", r.b_tls_cipher);
  out += "}\n";
  return out;
}

}  // namespace portico::cdr
