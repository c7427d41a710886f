#pragma once
// Small string helpers shared by the SIP, policy and transport layers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
/// The decimal number `s` (digits only: no sign, no space; at most 20 characters, leading
/// zeros allowed), or nullopt if it is not one or exceeds `max`. Overflow-checked.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max = UINT64_MAX);
/// Random lowercase hex token of `n` characters (tags, branches, Call-IDs) from the kernel
/// CSPRNG (common/random.hpp). Any thread.
std::string random_token(std::size_t n);
/// FNV-1a, stable across runs and platforms (shard selection).
std::uint64_t stable_hash(std::string_view s);

}  // namespace portico
