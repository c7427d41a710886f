#include "sip_fields.hpp"

#include "portico/common/strings.hpp"

namespace portico::registrar::detail {
namespace {

bool named(std::string_view name, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

// Calls fn(name, value) for every header of `raw`, folded lines joined (RFC 3261 §7.3.1).
template <class Fn>
void for_each_header(std::string_view raw, Fn&& fn) {
  std::string name;
  std::string value;
  bool open = false;
  std::size_t pos = raw.find("\r\n");  // skip the start line
  while (pos != std::string_view::npos) {
    const std::size_t start = pos + 2;
    const std::size_t end = raw.find("\r\n", start);
    if (end == std::string_view::npos) {
      break;
    }
    const std::string_view line = raw.substr(start, end - start);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      value += ' ';
      value += trim(line);
      pos = end;
      continue;
    }
    if (open) {
      fn(name, value);
      open = false;
    }
    if (line.empty()) {
      break;  // end of headers
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      name = std::string(trim(line.substr(0, colon)));
      value = std::string(trim(line.substr(colon + 1)));
      open = true;
    }
    pos = end;
  }
  if (open) {
    fn(name, value);
  }
}

}  // namespace

std::string header_lines(std::string_view raw, std::initializer_list<std::string_view> names) {
  std::string out;
  for_each_header(raw, [&](const std::string& name, const std::string& value) {
    if (named(name, names)) {
      out += name + ": " + value + "\r\n";
    }
  });
  return out;
}

std::vector<std::string> header_values(std::string_view raw,
                                       std::initializer_list<std::string_view> names) {
  std::vector<std::string> out;
  for_each_header(raw, [&](const std::string& name, const std::string& value) {
    if (named(name, names)) {
      out.push_back(value);
    }
  });
  return out;
}

std::optional<std::uint32_t> header_param(std::string_view name_addr, std::string_view param) {
  // Header parameters follow the closing '>' of a name-addr.
  const auto close = name_addr.rfind('>');
  std::string_view rest = close == std::string_view::npos ? name_addr : name_addr.substr(close);
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    if (semi == std::string_view::npos) {
      break;
    }
    rest = rest.substr(semi + 1);
    const std::string_view item = rest.substr(0, rest.find(';'));
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && iequals(trim(item.substr(0, eq)), param)) {
      const auto n = parse_uint(trim(item.substr(eq + 1)));
      if (!n || *n > UINT32_MAX) {
        return std::nullopt;
      }
      return static_cast<std::uint32_t>(*n);
    }
  }
  return std::nullopt;
}

}  // namespace portico::registrar::detail
