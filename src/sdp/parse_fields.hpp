#pragma once
// Private to the sdp module: parsers for the value part of single SDP lines (after "x=").
// Each returns the typed field or an Error whose detail already names the line.

#include <string>
#include <string_view>
#include <vector>

#include "portico/sdp/session.hpp"

namespace portico::sdp::detail {

/// Error with reason "sdp_syntax" and detail "line <n>: <what>".
Error syntax_error(std::size_t line_no, std::string_view what);

/// Splits on runs of spaces (RFC 4566 uses one SP; some peers send two, which we tolerate).
std::vector<std::string_view> split_fields(std::string_view value);

Result<Origin> parse_origin(std::string_view value, std::size_t line_no);
Result<Connection> parse_connection(std::string_view value, std::size_t line_no);
Result<Bandwidth> parse_bandwidth(std::string_view value, std::size_t line_no);
Result<Timing> parse_timing(std::string_view value, std::size_t line_no);
Result<Attribute> parse_attribute(std::string_view value, std::size_t line_no);
/// The m= line alone; the section's other lines are added by the caller.
Result<Media> parse_media_line(std::string_view value, std::size_t line_no);

/// IP4 when the address has no ':', else IP6 (RFC 4566 §5.7 addrtype).
std::string addr_type_for(std::string_view address);

}  // namespace portico::sdp::detail
