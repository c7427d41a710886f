// Typed views over a media section's attributes: rtpmap/fmtp (RFC 4566 §6), direction
// (RFC 3264 §5.1), rtcp (RFC 3605 §2.1), rtcp-mux (RFC 5761 §5.1.1), ptime (RFC 4566 §6).
// They read the attribute list as the peer sent it; a malformed value reads as absent rather
// than failing the whole body, since the attribute may be one Portico never needs.

#include <limits>

#include "parse_fields.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/session.hpp"

namespace portico::sdp {
namespace {

// The first attribute named `name` whose value starts with "<pt>" followed by SP or the end.
// The boundary check matters: "a=rtpmap:101 ..." must not answer a lookup for PT 10.
const Attribute* find_for_pt(const std::vector<Attribute>& attrs, std::string_view name,
                             std::string_view pt) {
  for (const auto& a : attrs) {
    if (!a.value || !iequals(a.name, name)) {
      continue;
    }
    std::string_view v = *a.value;
    if (v.substr(0, pt.size()) == pt && (v.size() == pt.size() || v[pt.size()] == ' ')) {
      return &a;
    }
  }
  return nullptr;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  auto v = parse_uint(s);
  if (!v || *v > std::numeric_limits<std::uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*v);
}

}  // namespace

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::SendOnly:
      return "sendonly";
    case Direction::RecvOnly:
      return "recvonly";
    case Direction::Inactive:
      return "inactive";
    case Direction::SendRecv:
      break;
  }
  return "sendrecv";
}

std::optional<Direction> direction_from_name(std::string_view name) {
  for (auto d :
       {Direction::SendRecv, Direction::SendOnly, Direction::RecvOnly, Direction::Inactive}) {
    if (iequals(name, to_string(d))) {
      return d;
    }
  }
  return std::nullopt;
}

const Attribute* find_attribute(const std::vector<Attribute>& attrs, std::string_view name) {
  for (const auto& a : attrs) {
    if (iequals(a.name, name)) {
      return &a;
    }
  }
  return nullptr;
}

bool has_attribute(const std::vector<Attribute>& attrs, std::string_view name) {
  return find_attribute(attrs, name) != nullptr;
}

std::size_t remove_attributes(std::vector<Attribute>& attrs, std::string_view name) {
  return std::erase_if(attrs, [name](const Attribute& a) { return iequals(a.name, name); });
}

std::optional<RtpMap> Media::rtpmap(std::string_view pt) const {
  const Attribute* a = find_for_pt(attributes, "rtpmap", pt);
  if (a == nullptr) {
    return std::nullopt;
  }
  // RFC 4566 §6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>];
  // for audio the parameters are the channel count (RFC 3551 §4.1: absent means one).
  auto f = detail::split_fields(*a->value);
  if (f.size() < 2) {
    return std::nullopt;
  }
  std::string_view enc = f[1];
  auto s1 = enc.find('/');
  if (s1 == 0 || s1 == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = enc.substr(s1 + 1);
  auto s2 = rest.find('/');
  auto clock = parse_u32(rest.substr(0, s2));
  if (!clock) {
    return std::nullopt;
  }
  RtpMap map{std::string(pt), std::string(enc.substr(0, s1)), *clock, std::nullopt};
  if (s2 != std::string_view::npos) {
    map.channels = parse_u32(rest.substr(s2 + 1));
    if (!map.channels) {
      return std::nullopt;
    }
  }
  return map;
}

std::optional<std::string_view> Media::fmtp(std::string_view pt) const {
  const Attribute* a = find_for_pt(attributes, "fmtp", pt);
  if (a == nullptr) {
    return std::nullopt;
  }
  return trim(std::string_view(*a->value).substr(pt.size()));
}

std::optional<Direction> Media::own_direction() const {
  // RFC 4566 §6 defines the four as property attributes (no value); "a=sendonly:x" is some
  // other attribute and is left alone. If a peer sends two, the first wins, as set_direction()
  // collapses them to one anyway.
  for (const auto& a : attributes) {
    if (auto d = direction_from_name(a.name); d && !a.value) {
      return d;
    }
  }
  return std::nullopt;
}

std::optional<RtcpAttribute> Media::rtcp() const {
  const Attribute* a = find_attribute(attributes, "rtcp");
  if (a == nullptr || !a->value) {
    return std::nullopt;
  }
  // Only the two forms RFC 3605 §2.1 allows: the port alone, or the port with a full
  // <nettype> <addrtype> <address> triple.
  auto f = detail::split_fields(*a->value);
  auto rtcp_port = parse_uint(f.empty() ? std::string_view{} : f[0]);
  if (!rtcp_port || *rtcp_port > std::numeric_limits<std::uint16_t>::max() ||
      (f.size() != 1 && f.size() != 4)) {
    return std::nullopt;
  }
  RtcpAttribute r{static_cast<std::uint16_t>(*rtcp_port), std::nullopt};
  if (f.size() == 4) {
    r.connection = Connection{std::string(f[1]), std::string(f[2]), std::string(f[3])};
  }
  return r;
}

bool Media::rtcp_mux() const { return has_attribute(attributes, "rtcp-mux"); }

std::optional<std::uint32_t> Media::ptime() const {
  const Attribute* a = find_attribute(attributes, "ptime");
  if (a == nullptr || !a->value) {
    return std::nullopt;
  }
  // RFC 4566 §6 does not forbid a fraction ("20.0" is seen in the wild); whole ms are kept.
  std::string_view v = trim(*a->value);
  return parse_u32(v.substr(0, v.find('.')));
}

Direction direction(const Session& s, const Media& m) {
  if (auto own = m.own_direction()) {
    return *own;
  }
  // RFC 4566 §6: a session-level direction applies to media sections without their own.
  for (const auto& a : s.attributes) {
    if (auto d = direction_from_name(a.name); d && !a.value) {
      return *d;
    }
  }
  return Direction::SendRecv;
}

}  // namespace portico::sdp
