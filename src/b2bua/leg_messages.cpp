// Building messages from a leg's own dialog state. Nothing here reads the other leg: that is
// what keeps one realm's addresses, tags and Call-IDs off the other realm.

#include <array>
#include <cctype>

#include <asio/ip/address.hpp>

#include "b2bua_impl.hpp"
#include "portico/b2bua/srtp_media.hpp"
#include "portico/common/strings.hpp"
#include "portico/sip/message_builder.hpp"

namespace portico::b2bua {
namespace {

// Headers a dialog needs end to end. None of them carries an address of either realm.
constexpr std::array<std::string_view, 15> kProtocolHeaders = {
    "Supported",          "Require",           "Allow",         "Accept",
    "Content-Disposition", "Info-Package",     "Recv-Info",     "Event",
    "Allow-Events",       "Subscription-State", "Session-Expires", "Min-SE",
    "Expires",            "Unsupported",       "Retry-After"};

bool listed(std::string_view name, const std::vector<std::string>& list) {
  for (const auto& n : list) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

bool is_protocol_header(std::string_view name) {
  for (auto n : kProtocolHeaders) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

// Supported/Require lists without "100rel": reliability of provisionals is negotiated per leg.
std::string without_100rel(std::string_view value) {
  std::string out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view item =
        trim(value.substr(start, comma == std::string_view::npos ? value.npos : comma - start));
    if (!item.empty() && !iequals(item, "100rel")) {
      if (!out.empty()) {
        out += ", ";
      }
      out += item;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace

void add_header_lines(sip::MessageBuilder& b, std::string_view lines) {
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find("\r\n", start);
    std::string_view line = lines.substr(start, end == std::string_view::npos ? lines.npos
                                                                             : end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      b.header(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 2;
  }
}

std::string name_addr(const std::string& display, const std::string& uri) {
  if (display.empty()) {
    return "<" + uri + ">";
  }
  std::string d = display;
  if (d.front() != '"') {
    d = "\"" + d + "\"";
  }
  return d + " <" + uri + ">";
}

std::string via_value(transport::Protocol p, const std::string& host, std::uint16_t port,
                      const std::string& branch) {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "SIP/2.0/" + std::string(transport::via_token(p)) + " " + h + ":" + std::to_string(port) +
         ";branch=" + branch + ";rport";
}

std::string new_branch() { return "z9hG4bK" + random_token(20); }

std::string contact_for(const std::string& host, std::uint16_t port, transport::Protocol p) {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string uri = "sip:" + h + ":" + std::to_string(port);
  if (p != transport::Protocol::Udp) {
    uri += ";transport=" + std::string(transport::to_string(p));
  }
  return "<" + uri + ">";
}

std::string target_uri(const std::string& user, const transport::Endpoint& ep,
                       transport::Protocol p) {
  std::string uri = "sip:";
  if (!user.empty()) {
    uri += user + "@";
  }
  uri += ep.host_for_uri() + ":" + std::to_string(ep.port);
  if (p != transport::Protocol::Udp) {
    uri += ";transport=" + std::string(transport::to_string(p));
  }
  return uri;
}

std::string leg_request(const Leg& leg, std::string_view method, std::uint32_t cseq,
                        const std::string& via_host, std::uint16_t via_port,
                        const std::string& branch, const std::string& extra,
                        const std::string& content_type, const std::string& body,
                        int max_forwards) {
  auto b = sip::MessageBuilder::request(method, leg.remote_target);
  b.header("Via", via_value(leg.dst.protocol, via_host, via_port, branch));
  b.header("Max-Forwards", std::to_string(max_forwards));
  b.header("From", leg.local_uri + ";tag=" + leg.local_tag);
  b.header("To", leg.remote_tag.empty() ? leg.remote_uri
                                        : leg.remote_uri + ";tag=" + leg.remote_tag);
  b.header("Call-ID", leg.call_id);
  b.header("CSeq", std::to_string(cseq) + " " + std::string(method));
  for (const auto& r : leg.route_set) {
    b.header("Route", r);
  }
  if (method == "INVITE" || method == "UPDATE" || method == "SUBSCRIBE" ||
      method == "NOTIFY" || method == "REFER") {
    b.header("Contact", leg.contact);
  }
  add_header_lines(b, extra);
  return b.body(content_type, body).build();
}

std::string hide_hosts(std::string_view value, const std::string& local_host) {
  // Every "sip:"/"sips:" URI gets Portico's own address as its host, whether it named an IP
  // literal or a host name (an internal name tells as much about the network as an address):
  // identity headers keep their user part (the number) but no longer name a private host.
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    size_t at = value.find("sip", i);
    if (at == std::string_view::npos) {
      break;
    }
    size_t colon = value.find(':', at);
    bool scheme = colon == at + 3 || (colon == at + 4 && (value[at + 3] == 's' || value[at + 3] == 'S'));
    if (!scheme || (at > 0 && std::isalnum(static_cast<unsigned char>(value[at - 1])))) {
      out.append(value.substr(i, at + 3 - i));
      i = at + 3;
      continue;
    }
    size_t end = value.find_first_of(">;?, \t\"", colon + 1);
    if (end == std::string_view::npos) {
      end = value.size();
    }
    std::string_view uri = value.substr(colon + 1, end - colon - 1);
    size_t host_at = uri.find('@');
    host_at = host_at == std::string_view::npos ? 0 : host_at + 1;
    std::string_view hostport = uri.substr(host_at);
    std::string_view host = hostport;
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
    } else {
      host = host.substr(0, host.find(':'));
    }
    out.append(value.substr(i, colon + 1 + host_at - i));
    if (!host.empty()) {
      out.append(local_host.find(':') != std::string::npos ? "[" + local_host + "]" : local_host);
    } else {
      out.append(hostport);
    }
    i = end;
  }
  out.append(value.substr(std::min(i, value.size())));
  return out;
}

std::string relayed_headers(const sip::Message& msg, const policy::HeaderRules& rules,
                            const std::string& local_host, bool trusted,
                            PassedHeaderCounts& counts) {
  std::string out;
  for (const auto& [name, value] : msg.headers()) {
    bool ua = iequals(name, "User-Agent") || iequals(name, "Server");
    bool keep = ua ? rules.pass_user_agent : (listed(name, rules.pass) || is_protocol_header(name));
    if (!keep) {
      continue;
    }
    if (!trusted && policy::is_identity_header(name)) {
      ++counts.identity_removed;  // RFC 3325 §5: only a trusted peer may assert an identity
      continue;
    }
    if (value.size() > rules.max_header_value) {
      ++counts.too_long_dropped;  // what crosses is bounded; the initial INVITE may refuse
      continue;
    }
    if (!local_host.empty() && listed(name, rules.pass)) {
      out += name + ": " + hide_hosts(value, local_host) + "\r\n";
      continue;
    }
    if (iequals(name, "Supported") || iequals(name, "Require")) {
      std::string v = without_100rel(value);
      if (!v.empty()) {
        out += name + ": " + v + "\r\n";
      }
      continue;
    }
    out += name + ": " + value + "\r\n";
  }
  return out;
}

std::string media_warning(const std::string& reason, const std::string& host) {
  if (std::string srtp = srtp_warning(reason, host); !srtp.empty()) {
    return srtp;  // SRTP negotiation: RFC 3261 §20.43 code 399 with the reason in words
  }
  // RFC 3261 §20.43 codes with fixed texts: a refusal names no realm, address or port range.
  // The warn-agent is the "-" pseudonym, which names no product either.
  if (reason == "media_address_refused") {
    return "Warning: 301 - \"Incompatible network address\"\r\n";
  }
  return "Warning: 305 - \"Incompatible media format\"\r\n";
}

std::string relayed_reason(const sip::Message& resp, const policy::HeaderRules& rules) {
  // Empty = the standard phrase: the other leg's text may name its product or its network.
  return rules.relay_reason_phrases ? resp.reason_phrase() : std::string();
}

}  // namespace portico::b2bua
