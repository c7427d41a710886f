// The top-level document and the single-file sections: server, timers, headers.

#include <algorithm>
#include <cctype>

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kTopKeys = {"server",       "timers",      "headers", "metrics",      "cdr",
                          "traces",       "realms",      "trunks",  "access_peers", "routes",
                          "registration", "rate_limits", "limits",  "ingress"};
const KeyList kServerKeys = {"shards", "log_level", "trace", "max_message_size", "media_io",
                           "pin_shards", "media_shards"};
const KeyList kTimerKeys = {"t1",
                            "t2",
                            "t4",
                            "max_call_duration",
                            "tcp_idle_timeout",
                            "media_timeout",
                            "drain_timeout",
                            "timer_c",
                            "max_ringing"};
const KeyList kHeaderKeys = {"pass",           "pass_user_agent",      "server_name",
                             "expose_version", "relay_reason_phrases", "max_display_name",
                             "max_uri",        "max_header_value",     "max_body",
                             "on_too_long"};
const KeyList kMetricsKeys = {"address", "port"};
const KeyList kCdrKeys = {"path", "max_size", "keep"};

// RFC 3261 §25.1 token characters: what a header name (and a User-Agent product) may contain.
bool is_token(std::string_view s) {
  static constexpr std::string_view kExtra = "-.!%*_+`'~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != kExtra.npos;
  });
}

// Server, timers and headers are global settings: two files setting them would make the result
// depend on file names, so a second occurrence is an error rather than a silent override.
bool claim_section(const Reader& r, const Field& f, std::optional<SourceLoc>& at) {
  if (at) {
    r.error(f.key_loc, f.path,
            "section given again (first at " + where(*at) +
                "); server, timers, headers, metrics, cdr, traces, registration, limits, "
                "rate_limits and ingress may each appear in one file only");
    return false;
  }
  at = f.key_loc;
  return true;
}

void read_timer(const Reader& r, const FieldMap& m, const std::string& key, Millis& out) {
  const Field* f = find(m, key);
  if (f == nullptr) {
    return;
  }
  const auto d = r.duration(*f);
  if (d && d->count() <= 0) {
    r.error(*f, "must be longer than 0ms");
  } else if (d) {
    out = *d;
  }
}

}  // namespace

void parse_document(const Reader& r, const YAML::Node& doc, PolicyDraft& draft) {
  if (doc.IsNull()) {
    return;  // an empty file (or only comments) contributes nothing
  }
  const auto sections = r.map(r.root(doc), kTopKeys);
  if (!sections) {
    return;
  }
  for (const auto& [key, f] : *sections) {
    if (f.value.IsNull()) {
      continue;  // "trunks:" with every entry commented out is the same as no section
    }
    if (key == "server" && claim_section(r, f, draft.server_at)) {
      parse_server(r, f, draft.server);
    } else if (key == "timers" && claim_section(r, f, draft.timers_at)) {
      parse_timers(r, f, draft.timers);
    } else if (key == "headers" && claim_section(r, f, draft.headers_at)) {
      parse_headers(r, f, draft.headers);
    } else if (key == "metrics" && claim_section(r, f, draft.metrics_at)) {
      parse_metrics(r, f, draft.metrics);
    } else if (key == "cdr" && claim_section(r, f, draft.cdr_at)) {
      parse_cdr(r, f, draft.cdr);
    } else if (key == "traces" && claim_section(r, f, draft.traces_at)) {
      parse_traces(r, f, draft.traces);
    } else if (key == "registration" && claim_section(r, f, draft.registration_at)) {
      parse_registration(r, f, draft);
    } else if (key == "rate_limits" && claim_section(r, f, draft.rate_limits_at)) {
      parse_rate_limits(r, f, draft.rate_limits);
    } else if (key == "limits" && claim_section(r, f, draft.limits_at)) {
      parse_limits(r, f, draft.limits);
    } else if (key == "ingress" && claim_section(r, f, draft.ingress_at)) {
      parse_ingress(r, f, draft.ingress);
    } else if (key == "realms") {
      parse_realms(r, f, draft);
    } else if (key == "trunks") {
      parse_trunks(r, f, draft);
    } else if (key == "access_peers") {
      parse_access_peers(r, f, draft);
    } else if (key == "routes") {
      parse_routes(r, f, draft);
    }
  }
}

void parse_server(const Reader& r, const Field& f, Server& out) {
  const auto m = r.map(f, kServerKeys);
  if (!m) {
    return;
  }
  if (const Field* v = find(*m, "shards")) {
    if (auto n = r.integer_in(*v, 0, 64, "is not a shard count (0 = one per CPU, or 1..64)")) {
      out.shards = static_cast<int>(*n);
    }
  }
  if (const Field* v = find(*m, "media_io")) {
    if (auto s = r.string(*v)) {
      if (*s == "auto" || *s == "io_uring" || *s == "epoll") {
        out.media_io = *s;
      } else {
        r.error(*v, quote(*s) + " is not a media I/O method (expected auto, io_uring or epoll)");
      }
    }
  }
  if (const Field* v = find(*m, "media_shards")) {
    if (auto n = r.integer_in(*v, 0, 64,
                              "is not a media shard count (0 = half the shards, or 1..64)")) {
      out.media_shards = static_cast<int>(*n);
    }
  }
  if (const Field* v = find(*m, "pin_shards")) {
    out.pin_shards = r.boolean(*v).value_or(out.pin_shards);
  }
  if (const Field* v = find(*m, "log_level")) {
    if (auto s = r.string(*v)) {
      static const KeyList kLevels = {"debug", "info", "warn", "error"};
      if (std::find(kLevels.begin(), kLevels.end(), *s) != kLevels.end()) {
        out.log_level = *s;
      } else {
        r.error(*v, quote(*s) + " is not a log level (expected debug, info, warn or error)");
      }
    }
  }
  if (const Field* v = find(*m, "trace")) {
    out.trace = r.boolean(*v).value_or(out.trace);
  }
  if (const Field* v = find(*m, "max_message_size")) {
    if (auto n = r.integer_in(*v, 1024, 1048576, "is out of range (1024..1048576 bytes)")) {
      out.max_message_size = static_cast<std::size_t>(*n);
    }
  }
}

void parse_timers(const Reader& r, const Field& f, Timers& out) {
  const auto m = r.map(f, kTimerKeys);
  if (!m) {
    return;
  }
  read_timer(r, *m, "t1", out.t1);
  read_timer(r, *m, "t2", out.t2);
  read_timer(r, *m, "t4", out.t4);
  read_timer(r, *m, "max_call_duration", out.max_call_duration);
  read_timer(r, *m, "tcp_idle_timeout", out.tcp_idle_timeout);
  read_timer(r, *m, "max_ringing", out.max_ringing);
  read_timer(r, *m, "timer_c", out.timer_c);
  if (const Field* mt = find(*m, "media_timeout")) {
    // 0s is meaningful here: never end a call for silence (one-way or mostly silent media).
    out.media_timeout = r.duration(*mt).value_or(out.media_timeout);
  }
  if (const Field* dt = find(*m, "drain_timeout")) {
    out.drain_timeout = r.duration(*dt).value_or(out.drain_timeout);  // 0s: no drain
  }
  // RFC 3261 §17.1.2.2: T2 caps the retransmit interval that starts at T1, so T2 < T1 would
  // make retransmissions slow down below their own starting point.
  if (out.t2 < out.t1) {
    const Field* t2 = find(*m, "t2");
    const Field* at = t2 != nullptr ? t2 : find(*m, "t1");
    r.error(*at, "t2 (" + std::to_string(out.t2.count()) + "ms) must not be shorter than t1 (" +
                     std::to_string(out.t1.count()) + "ms)");
  }
}

// What may cross to the other realm: length limits and the phrases relayed.
void parse_crossing_limits(const Reader& r, const FieldMap& m, HeaderRules& out) {
  if (const Field* v = find(m, "relay_reason_phrases")) {
    out.relay_reason_phrases = r.boolean(*v).value_or(out.relay_reason_phrases);
  }
  // Below 16 bytes a limit would break ordinary traffic; above 64 KB it limits nothing.
  const auto limit = [&](const char* key, std::size_t& field) {
    if (const Field* v = find(m, key)) {
      const auto n = r.integer_in(*v, 16, 65535, "is not a length limit (16..65535 bytes)");
      field = static_cast<std::size_t>(n.value_or(static_cast<std::int64_t>(field)));
    }
  };
  limit("max_display_name", out.max_display_name);
  limit("max_uri", out.max_uri);
  limit("max_header_value", out.max_header_value);
  limit("max_body", out.max_body);
  if (const Field* v = find(m, "on_too_long")) {
    if (const auto s = r.string(*v)) {
      if (*s == "refuse" || *s == "truncate") {
        out.refuse_too_long = *s == "refuse";
      } else {
        r.error(*v, quote(*s) + " is not an action (refuse or truncate)");
      }
    }
  }
}

void parse_headers(const Reader& r, const Field& f, HeaderRules& out) {
  const auto m = r.map(f, kHeaderKeys);
  if (!m) {
    return;
  }
  if (const Field* v = find(*m, "pass")) {
    if (auto items = r.list(*v)) {
      std::vector<std::string> names;
      for (const auto& item : *items) {
        auto s = r.string(item);
        if (s && !is_token(*s)) {
          r.error(item, quote(*s) + " is not a header name");
        } else if (s) {
          names.push_back(*s);
        }
      }
      out.pass = std::move(names);
    }
  }
  if (const Field* v = find(*m, "pass_user_agent")) {
    out.pass_user_agent = r.boolean(*v).value_or(out.pass_user_agent);
  }
  if (const Field* v = find(*m, "server_name")) {
    if (auto s = r.string(*v)) {
      if (s->empty() || is_token(*s)) {
        out.server_name = *s;
      } else {
        r.error(*v, quote(*s) +
                        " is not a valid product name (a SIP token: letters, digits and "
                        "-.!%*_+`'~, no spaces)");
      }
    }
  }
  if (const Field* v = find(*m, "expose_version")) {
    out.expose_version = r.boolean(*v).value_or(out.expose_version);
  }
  parse_crossing_limits(r, *m, out);
}

void parse_metrics(const Reader& r, const Field& f, MetricsConfig& out) {
  const auto m = r.map(f, kMetricsKeys);
  if (!m) {
    return;
  }
  out.enabled = true;
  out.loc = f.key_loc;
  if (const Field* v = find(*m, "address")) {
    if (auto a = r.ip(*v)) {
      out.address = *a;
    }
  }
  if (const Field* v = find(*m, "port")) {
    if (auto p = r.port(*v)) {
      out.port = *p;
    }
  }
}

namespace {

// "100MB", "512k", "1G", "4096": bytes, with an optional binary multiple (K, M, G, optional B).
std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 12) {
    return std::nullopt;
  }
  std::uint64_t n = std::stoull(std::string(text.substr(0, digits)));
  std::string unit(text.substr(digits));
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b') && unit.size() > 1) {
    unit.pop_back();
  }
  if (unit.empty() || unit == "B" || unit == "b") {
    return n;
  }
  if (unit.size() != 1) {
    return std::nullopt;
  }
  switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
    case 'K': return n << 10;
    case 'M': return n << 20;
    case 'G': return n << 30;
    default: return std::nullopt;
  }
}

}  // namespace

void parse_cdr(const Reader& r, const Field& f, CdrConfig& out) {
  const auto m = r.map(f, kCdrKeys);
  if (!m) {
    return;
  }
  const Field* p = find(*m, "path");
  if (p == nullptr) {
    r.error(f.key_loc, f.path, "needs a path (e.g. path: /var/log/portico/cdr.jsonl)");
    return;
  }
  if (auto s = r.string(*p)) {
    if (s->empty()) {
      r.error(*p, "must not be empty");
      return;
    }
    out.enabled = true;
    out.path = *s;
    out.loc = p->loc;
  }
  if (const Field* size = find(*m, "max_size")) {
    if (auto s = r.string(*size)) {
      auto bytes = parse_size(*s);
      if (!bytes || *bytes < 4096 || *bytes > (std::uint64_t{1} << 40)) {
        r.error(*size, quote(*s) + " is not a size from 4096 bytes to 1TB (e.g. 100MB, 512K)");
      } else {
        out.max_size = *bytes;
      }
    }
  }
  if (const Field* keep = find(*m, "keep")) {
    if (auto v = r.integer_in(*keep, 1, 1000, "is out of range (1..1000 rotated files)")) {
      out.keep = static_cast<int>(*v);
    }
  }
}

}  // namespace portico::policy::detail
