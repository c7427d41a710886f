// Address, port, ICE and direction rewriting of a session description (docs/style.md,
// "Layers"). Each helper changes only the lines it names, so what else the peer offered (crypto,
// fmtp, unknown attributes) reaches the other leg unchanged.

#include "portico/sdp/rewrite.hpp"

#include <algorithm>
#include <array>

#include "parse_fields.hpp"
#include "portico/common/strings.hpp"

namespace portico::sdp {
namespace {

// RFC 3605 §2.1: a=rtcp:<port> [<nettype> <addrtype> <connection-address>].
std::string rtcp_value(std::uint16_t port, const std::optional<Connection>& c) {
  std::string v = std::to_string(port);
  if (c) {
    v += ' ' + c->net_type + ' ' + detail::addr_type_for(c->address) + ' ' + c->address;
  }
  return v;
}

// Gives an a=rtcp that carries an address the new one, so RTCP follows RTP to Portico.
void rewrite_rtcp_address(Media& m, const Connection& c) {
  auto r = m.rtcp();
  if (!r || !r->connection) {
    return;
  }
  for (auto& a : m.attributes) {
    if (iequals(a.name, "rtcp")) {
      a.value = rtcp_value(r->port, c);
    }
  }
}

}  // namespace

// The o= address is rewritten too: RFC 4566 §5.2 says it is the address of the machine the
// session was created from, and the peer's address is exactly what topology hiding keeps from
// the other realm.
bool set_connection(Session& s, std::string_view address) {
  bool bad_char = std::any_of(address.begin(), address.end(), [](char ch) {
    return static_cast<unsigned char>(ch) <= ' ' || ch == '\x7f';
  });
  if (address.empty() || bad_char) {
    return false;
  }
  Connection c{"IN", detail::addr_type_for(address), std::string(address)};
  // RFC 4566 §5.7: every media section needs a c=, its own or the session's. Keep the shape
  // the peer used (session-level, per-media or both) and add a session c= only when needed.
  bool all_media_have_c = std::all_of(s.media.begin(), s.media.end(),
                                      [](const Media& m) { return m.connection.has_value(); });
  if (s.connection || !all_media_have_c) {
    s.connection = c;
  }
  for (auto& m : s.media) {
    if (m.connection) {
      m.connection = c;
    }
    rewrite_rtcp_address(m, c);
  }
  s.origin.net_type = c.net_type;
  s.origin.addr_type = c.addr_type;
  s.origin.address = c.address;
  return true;
}

void set_media_port(Media& m, std::uint16_t rtp_port, std::optional<std::uint16_t> rtcp_port) {
  m.port = rtp_port;
  // RFC 5761 §5.1.1: with rtcp-mux, RTCP shares the RTP port, so an a=rtcp naming another port
  // would only mislead a peer that does not support mux into sending RTCP where nobody listens.
  if (!rtcp_port || m.rtcp_mux()) {
    remove_attributes(m.attributes, "rtcp");
    return;
  }
  auto existing = m.rtcp();
  auto first = std::find_if(m.attributes.begin(), m.attributes.end(),
                            [](const Attribute& a) { return iequals(a.name, "rtcp"); });
  if (first == m.attributes.end()) {
    if (static_cast<std::uint32_t>(*rtcp_port) != static_cast<std::uint32_t>(rtp_port) + 1U) {
      m.attributes.push_back(Attribute{"rtcp", rtcp_value(*rtcp_port, std::nullopt)});
    }
    return;
  }
  first->name = "rtcp";
  first->value = rtcp_value(*rtcp_port, existing ? existing->connection : std::nullopt);
  // A second a=rtcp is meaningless (RFC 3605 defines one per media); drop any duplicates.
  auto index = static_cast<std::size_t>(first - m.attributes.begin());
  for (std::size_t i = m.attributes.size(); i-- > index + 1;) {
    if (iequals(m.attributes[i].name, "rtcp")) {
      m.attributes.erase(m.attributes.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

std::size_t strip_ice(Session& s) {
  static constexpr std::array<std::string_view, 8> kIce = {
      "ice-ufrag",    "ice-pwd",   "ice-options",       "ice-lite",
      "ice-mismatch", "candidate", "remote-candidates", "end-of-candidates"};
  std::size_t removed = 0;
  for (auto name : kIce) {
    removed += remove_attributes(s.attributes, name);
    for (auto& m : s.media) {
      removed += remove_attributes(m.attributes, name);
    }
  }
  return removed;
}

// Replacing in place keeps the attribute order the peer used, so an unchanged direction yields
// byte-identical SDP (and OriginVersioner keeps the version).
void set_direction(Media& m, Direction d) {
  auto is_direction = [](const Attribute& a) {
    return !a.value && direction_from_name(a.name).has_value();
  };
  auto first = std::find_if(m.attributes.begin(), m.attributes.end(), is_direction);
  Attribute attr{std::string(to_string(d)), std::nullopt};
  if (first == m.attributes.end()) {
    m.attributes.push_back(std::move(attr));
    return;
  }
  *first = std::move(attr);
  auto index = first - m.attributes.begin();
  auto tail = std::remove_if(m.attributes.begin() + index + 1, m.attributes.end(), is_direction);
  m.attributes.erase(tail, m.attributes.end());
}

Direction reverse(Direction offered) {
  switch (offered) {
    case Direction::SendOnly:
      return Direction::RecvOnly;
    case Direction::RecvOnly:
      return Direction::SendOnly;
    case Direction::Inactive:
      return Direction::Inactive;
    case Direction::SendRecv:
      break;
  }
  return Direction::SendRecv;
}

}  // namespace portico::sdp
