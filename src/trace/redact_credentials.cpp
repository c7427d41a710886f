#include "redact_credentials.hpp"

#include <cctype>

namespace portico::trace {
namespace {

bool iequal_at(std::string_view s, std::size_t at, std::string_view word) {
  if (at + word.size() > s.size()) {
    return false;
  }
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[at + i])) !=
        std::tolower(static_cast<unsigned char>(word[i]))) {
      return false;
    }
  }
  return true;
}

// Start of the next line after `at`, or npos.
std::size_t next_line(std::string_view s, std::size_t at) {
  const auto nl = s.find('\n', at);
  return nl == std::string_view::npos ? nl : nl + 1;
}

}  // namespace

bool redact_credentials(std::string_view data, std::string& out) {
  const auto headers_end = data.find("\r\n\r\n");
  const std::string_view head = data.substr(0, headers_end);
  std::string result;
  std::size_t copied = 0;
  for (std::size_t line = next_line(head, 0); line != std::string_view::npos && line < head.size();
       line = next_line(head, line)) {
    const bool www = iequal_at(head, line, "Authorization:");
    const bool proxy = iequal_at(head, line, "Proxy-Authorization:");
    if (!www && !proxy) {
      continue;
    }
    // The field's value, with continuation lines (folded values).
    std::size_t end = next_line(head, line);
    while (end != std::string_view::npos && end < head.size() &&
           (head[end] == ' ' || head[end] == '\t')) {
      end = next_line(head, end);
    }
    end = end == std::string_view::npos ? head.size() : end;
    for (std::size_t i = line; i + 9 <= end; ++i) {
      if (!iequal_at(head, i, "response=") ||
          (i > 0 && (std::isalnum(static_cast<unsigned char>(head[i - 1])) != 0))) {
        continue;
      }
      std::size_t v = i + 9;
      std::size_t v_end = v;
      if (v < end && head[v] == '"') {
        ++v;
        v_end = head.find('"', v);
        if (v_end == std::string_view::npos || v_end > end) {
          v_end = end;
        }
      } else {
        v_end = head.find_first_of(",\r\n", v);
        v_end = v_end == std::string_view::npos || v_end > end ? end : v_end;
      }
      result.append(data.substr(copied, v - copied)).append("redacted");
      copied = v_end;
      i = v_end;
    }
  }
  if (copied == 0) {
    return false;
  }
  result.append(data.substr(copied));
  out = std::move(result);
  return true;
}

}  // namespace portico::trace
