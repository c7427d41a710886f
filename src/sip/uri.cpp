// parse_uri(): SIP/SIPS URIs (RFC 3261 §19.1) through osip's URI parser, tel URIs (RFC 3966)
// by hand. osip accepts an IPv6 host without brackets ("sip:2001:db8::10" becomes host
// "2001:db8:" port "10"), which RFC 5118 §4.10 says is invalid, so the host-port text is
// checked here as written.

#include <cctype>

#include "message_impl.hpp"
#include "osip_adapter.hpp"
#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

/// The part of "user@host:port;params?headers" after the userinfo. '@' is legal in neither
/// uri-parameters nor hvalues (§25.1), so the last '@' ends the userinfo, which itself may
/// contain '?', ';' and ',' (RFC 4475 §3.1.1.2, intmeth).
std::string_view after_userinfo(std::string_view rest) {
  auto at = rest.rfind('@');
  return at == std::string_view::npos ? rest : rest.substr(at + 1);
}

std::string_view hostport_text(std::string_view rest) {
  rest = after_userinfo(rest);
  return rest.substr(0, rest.find_first_of(";?"));
}

bool valid_hostport_text(std::string_view hp) {
  std::string_view host = hp;
  std::string_view port;
  if (!hp.empty() && hp.front() == '[') {
    auto close = hp.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = hp.substr(1, close - 1);
    std::string_view after = hp.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return false;
      }
      port = after.substr(1);
      if (port.empty()) {
        return false;
      }
    }
    if (host.find(':') == std::string_view::npos) {
      return false;
    }
  } else {
    auto colon = hp.find(':');
    if (colon != std::string_view::npos) {
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
      if (port.empty()) {
        return false;
      }
    }
    if (host.find(':') != std::string_view::npos) {
      return false;
    }
  }
  return valid_host(host, true) && (port.empty() || parse_uint(port, 65535).has_value());
}

Result<Uri> parse_tel(std::string_view text) {
  Uri out;
  out.scheme = "tel";
  std::string_view rest = text.substr(4);
  std::string_view number = rest.substr(0, rest.find(';'));
  if (number.empty()) {
    return make_error("bad_uri", "Empty tel URI number");
  }
  out.user = std::string(number);
  return out;
}

Result<Uri> parse_sip(std::string_view text, std::string_view scheme) {
  if (!valid_hostport_text(hostport_text(text.substr(scheme.size() + 1)))) {
    return make_error("bad_uri", "Malformed URI host");
  }
  osip::ensure_initialized();
  osip_uri_t* raw = nullptr;
  if (osip_uri_init(&raw) != 0 || raw == nullptr) {
    return make_error("bad_uri", "Parser out of memory");
  }
  osip::UriPtr uri(raw);
  std::string copy(text);
  if (osip_uri_parse(uri.get(), copy.c_str()) != 0 || uri->host == nullptr) {
    return make_error("bad_uri", "Malformed URI");
  }
  Uri out;
  out.scheme = to_lower(osip::str(uri->scheme));
  out.user = osip::str(uri->username);
  out.host = osip::str(uri->host);
  if (uri->port != nullptr) {
    auto port = parse_uint(uri->port, 65535);
    if (!port) {
      return make_error("bad_uri", "Malformed URI port");
    }
    out.port = static_cast<std::uint16_t>(*port);
  }
  if (const auto* t = osip::find_param(&uri->url_params, "transport"); t != nullptr) {
    out.transport = to_lower(osip::str(t->gvalue));
  }
  out.lr = osip::find_param(&uri->url_params, "lr") != nullptr;
  return out;
}

}  // namespace

std::string escape_user(std::string_view user) {
  // unreserved = alphanum / mark; user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
  static constexpr std::string_view kKeep = "-_.!~*'()&=+$,;?/";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(user.size());
  for (const char ch : user) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (alnum || kKeep.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4U];
      out += kHex[c & 0xFU];
    }
  }
  return out;
}

bool uri_has_headers(std::string_view uri) {
  return after_userinfo(uri).find('?') != std::string_view::npos;
}

Result<Uri> parse_uri(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '<' && text.back() == '>') {
    text = text.substr(1, text.size() - 2);
  }
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return make_error("bad_uri", "URI has no scheme");
  }
  std::string scheme = to_lower(text.substr(0, colon));
  if (scheme == "sip" || scheme == "sips") {
    return parse_sip(text, scheme);
  }
  if (scheme == "tel") {
    return parse_tel(text);
  }
  return make_error("unsupported_uri_scheme", "Unsupported URI scheme");
}

}  // namespace portico::sip
