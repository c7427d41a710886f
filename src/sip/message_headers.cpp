// Portico's own look at the header section: the raw header values (read with sip/raw_headers.hpp,
// RFC 3261 §7.3.1 folding), the canonical header-name table (§7.3.3 compact forms), header
// lookups, and find_call_id() for shard dispatch. None of this touches osip, so it is also
// what validate() checks raw values (Content-Length, Max-Forwards, Expires) against.

#include <array>
#include <cctype>

#include "message_impl.hpp"
#include "portico/common/strings.hpp"
#include "portico/sip/raw_headers.hpp"

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

}  // namespace

void scan_raw_headers(MessageData& impl) {
  const std::string_view head = std::string_view(impl.raw).substr(0, impl.header_end);
  impl.start_line = std::string(strip_cr(head.substr(0, head.find('\n'))));
  RawHeaderScanner scan(head);
  while (const auto f = scan.next()) {
    impl.raw_headers.push_back(
        RawHeader{canonical_header_name(f->name), std::string(f->name), unfold(f->value)});
  }
  split_start_line(impl);
  auto lengths = raw_values(impl, "Content-Length");
  if (!lengths.empty()) {
    auto n = parse_uint(lengths.front(), 0xFFFFFFFFULL);
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
  return find_raw_header(bytes, "Call-ID", "i").value_or(std::string_view{});
}

}  // namespace portico::sip
