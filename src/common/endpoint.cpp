// Endpoint and protocol helpers. These strings end up in Via headers (RFC 3261 §20.42:
// sent-protocol "SIP/2.0/UDP"), URIs (RFC 3261 §19.1.1 / RFC 3986 §3.2.2: IPv6 references in
// brackets), logs and metric labels, so they are spelled in exactly one place.

#include "portico/common/endpoint.hpp"

#include <asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <system_error>

namespace portico {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::Udp:
      return "udp";
    case Protocol::Tcp:
      return "tcp";
    case Protocol::Tls:
      return "tls";
  }
  return "udp";
}

std::string_view via_token(Protocol p) {
  switch (p) {
    case Protocol::Udp:
      return "UDP";
    case Protocol::Tcp:
      return "TCP";
    case Protocol::Tls:
      return "TLS";
  }
  return "UDP";
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<Protocol> parse_protocol(std::string_view s) {
  // Transport tokens are case-insensitive (RFC 3261 §7.1 / §25.1 "token" comparisons).
  if (iequals(s, "udp")) {
    return Protocol::Udp;
  }
  if (iequals(s, "tcp")) {
    return Protocol::Tcp;
  }
  if (iequals(s, "tls")) {
    return Protocol::Tls;
  }
  return std::nullopt;
}

bool is_reliable(Protocol p) { return p != Protocol::Udp; }

std::string Endpoint::host_for_uri() const {
  if (address.is_v6()) {
    // RFC 3261 §25.1 IPv6reference: "[" IPv6address "]". Scope ids are not carried in SIP.
    auto v6 = address.to_v6();
    v6.scope_id(0);
    return "[" + v6.to_string() + "]";
  }
  return address.to_string();
}

std::string Endpoint::to_string() const { return host_for_uri() + ":" + std::to_string(port); }

std::optional<Endpoint> parse_endpoint(std::string_view host, std::uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    return std::nullopt;
  }
  std::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return std::nullopt;
  }
  return Endpoint{address, port};
}

std::size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
  // FNV-1a over the address bytes and the port: cheap and well spread for a connection index.
  std::size_t h = 1469598103934665603ull;
  auto mix = [&h](unsigned char b) { h = (h ^ b) * 1099511628211ull; };
  if (e.address.is_v4()) {
    for (unsigned char b : e.address.to_v4().to_bytes()) {
      mix(b);
    }
  } else {
    for (unsigned char b : e.address.to_v6().to_bytes()) {
      mix(b);
    }
  }
  mix(static_cast<unsigned char>(e.port >> 8));
  mix(static_cast<unsigned char>(e.port & 0xff));
  return h;
}

}  // namespace portico
