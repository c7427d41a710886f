#pragma once
// Which shard handles a SIP message: every rule in one place.
//
// A call lives on one shard for life, and a binding on one shard (docs/style.md, "Threading"),
// so the shard that received a message must find the owner from the raw bytes, before any
// parse, and every shard must reach the same answer:
//
//   REGISTER on the registration realm  -> shard_for_aor(To's user@host)   (the binding's owner)
//   Call-ID "pt" + 2 hex digits + ...    -> the shard those digits name     (Portico's own)
//   any other Call-ID                    -> stable_hash(Call-ID) % shards
//   no Call-ID                           -> the shard that received it
//
// Portico writes Call-IDs that name their shard (make_call_id) for every request it starts
// (B legs, upstream REGISTERs, OPTIONS pings), so the answers and in-dialog requests of the far
// end come back to the shard that sent them without a lookup. The dispatcher finds the AOR with
// a line scan (register_aor); the owner computes it again from the parsed To; both go through
// aor_of_uri(), so they always agree.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::sip {

/// The shard of a Call-ID: the one its "pt" + 2 hex digits prefix names, else its hash.
std::uint16_t shard_for_call_id(std::string_view call_id, std::uint16_t shard_count);
/// A new Call-ID that shard_for_call_id() maps back to `shard`: "pt" + 2 hex digits + random.
std::string make_call_id(std::uint16_t shard);

/// "user@host" of a SIP URI (host lower-cased: RFC 3261 §19.1.4 compares hosts without case),
/// or nullopt when it has no user part or does not parse.
std::optional<std::string> aor_of_uri(std::string_view uri);
/// The AOR of a To header value (name-addr or addr-spec, with or without header params).
std::optional<std::string> aor_of_to_value(std::string_view value);
/// For a raw REGISTER request, the AOR of its To header; nullopt for any other message (one
/// comparison for those) or a REGISTER whose To names no user.
std::optional<std::string> register_aor(std::string_view bytes);
/// The shard that owns the bindings of `aor`.
std::uint16_t shard_for_aor(std::string_view aor, std::uint16_t shard_count);

/// The shard that handles raw message `bytes` received on `realm` by shard `here`, by the rules
/// above. `registration_realm` is the realm whose REGISTERs the policy takes ("" for none).
std::uint16_t owner_shard(std::string_view bytes, std::string_view realm,
                          std::string_view registration_realm, std::uint16_t here,
                          std::uint16_t shard_count);

}  // namespace portico::sip
