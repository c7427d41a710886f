#pragma once
// Private to the registrar: reading the few REGISTER fields that must cross Portico byte for
// byte (credentials and challenges: re-serializing them could break a digest) and the expiry
// parameters (RFC 3261 §10.2.1.1, §20.19).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::registrar::detail {

/// The header lines of `raw` (a whole message) named `names` (case-insensitive), exactly as
/// received apart from line folding, as "Name: value\r\n" lines in wire order. CRLF or LF line
/// ends (sip/raw_headers.hpp).
std::string header_lines(std::string_view raw, std::initializer_list<std::string_view> names);

/// Values of the headers named `names` in `raw`, trimmed and unfolded, one per header field.
std::vector<std::string> header_values(std::string_view raw,
                                       std::initializer_list<std::string_view> names);

/// A numeric header parameter of a name-addr (`<sip:a@b>;expires=60` -> 60), or nullopt.
std::optional<std::uint32_t> header_param(std::string_view name_addr, std::string_view param);

}  // namespace portico::registrar::detail
