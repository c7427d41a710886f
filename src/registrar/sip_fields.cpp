#include "sip_fields.hpp"

#include "portico/common/strings.hpp"
#include "portico/sip/raw_headers.hpp"

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

}  // namespace

std::string header_lines(std::string_view raw, std::initializer_list<std::string_view> names) {
  std::string out;
  sip::RawHeaderScanner scan(raw);
  while (const auto f = scan.next()) {
    if (named(f->name, names)) {
      out.append(f->name).append(": ").append(sip::unfold(f->value)).append("\r\n");
    }
  }
  return out;
}

std::vector<std::string> header_values(std::string_view raw,
                                       std::initializer_list<std::string_view> names) {
  std::vector<std::string> out;
  sip::RawHeaderScanner scan(raw);
  while (const auto f = scan.next()) {
    if (named(f->name, names)) {
      out.push_back(sip::unfold(f->value));
    }
  }
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
