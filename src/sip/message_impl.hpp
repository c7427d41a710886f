#pragma once
// Private: the eagerly extracted contents of a sip::Message, plus the raw header scanner shared
// by message.cpp (extraction), message_headers.cpp (lookups) and message_validate.cpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portico/sip/message.hpp"

namespace portico::sip {

/// One header line as it appears on the wire, folded lines joined (RFC 3261 §7.3.1).
struct RawHeader {
  std::string name;       // canonical long form ("Call-ID" for "i")
  std::string original;   // as written
  std::string value;      // trimmed, continuation lines joined with one SP
};

/// Everything a Message holds; Message::Impl is this (a private nested type cannot be named by
/// the free helper functions below).
struct MessageData {
  std::string raw;                 // the bytes as received
  std::size_t header_end = 0;      // offset of the first body byte (after the blank line)
  std::size_t body_length = 0;     // bytes of raw() that are the body
  std::size_t body_available = 0;  // bytes after the blank line (datagram size check)
  bool has_blank_line = false;

  bool request = false;
  std::string start_line;          // first line without CRLF
  std::string method;              // request method; for responses the CSeq method
  std::string request_uri;         // osip serialization
  std::string request_uri_raw;     // the token from the start line
  std::string sip_version;
  int status = 0;
  std::string status_token;        // the digits from the status line, unchecked
  std::string reason;

  bool has_call_id = false;
  bool has_cseq = false;
  bool has_from = false;
  bool has_to = false;
  std::string call_id;
  std::uint32_t cseq = 0;
  std::string cseq_number_raw;
  std::string cseq_method;
  NameAddr from;
  NameAddr to;
  bool from_has_uri = false;
  bool to_has_uri = false;
  std::vector<Via> vias;
  std::vector<std::string> via_versions;   // "2.0" per Via, for validate()
  std::vector<std::string> via_ports_raw;  // port text per Via ("" when absent)
  std::vector<NameAddr> contacts;
  std::vector<NameAddr> record_routes;
  std::vector<NameAddr> routes;
  std::string content_type;
  std::optional<int> max_forwards;

  std::vector<std::pair<std::string, std::string>> headers;  // canonical name, osip value
  std::vector<RawHeader> raw_headers;                         // wire order
};

struct Message::Impl : MessageData {};

/// Canonical long-form spelling of a header name; compact forms expanded (RFC 3261 §7.3.3).
/// Unknown names come back unchanged.
std::string canonical_header_name(std::string_view name);

/// Locates the end of the header section and the body slice (CRLFCRLF or LFLF).
void locate_body(MessageData& impl);

/// Fills impl.raw_headers and impl.start_line from impl.raw.
void scan_raw_headers(MessageData& impl);

/// All raw values of one canonical header name, in wire order.
std::vector<std::string_view> raw_values(const MessageData& impl, std::string_view name);

/// Host of a Via sent-by or SIP URI: a hostname / IPv4 token, or an IPv6 reference (brackets
/// stripped). Liberal about IPv6 digit groups (RFC 5118 §4.8).
bool valid_host(std::string_view host, bool ipv6_allowed);

/// True if a SIP URI carries a headers component ("?Subject=x" after the host, §19.1.1).
bool uri_has_headers(std::string_view uri);

}  // namespace portico::sip
