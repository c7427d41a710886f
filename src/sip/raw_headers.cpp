// RawHeaderScanner: one line scan for every reader of unparsed headers (see the header).

#include "portico/sip/raw_headers.hpp"

#include <cctype>

#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

RawHeaderScanner::RawHeaderScanner(std::string_view bytes) : rest_(bytes) {
  if (!rest_.empty()) {
    take_line();  // the request or status line
  }
  done_ = rest_.empty();
}

std::string_view RawHeaderScanner::take_line() {
  const std::size_t nl = rest_.find('\n');
  std::string_view line = rest_.substr(0, nl);
  rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

std::optional<RawField> RawHeaderScanner::next() {
  while (!done_) {
    const char* const start = rest_.data();
    const std::string_view line = take_line();
    if (line.empty()) {
      done_ = true;  // the empty line: the body follows
      break;
    }
    // The field runs on over continuation lines (a first line starting with white space, out
    // of place after the start line, is skipped that way too).
    const char* end = line.data() + line.size();
    while (!rest_.empty() && is_wsp(rest_.front())) {
      const std::string_view more = take_line();
      end = more.data() + more.size();
    }
    done_ = rest_.empty();
    const std::string_view field(start, static_cast<std::size_t>(end - start));
    const auto colon = line.find(':');
    if (is_wsp(line.front()) || colon == std::string_view::npos) {
      continue;  // not a header field: osip rejects the message; nothing to report here
    }
    return RawField{trim(field.substr(0, colon)), trim(field.substr(colon + 1))};
  }
  return std::nullopt;
}

std::optional<std::string_view> find_raw_header(std::string_view bytes, std::string_view name,
                                                std::string_view compact) {
  RawHeaderScanner scan(bytes);
  while (const auto f = scan.next()) {
    if (iequals(f->name, name) || (!compact.empty() && iequals(f->name, compact))) {
      return f->value;
    }
  }
  return std::nullopt;
}

namespace {

std::size_t via_values(std::string_view value) {
  std::size_t n = 1;
  bool quoted = false;
  for (char c : value) {
    quoted = c == '"' ? !quoted : quoted;
    n += c == ',' && !quoted ? 1 : 0;
  }
  return n;
}

}  // namespace

HeaderCount count_headers(std::string_view bytes, std::size_t max_fields, std::size_t max_vias) {
  HeaderCount count;
  RawHeaderScanner scan(bytes);
  while (count.fields <= max_fields && count.vias <= max_vias) {
    const auto f = scan.next();
    if (!f) {
      break;
    }
    ++count.fields;
    if (iequals(f->name, "Via") || iequals(f->name, "v")) {
      count.vias += via_values(f->value);
    }
  }
  return count;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  while (!value.empty()) {
    const std::size_t nl = value.find('\n');
    if (nl == std::string_view::npos) {
      out += value;
      break;
    }
    std::string_view before = value.substr(0, nl);
    while (!before.empty() && is_space(before.back())) {
      before.remove_suffix(1);
    }
    out += before;
    value.remove_prefix(nl + 1);
    while (!value.empty() && is_space(value.front())) {
      value.remove_prefix(1);
    }
    if (!out.empty() && !value.empty()) {
      out += ' ';
    }
  }
  return out;
}

std::vector<std::string> raw_header_values(std::string_view bytes, std::string_view name) {
  std::vector<std::string> out;
  RawHeaderScanner scan(bytes);
  while (const auto f = scan.next()) {
    if (iequals(f->name, name)) {
      out.push_back(unfold(f->value));
    }
  }
  return out;
}

}  // namespace portico::sip
