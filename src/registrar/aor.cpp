#include "portico/registrar/aor.hpp"

#include "portico/common/strings.hpp"
#include "portico/sip/message.hpp"

namespace portico::registrar {

std::optional<std::string> aor_of_uri(std::string_view uri) {
  auto parts = sip::parse_uri(trim(uri));
  if (!parts.ok() || parts->user.empty() || parts->host.empty()) {
    return std::nullopt;
  }
  return parts->user + "@" + to_lower(parts->host);
}

std::optional<std::string> aor_of_to_value(std::string_view value) {
  // name-addr: the URI is inside <...>; addr-spec: it ends at the first ';' (RFC 3261 §20:
  // parameters after an addr-spec are header parameters such as the tag).
  const auto open = value.find('<');
  if (open != std::string_view::npos) {
    const auto close = value.find('>', open);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    return aor_of_uri(value.substr(open + 1, close - open - 1));
  }
  return aor_of_uri(value.substr(0, value.find(';')));
}

std::optional<std::string> register_aor(std::string_view bytes) {
  if (!bytes.starts_with("REGISTER ")) {
    return std::nullopt;
  }
  std::size_t pos = bytes.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < bytes.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = bytes.find("\r\n", start);
    const std::string_view line =
        bytes.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (line.empty()) {
      break;  // end of headers
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = trim(line.substr(0, colon));
      if (iequals(name, "To") || iequals(name, "t")) {
        return aor_of_to_value(line.substr(colon + 1));
      }
    }
    pos = end;
  }
  return std::nullopt;
}

std::uint16_t shard_for_aor(std::string_view aor, std::uint16_t shard_count) {
  if (shard_count <= 1) {
    return 0;
  }
  return static_cast<std::uint16_t>(stable_hash(aor) % shard_count);
}

}  // namespace portico::registrar
