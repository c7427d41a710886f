// Portico's own look at the header section: a line scanner (RFC 3261 §7.3.1 folding), the
// canonical header-name table (§7.3.3 compact forms), header lookups, and find_call_id() for
// shard dispatch. None of this touches osip, so it is also what validate() checks raw values
// (Content-Length, Max-Forwards, Expires) against.

#include <array>
#include <cctype>

#include "message_impl.hpp"
#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

struct Compact {
  char letter;
  std::string_view name;
};
// RFC 3261 §7.3.3 and the IANA registry of compact forms.
constexpr std::array<Compact, 15> kCompact{{{'i', "Call-ID"},
                                            {'m', "Contact"},
                                            {'e', "Content-Encoding"},
                                            {'l', "Content-Length"},
                                            {'c', "Content-Type"},
                                            {'f', "From"},
                                            {'s', "Subject"},
                                            {'k', "Supported"},
                                            {'t', "To"},
                                            {'v', "Via"},
                                            {'o', "Event"},
                                            {'r', "Refer-To"},
                                            {'b', "Referred-By"},
                                            {'u', "Allow-Events"},
                                            {'x', "Session-Expires"}}};

constexpr std::array<std::string_view, 52> kLongForms{
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Route", "Record-Route",
    "Content-Type", "Content-Length", "Max-Forwards", "Content-Encoding", "Subject",
    "Supported", "Event", "Refer-To", "Referred-By", "Allow-Events", "Session-Expires",
    "Require", "Proxy-Require", "Unsupported", "Expires", "Min-Expires", "Allow", "Accept",
    "Accept-Encoding", "Accept-Language", "User-Agent", "Server", "Date", "Timestamp",
    "WWW-Authenticate", "Authorization", "Proxy-Authenticate", "Proxy-Authorization",
    "Authentication-Info", "RSeq", "RAck", "P-Asserted-Identity", "P-Preferred-Identity",
    "Privacy", "Reason", "Retry-After", "Warning", "Organization", "Priority", "Min-SE",
    "Content-Disposition", "MIME-Version", "Replaces", "Subscription-State"};

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

}  // namespace

std::string canonical_header_name(std::string_view name) {
  if (name.size() == 1) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    for (const auto& e : kCompact) {
      if (e.letter == c) {
        return std::string(e.name);
      }
    }
  }
  for (auto n : kLongForms) {
    if (iequals(n, name)) {
      return std::string(n);
    }
  }
  return std::string(name);
}

void locate_body(MessageData& impl) {
  std::string_view raw(impl.raw);
  std::size_t crlf = raw.find("\r\n\r\n");
  std::size_t lflf = raw.find("\n\n");
  std::size_t end = std::string_view::npos;
  if (crlf != std::string_view::npos && (lflf == std::string_view::npos || crlf < lflf)) {
    end = crlf + 4;
  } else if (lflf != std::string_view::npos) {
    end = lflf + 2;
  }
  impl.has_blank_line = end != std::string_view::npos;
  impl.header_end = impl.has_blank_line ? end : raw.size();
  impl.body_available = raw.size() - impl.header_end;
  impl.body_length = impl.body_available;
}

namespace {

/// "METHOD uri SIP/2.0" or "SIP/2.0 code reason": keeps the raw Request-URI / status token.
void split_start_line(MessageData& impl) {
  std::string_view sl(impl.start_line);
  bool response = sl.substr(0, 4) == "SIP/";
  auto sp1 = sl.find(' ');
  if (sp1 == std::string_view::npos) {
    return;
  }
  auto sp2 = sl.find(' ', sp1 + 1);
  std::string_view second =
      sl.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
  if (response) {
    impl.status_token = std::string(second);
  } else if (sp2 != std::string_view::npos) {
    impl.request_uri_raw = std::string(second);
  }
}

void add_header_line(MessageData& impl, std::string_view line) {
  if (is_wsp(line[0])) {
    // §7.3.1: a continuation line folds into the previous header value.
    if (!impl.raw_headers.empty()) {
      auto& v = impl.raw_headers.back().value;
      v += v.empty() ? "" : " ";
      v += trim(line);
    }
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return;  // osip rejects the message; nothing to record
  }
  std::string_view name = trim(line.substr(0, colon));
  impl.raw_headers.push_back(RawHeader{canonical_header_name(name), std::string(name),
                                       std::string(trim(line.substr(colon + 1)))});
}

}  // namespace

void scan_raw_headers(MessageData& impl) {
  std::string_view head = std::string_view(impl.raw).substr(0, impl.header_end);
  std::size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? head.size() : nl;
    std::string_view line = strip_cr(head.substr(pos, end - pos));
    pos = end + 1;
    if (first) {
      impl.start_line = std::string(line);
      first = false;
    } else if (line.empty()) {
      break;
    } else {
      add_header_line(impl, line);
    }
  }
  split_start_line(impl);
  auto lengths = raw_values(impl, "Content-Length");
  if (!lengths.empty()) {
    auto n = parse_decimal(lengths.front(), 0xFFFFFFFFULL);
    if (n && *n < impl.body_available) {
      impl.body_length = static_cast<std::size_t>(*n);  // RFC 4475 §3.1.1.8: extra octets
    }
  }
}

std::vector<std::string_view> raw_values(const MessageData& impl, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& h : impl.raw_headers) {
    if (h.name == name) {
      out.emplace_back(h.value);
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 20) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  return v;
}

bool valid_host(std::string_view host, bool ipv6_allowed) {
  if (host.empty() || host.size() > 255) {
    return false;
  }
  if (host.find(':') != std::string_view::npos) {
    if (!ipv6_allowed) {
      return false;
    }
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return false;
      }
    }
    return true;
  }
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

std::vector<std::string> Message::header_values(std::string_view name) const {
  std::string canonical = canonical_header_name(name);
  std::vector<std::string> out;
  for (const auto& [n, v] : impl_->headers) {
    if (iequals(n, canonical)) {
      out.push_back(v);
    }
  }
  return out;
}

std::optional<std::string> Message::header(std::string_view name) const {
  std::string canonical = canonical_header_name(name);
  for (const auto& [n, v] : impl_->headers) {
    if (iequals(n, canonical)) {
      return v;
    }
  }
  return std::nullopt;
}

bool Message::has_option(std::string_view header_name, std::string_view option) const {
  for (const auto& value : header_values(header_name)) {
    std::string_view rest(value);
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (iequals(item, option)) {
        return true;
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return false;
}

std::string_view find_call_id(std::string_view bytes) {
  std::size_t pos = bytes.find('\n');  // skip the start line
  while (pos != std::string_view::npos && pos + 1 < bytes.size()) {
    std::size_t start = pos + 1;
    std::size_t nl = bytes.find('\n', start);
    std::size_t len = nl == std::string_view::npos ? std::string_view::npos : nl - start;
    std::string_view line = strip_cr(bytes.substr(start, len));
    if (line.empty()) {
      return {};  // end of headers
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = trim(line.substr(0, colon));
      if (!is_wsp(line[0]) && (iequals(name, "Call-ID") || iequals(name, "i"))) {
        return trim(line.substr(colon + 1));
      }
    }
    pos = nl;
  }
  return {};
}

}  // namespace portico::sip
