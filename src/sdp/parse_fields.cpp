// Field parsers for single SDP lines (RFC 4566 §5). They check structure only: the number of
// fields and that numbers are numbers. Values Portico does not act on (nettype, proto, the
// attribute values) are kept as sent, so a peer's unusual but legal SDP survives the relay.

#include "parse_fields.hpp"

#include <limits>

#include "portico/common/strings.hpp"

namespace portico::sdp::detail {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
  auto v = parse_uint(s);
  if (!v || *v > std::numeric_limits<std::uint16_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

}  // namespace

Error syntax_error(std::size_t line_no, std::string_view what) {
  return make_error("sdp_syntax", "line " + std::to_string(line_no) + ": " + std::string(what));
}

std::vector<std::string_view> split_fields(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = value.find(' ', i);
    if (end == std::string_view::npos) {
      end = value.size();
    }
    out.push_back(value.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string addr_type_for(std::string_view address) {
  return address.find(':') == std::string_view::npos ? "IP4" : "IP6";
}

Result<Origin> parse_origin(std::string_view value, std::size_t line_no) {
  // RFC 4566 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
  auto f = split_fields(value);
  if (f.size() != 6) {
    return syntax_error(line_no,
                        "o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> "
                        "<address>");
  }
  auto id = parse_uint(f[1]);
  if (!id) {
    return syntax_error(line_no, "o= sess-id is not a number");
  }
  auto version = parse_uint(f[2]);
  if (!version) {
    return syntax_error(line_no, "o= sess-version is not a number");
  }
  return Origin{std::string(f[0]), *id, *version, std::string(f[3]), std::string(f[4]),
                std::string(f[5])};
}

Result<Connection> parse_connection(std::string_view value, std::size_t line_no) {
  // RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>
  auto f = split_fields(value);
  if (f.size() != 3) {
    return syntax_error(line_no, "c= needs <nettype> <addrtype> <address>");
  }
  return Connection{std::string(f[0]), std::string(f[1]), std::string(f[2])};
}

Result<Bandwidth> parse_bandwidth(std::string_view value, std::size_t line_no) {
  // RFC 4566 §5.8: b=<bwtype>:<bandwidth>, bandwidth in kilobits per second (or bits for TIAS).
  auto colon = value.find(':');
  if (colon == 0 || colon == std::string_view::npos) {
    return syntax_error(line_no, "b= needs <bwtype>:<bandwidth>");
  }
  auto bw = parse_uint(value.substr(colon + 1));
  if (!bw) {
    return syntax_error(line_no, "b= bandwidth is not a number");
  }
  return Bandwidth{std::string(value.substr(0, colon)), *bw};
}

Result<Timing> parse_timing(std::string_view value, std::size_t line_no) {
  // RFC 4566 §5.9: t=<start-time> <stop-time>, NTP seconds; "t=0 0" for a SIP session.
  auto f = split_fields(value);
  if (f.size() != 2) {
    return syntax_error(line_no, "t= needs <start> <stop>");
  }
  auto start = parse_uint(f[0]);
  auto stop = parse_uint(f[1]);
  if (!start || !stop) {
    return syntax_error(line_no, "t= times are not numbers");
  }
  return Timing{*start, *stop, {}};
}

Result<Attribute> parse_attribute(std::string_view value, std::size_t line_no) {
  // RFC 4566 §5.13: a=<attribute> or a=<attribute>:<value>; the value may itself hold ':'.
  auto colon = value.find(':');
  std::string_view name = value.substr(0, colon);
  if (name.empty()) {
    return syntax_error(line_no, "a= has an empty attribute name");
  }
  if (name.find(' ') != std::string_view::npos) {
    return syntax_error(line_no, "a= attribute name contains a space");
  }
  Attribute a{std::string(name), std::nullopt};
  if (colon != std::string_view::npos) {
    a.value = std::string(value.substr(colon + 1));
  }
  return a;
}

// The format count is bounded (kMaxFormatsPerMedia) because codec filtering looks each format
// up in the attribute list; without a bound one 64 KiB m= line would cost millions of lookups.
Result<Media> parse_media_line(std::string_view value, std::size_t line_no) {
  // RFC 4566 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
  auto f = split_fields(value);
  if (f.size() < 4) {
    return syntax_error(line_no, "m= needs <media> <port> <proto> <fmt>...");
  }
  if (f.size() - 3 > kMaxFormatsPerMedia) {
    return make_error("sdp_limit", "line " + std::to_string(line_no) + ": m= has more than " +
                                       std::to_string(kMaxFormatsPerMedia) + " formats");
  }
  Media m;
  m.type = std::string(f[0]);
  std::string_view port = f[1];
  auto slash = port.find('/');
  if (slash != std::string_view::npos) {
    auto count = parse_port(port.substr(slash + 1));
    if (!count || *count == 0) {
      return syntax_error(line_no, "m= port count is not a number 1-65535");
    }
    m.port_count = *count;
    port = port.substr(0, slash);
  }
  auto p = parse_port(port);
  if (!p) {
    return syntax_error(line_no, "m= port is not a number 0-65535");
  }
  m.port = *p;
  m.proto = std::string(f[2]);
  for (std::size_t i = 3; i < f.size(); ++i) {
    m.formats.emplace_back(f[i]);
  }
  return m;
}

}  // namespace portico::sdp::detail
