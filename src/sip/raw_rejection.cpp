// Answering requests libosip2 cannot parse. RFC 4475 §3.1.2 expects a 400 for a malformed
// request whenever a response can be formed at all, so the sender learns what went wrong
// instead of retransmitting into silence. A response needs only the Via, From, To, Call-ID and
// CSeq lines (RFC 3261 §8.2.6); they are copied as raw text, unfolded, without interpretation.
// The same builder answers requests refused before the parse (too many header fields, an
// unknown source): what a peer sent is never parsed further than these five fields.

#include <array>
#include <cctype>

#include "portico/common/strings.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/raw_headers.hpp"

namespace portico::sip {
namespace {

bool is_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (unsigned char c : s) {
    if (!std::isalnum(c) && std::string_view("-.!%*_+`'~").find(static_cast<char>(c)) ==
                                std::string_view::npos) {
      return false;
    }
  }
  return true;
}

struct RawHeaders {
  std::vector<std::string> vias;
  std::string from, to, call_id, cseq;
};

void keep(RawHeaders& h, std::string_view name, std::string value, std::size_t max_vias) {
  if (iequals(name, "Via") || iequals(name, "v")) {
    if (h.vias.size() < max_vias) {
      h.vias.push_back(std::move(value));
    }
  } else if ((iequals(name, "From") || iequals(name, "f")) && h.from.empty()) {
    h.from = std::move(value);
  } else if ((iequals(name, "To") || iequals(name, "t")) && h.to.empty()) {
    h.to = std::move(value);
  } else if ((iequals(name, "Call-ID") || iequals(name, "i")) && h.call_id.empty()) {
    h.call_id = std::move(value);
  } else if (iequals(name, "CSeq") && h.cseq.empty()) {
    h.cseq = std::move(value);
  }
}

// The identifying header fields, read by the one raw scanner, folding undone (§7.3.1).
RawHeaders read_headers(std::string_view bytes, std::size_t max_vias) {
  RawHeaders h;
  RawHeaderScanner scan(bytes);
  while (const auto f = scan.next()) {
    keep(h, f->name, unfold(f->value), max_vias);
  }
  return h;
}

std::string_view start_line(std::string_view bytes) {
  return trim(bytes.substr(0, bytes.find('\n')));
}

// The method of a request Portico may answer: a token, not a response, not an ACK.
std::optional<std::string_view> answerable_method(std::string_view start) {
  std::string_view method = start.substr(0, start.find_first_of(" \t"));
  if (!is_token(method) || method.starts_with("SIP/") || method == "ACK") {
    return std::nullopt;
  }
  return method;
}

}  // namespace

std::optional<std::string> raw_response(std::string_view bytes, int status, std::string_view phrase,
                                        std::size_t max_vias) {
  if (!answerable_method(start_line(bytes))) {
    return std::nullopt;  // a response, an ACK, or not SIP at all: nothing to answer
  }
  RawHeaders h = read_headers(bytes, max_vias);
  if (h.vias.empty()) {
    return std::nullopt;  // nowhere to route a response (§18.2.2)
  }
  std::string out = "SIP/2.0 " + std::to_string(status) + " " + std::string(phrase) + "\r\n";
  for (const auto& v : h.vias) {
    out += "Via: " + v + "\r\n";
  }
  if (!h.from.empty()) out += "From: " + h.from + "\r\n";
  if (!h.to.empty()) {
    bool tagged = to_lower(h.to).find(";tag=") != std::string::npos;
    out += "To: " + h.to + (tagged ? "" : ";tag=" + random_token(12)) + "\r\n";
  }
  if (!h.call_id.empty()) out += "Call-ID: " + h.call_id + "\r\n";
  if (!h.cseq.empty()) out += "CSeq: " + h.cseq + "\r\n";
  out += "Content-Length: 0\r\n\r\n";
  return out;
}

std::optional<std::string> reject_unparseable(std::string_view bytes, std::string& reason) {
  const std::string_view start = start_line(bytes);
  const auto method = answerable_method(start);
  if (!method) {
    return std::nullopt;
  }
  std::string_view rest = trim(start.substr(method->size()));
  std::string_view uri = rest.substr(0, rest.find_first_of(" \t"));
  std::string scheme = to_lower(uri.substr(0, uri.find(':')));
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Only a well-formed
  // scheme that is not ours earns a 416; "<sip" and the like are plain syntax errors.
  bool well_formed = uri.find(':') != std::string_view::npos && !scheme.empty() &&
                     std::isalpha(static_cast<unsigned char>(scheme[0]));
  for (char c : scheme) {
    well_formed = well_formed &&
                  (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.');
  }
  bool known = !well_formed || scheme == "sip" || scheme == "sips" || scheme == "tel";
  reason = known ? "unparseable" : "unsupported_uri_scheme";
  return known ? raw_response(bytes, 400, "Bad Request")
               : raw_response(bytes, 416, "Unsupported URI Scheme");
}

}  // namespace portico::sip
