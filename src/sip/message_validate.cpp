// Message::validate(): the RFC 3261 rules a syntax parse does not enforce, checked in the order
// a UAS would (§8.2: start line, mandatory headers, then values). Each failure names the field
// in `detail`, which becomes the reason phrase of the 400. The RFC 4475 torture tests decide
// the edge cases: overlarge scalars (§3.1.2.3-5), escaped headers in the Request-URI
// (§3.1.2.11), a non-GMT Date (§3.1.2.12), an unbracketed URI with '?' (§3.1.2.13), method
// mismatches (§3.1.2.17-18), a status code that is not 3 digits (§3.1.2.19).

#include <cctype>

#include "message_impl.hpp"
#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

using Check = std::optional<Error>;

Check fail(const char* reason, const char* detail) { return make_error(reason, detail); }

Check check_start_line(const MessageData& m) {
  // §7.1 / §7.2: SIP-Version is "SIP/2.0" (case-insensitive as every ABNF literal).
  if (!iequals(m.sip_version, "SIP/2.0")) {
    return fail("bad_sip_version", "Unsupported SIP version");
  }
  if (m.request) {
    if (uri_has_headers(m.request_uri_raw)) {
      // §19.1.5 table: headers are not allowed in a Request-URI.
      return fail("bad_request_uri", "Request-URI must not contain headers");
    }
    auto uri = parse_uri(m.request_uri_raw);
    if (!uri.ok()) {
      if (uri.error().reason == "unsupported_uri_scheme") {
        return fail("unsupported_uri_scheme", "Unsupported Request-URI scheme");
      }
      return fail("bad_request_uri", "Malformed Request-URI");
    }
    return std::nullopt;
  }
  auto code = parse_uint(m.status_token, 999);
  if (m.status_token.size() != 3 || !code || *code < 100 || *code > 699) {
    return fail("bad_status", "Status code out of range");
  }
  return std::nullopt;
}

Check check_single(const MessageData& m, const char* name, const char* detail) {
  if (raw_values(m, name).size() > 1) {
    return fail("duplicate_header", detail);
  }
  return std::nullopt;
}

Check check_mandatory(const MessageData& m) {
  if (m.vias.empty()) {
    return fail("missing_via", "Missing Via header");
  }
  if (!m.has_from) {
    return fail("missing_from", "Missing From header");
  }
  if (!m.has_to) {
    return fail("missing_to", "Missing To header");
  }
  if (!m.has_call_id || m.call_id.empty()) {
    return fail("missing_call_id", "Missing Call-ID header");
  }
  if (!m.has_cseq) {
    return fail("missing_cseq", "Missing CSeq header");
  }
  // §20: From, To, Call-ID and CSeq are single-valued (RFC 4475 §3.3.8, multi01).
  if (auto e = check_single(m, "From", "Multiple From headers")) {
    return e;
  }
  if (auto e = check_single(m, "To", "Multiple To headers")) {
    return e;
  }
  if (auto e = check_single(m, "Call-ID", "Multiple Call-ID headers")) {
    return e;
  }
  return check_single(m, "CSeq", "Multiple CSeq headers");
}

Check check_cseq(const MessageData& m) {
  // §8.1.1.5: the number is a 32-bit unsigned integer.
  if (!parse_uint(m.cseq_number_raw, 0xFFFFFFFFULL)) {
    return fail("bad_cseq", "CSeq number is not a 32-bit integer");
  }
  if (m.cseq_method.empty()) {
    return fail("bad_cseq", "CSeq method is missing");
  }
  // §8.1.1.5 / §12.2.1.1: the CSeq method equals the request method, which for ACK and
  // CANCEL is ACK and CANCEL themselves.
  if (m.request && m.cseq_method != m.method) {
    return fail("cseq_method_mismatch", "CSeq method does not match request method");
  }
  return std::nullopt;
}

Check check_vias(const MessageData& m) {
  for (std::size_t i = 0; i < m.vias.size(); ++i) {
    const Via& v = m.vias[i];
    if (m.via_versions[i] != "2.0" || v.protocol.empty()) {
      return fail("bad_via", "Via has a bad sent-protocol");
    }
    // A Via without branch is an RFC 2543 peer and is fine (RFC 4475 §3.2.1); a sent-by
    // that is not a host is not.
    if (!valid_host(v.host, true)) {
      return fail("bad_via", "Via has a malformed sent-by host");
    }
    if (!m.via_ports_raw[i].empty() && !v.port) {
      return fail("bad_via", "Via has a malformed sent-by port");
    }
  }
  return std::nullopt;
}

Check check_name_addrs(const MessageData& m) {
  if (!m.from_has_uri) {
    return fail("bad_from", "Malformed From header");
  }
  if (!m.to_has_uri) {
    return fail("bad_to", "Malformed To header");
  }
  // §20.10: an addr-spec whose URI carries '?' or ',' must be enclosed in <> (RFC 4475
  // §3.1.2.13, regbadct).
  for (const auto& h : m.raw_headers) {
    if (h.name != "Contact" && h.name != "From" && h.name != "To") {
      continue;
    }
    if (h.value.find('<') == std::string::npos && uri_has_headers(h.value)) {
      const char* reason = h.name == "Contact" ? "bad_contact"
                           : h.name == "From"  ? "bad_from"
                                               : "bad_to";
      return fail(reason, "URI with headers must be enclosed in <>");
    }
  }
  return std::nullopt;
}

Check check_content_length(const MessageData& m) {
  auto values = raw_values(m, "Content-Length");
  std::optional<std::uint64_t> first;
  for (auto v : values) {
    auto n = parse_uint(v, 0xFFFFFFFFULL);
    if (!n) {
      return fail("bad_content_length", "Content-Length is not a number");
    }
    if (first && *first != *n) {
      return fail("bad_content_length", "Conflicting Content-Length values");
    }
    first = n;
  }
  // §18.3: a datagram shorter than its Content-Length is discarded / answered 400 (RFC 4475
  // §3.1.2.2). Extra octets are fine (§3.1.1.8) and already excluded from body().
  if (first && *first > m.body_available) {
    return fail("bad_content_length", "Content-Length is larger than the message body");
  }
  return std::nullopt;
}

Check check_numbers(const MessageData& m) {
  for (auto v : raw_values(m, "Max-Forwards")) {
    if (!parse_uint(v, 255)) {
      return fail("bad_max_forwards", "Max-Forwards is not a number from 0 to 255");
    }
  }
  // §20.19: delta-seconds, bounded to 2^32-1 (§25.1); RFC 4475 §3.1.2.4 (scalar02).
  for (auto v : raw_values(m, "Expires")) {
    if (!parse_uint(v, 0xFFFFFFFFULL)) {
      return fail("bad_expires", "Expires is not a valid number of seconds");
    }
  }
  for (auto v : raw_values(m, "Retry-After")) {
    std::string_view digits = v.substr(0, v.find_first_of(" \t;("));
    if (!parse_uint(digits, 0xFFFFFFFFULL)) {
      return fail("bad_retry_after", "Retry-After is not a valid number of seconds");
    }
  }
  return std::nullopt;
}

Check check_date(const MessageData& m) {
  // §20.17: rfc1123-date always in GMT (RFC 4475 §3.1.2.12, baddate).
  for (auto v : raw_values(m, "Date")) {
    if (v.size() < 3 || v.substr(v.size() - 3) != "GMT") {
      return fail("bad_date", "Date must be in GMT");
    }
  }
  return std::nullopt;
}

Check check_values(const MessageData& m) {
  if (auto e = check_content_length(m)) {
    return e;
  }
  if (auto e = check_numbers(m)) {
    return e;
  }
  return check_date(m);
}

}  // namespace

std::optional<Error> Message::validate() const {
  const Impl& m = *impl_;
  for (auto* check : {check_start_line, check_mandatory, check_cseq, check_vias,
                      check_name_addrs, check_values}) {
    if (auto e = check(m)) {
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace portico::sip
