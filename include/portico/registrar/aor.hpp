#pragma once
// Addresses-of-record and which shard owns them.
//
// A binding belongs to the shard its AOR hashes to, so every REGISTER for one user, whatever
// its Call-ID, is handled by one thread (single writer, no lock). The dispatcher finds the AOR
// with a line scan of the raw REGISTER (no full parse); the owner computes it again from the
// parsed To. Both go through aor_of_uri(), so they always agree.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::registrar {

/// "user@host" of a SIP URI (host lower-cased: RFC 3261 §19.1.4 compares hosts without case),
/// or nullopt when it has no user part or does not parse.
std::optional<std::string> aor_of_uri(std::string_view uri);

/// The AOR of a To header value (name-addr or addr-spec, with or without header params).
std::optional<std::string> aor_of_to_value(std::string_view value);

/// For a raw REGISTER request, the AOR of its To header; nullopt for any other message (one
/// comparison for those) or a REGISTER whose To names no user.
std::optional<std::string> register_aor(std::string_view bytes);

/// The shard that owns bindings of `aor`.
std::uint16_t shard_for_aor(std::string_view aor, std::uint16_t shard_count);

}  // namespace portico::registrar
