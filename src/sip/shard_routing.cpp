#include "portico/sip/shard_routing.hpp"

#include "portico/common/strings.hpp"
#include "portico/sip/message.hpp"
#include "portico/sip/raw_headers.hpp"

namespace portico::sip {

std::uint16_t shard_for_call_id(std::string_view call_id, std::uint16_t shard_count) {
  if (shard_count <= 1) {
    return 0;
  }
  if (call_id.size() > 4 && call_id.substr(0, 2) == "pt") {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9')
        return c - '0';
      if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
      return -1;
    };
    int hi = hex(call_id[2]);
    int lo = hex(call_id[3]);
    if (hi >= 0 && lo >= 0) {
      return static_cast<std::uint16_t>((hi * 16 + lo) % shard_count);
    }
  }
  return static_cast<std::uint16_t>(stable_hash(call_id) % shard_count);
}

std::string make_call_id(std::uint16_t shard) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "pt";
  id.push_back(kHex[(shard >> 4) & 0xf]);
  id.push_back(kHex[shard & 0xf]);
  id += random_token(28);
  return id;
}

std::optional<std::string> aor_of_uri(std::string_view uri) {
  auto parts = parse_uri(trim(uri));
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
  // The same scanner as every other pre-parse look-up: LF or CRLF, folding, compact "t".
  const auto to = find_raw_header(bytes, "To", "t");
  if (!to) {
    return std::nullopt;
  }
  if (to->find('\n') != std::string_view::npos) {
    return aor_of_to_value(unfold(*to));
  }
  return aor_of_to_value(*to);
}

std::uint16_t shard_for_aor(std::string_view aor, std::uint16_t shard_count) {
  if (shard_count <= 1) {
    return 0;
  }
  return static_cast<std::uint16_t>(stable_hash(aor) % shard_count);
}

std::uint16_t owner_shard(std::string_view bytes, std::string_view realm,
                          std::string_view registration_realm, std::uint16_t here,
                          std::uint16_t shard_count) {
  // A REGISTER the policy takes goes to the shard that owns its AOR's binding, whatever its
  // Call-ID (any other REGISTER is answered 405 wherever its Call-ID lands).
  if (!registration_realm.empty() && realm == registration_realm) {
    if (auto aor = register_aor(bytes)) {
      return shard_for_aor(*aor, shard_count);
    }
  }
  std::string_view call_id = find_call_id(bytes);
  return call_id.empty() ? here : shard_for_call_id(call_id, shard_count);
}

}  // namespace portico::sip
