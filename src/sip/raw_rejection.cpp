// Answering requests libosip2 cannot parse. RFC 4475 §3.1.2 expects a 400 for a malformed
// request whenever a response can be formed at all, so the sender learns what went wrong
// instead of retransmitting into silence. A response needs only the Via, From, To, Call-ID and
// CSeq lines (RFC 3261 §8.2.6); they are copied as raw text, unfolded, without interpretation.

#include <array>
#include <cctype>

#include "portico/common/strings.hpp"
#include "portico/sip/message_builder.hpp"

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

void keep(RawHeaders& h, std::string_view name, std::string value) {
  if (iequals(name, "Via") || iequals(name, "v")) {
    h.vias.push_back(std::move(value));
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

// Header lines after the start line, with RFC 3261 §7.3.1 folding undone.
RawHeaders read_headers(std::string_view head) {
  RawHeaders h;
  std::string name;
  std::string value;
  auto flush = [&] {
    if (!name.empty()) {
      keep(h, trim(name), std::string(trim(value)));
    }
    name.clear();
    value.clear();
  };
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find('\n', pos);
    std::string_view line = head.substr(pos, end == std::string_view::npos ? head.npos : end - pos);
    pos = end == std::string_view::npos ? head.size() : end + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      value += " ";
      value += trim(line);
      continue;
    }
    flush();
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      name = std::string(line.substr(0, colon));
      value = std::string(line.substr(colon + 1));
    }
  }
  flush();
  return h;
}

}  // namespace

std::optional<std::string> reject_unparseable(std::string_view bytes, std::string& reason) {
  size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    head_end = bytes.find("\n\n");
  }
  std::string_view head = bytes.substr(0, head_end);
  std::string_view start = head.substr(0, head.find('\n'));
  start = trim(start);
  std::string_view method = start.substr(0, start.find_first_of(" \t"));
  if (!is_token(method) || method.starts_with("SIP/") || method == "ACK") {
    return std::nullopt;  // a response, an ACK, or not SIP at all: nothing to answer
  }
  RawHeaders h = read_headers(head.substr(std::min(head.size(), head.find('\n') + 1)));
  if (h.vias.empty()) {
    return std::nullopt;  // nowhere to route a response (§18.2.2)
  }
  std::string_view rest = trim(start.substr(method.size()));
  std::string_view uri = rest.substr(0, rest.find_first_of(" \t"));
  std::string scheme = to_lower(uri.substr(0, uri.find(':')));
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Only a well-formed
  // scheme that is not ours earns a 416; "<sip" and the like are plain syntax errors.
  bool well_formed = uri.find(':') != std::string_view::npos && !scheme.empty() &&
                     std::isalpha(static_cast<unsigned char>(scheme[0]));
  for (char c : scheme) {
    well_formed = well_formed && (std::isalnum(static_cast<unsigned char>(c)) || c == '+' ||
                                  c == '-' || c == '.');
  }
  bool known = !well_formed || scheme == "sip" || scheme == "sips" || scheme == "tel";
  int status = known ? 400 : 416;
  reason = known ? "unparseable" : "unsupported_uri_scheme";
  std::string out = "SIP/2.0 " + std::to_string(status) + " " +
                    std::string(known ? "Bad Request" : "Unsupported URI Scheme") + "\r\n";
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

}  // namespace portico::sip
