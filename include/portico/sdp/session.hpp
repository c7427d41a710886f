#pragma once
// Typed SDP model (RFC 4566) with parse/serialize that round-trips what a peer sent.
//
// The model keeps every line: the fields Portico acts on are typed (origin, connection,
// media, attributes), the rest is kept as text, and lines with a type letter we do not know
// are kept with the letter of the line they followed, so serialize() puts them back where they
// were. Output order is the RFC 4566 §5 order (v,o,s,i,u,e,p,c,b,t,r,z,k,a, then each m= with
// its i,c,b,k,a); input in that order therefore serializes byte-for-byte (with CRLF).
//
// All of it is plain values and pure functions: any thread may call them; a Session belongs to
// whoever holds it (in practice the shard that owns the call).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portico/common/result.hpp"

namespace portico::sdp {

/// One a= line: `a=name` (property) or `a=name:value`. Unknown names are kept verbatim.
struct Attribute {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const Attribute&) const = default;
};

/// A line whose type letter the model does not know (RFC 4566 §5: ignored, but we relay it).
/// `after` is the type letter of the line it followed in its section ('m' right after m=).
struct ExtraLine {
  char after = 0;
  char type = 0;
  std::string value;
  bool operator==(const ExtraLine&) const = default;
};

/// o= (RFC 4566 §5.2).
struct Origin {
  std::string username;
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  bool operator==(const Origin&) const = default;
};

/// c= (RFC 4566 §5.7). `address` keeps any multicast "/ttl/count" suffix as sent.
struct Connection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  bool operator==(const Connection&) const = default;
};

/// b=<bwtype>:<bandwidth> (RFC 4566 §5.8).
struct Bandwidth {
  std::string type;
  std::uint64_t value = 0;
  bool operator==(const Bandwidth&) const = default;
};

/// t= with the r= lines that belong to it (RFC 4566 §5.9, §5.10); r= kept as text.
struct Timing {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
  std::vector<std::string> repeats;
  bool operator==(const Timing&) const = default;
};

/// a=rtpmap:<pt> <encoding>/<clock>[/<channels>] (RFC 4566 §6).
struct RtpMap {
  std::string payload_type;
  std::string encoding_name;
  std::uint32_t clock_rate = 0;
  std::optional<std::uint32_t> channels;
};

/// a=rtcp:<port> [<nettype> <addrtype> <address>] (RFC 3605 §2.1).
struct RtcpAttribute {
  std::uint16_t port = 0;
  std::optional<Connection> connection;
};

/// Media direction (RFC 3264 §5.1, RFC 4566 §6). Hold is expressed with SendOnly/Inactive.
enum class Direction { SendRecv, SendOnly, RecvOnly, Inactive };

std::string_view to_string(Direction d);
/// The direction an attribute name stands for, or nullopt if it is not one of the four.
std::optional<Direction> direction_from_name(std::string_view name);

/// Attribute list helpers (names compared case-insensitively, as peers vary).
const Attribute* find_attribute(const std::vector<Attribute>& attrs, std::string_view name);
bool has_attribute(const std::vector<Attribute>& attrs, std::string_view name);
/// Removes every attribute with that name; returns how many were removed.
std::size_t remove_attributes(std::vector<Attribute>& attrs, std::string_view name);

/// One media description: m= line plus its i,c,b,k,a lines (RFC 4566 §5.14).
struct Media {
  std::string type;  // "audio", "video", "application", ...
  std::uint16_t port = 0;
  std::optional<std::uint16_t> port_count;  // m=<port>/<count>
  std::string proto;                        // "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", ...
  std::vector<std::string> formats;         // payload types for RTP protos
  std::optional<std::string> title;         // i=
  std::optional<Connection> connection;
  std::vector<Bandwidth> bandwidths;
  std::optional<std::string> key;  // k=
  std::vector<Attribute> attributes;
  std::vector<ExtraLine> extra_lines;

  /// a=rtpmap for `pt`, parsed; nullopt when absent or malformed.
  std::optional<RtpMap> rtpmap(std::string_view pt) const;
  /// The parameters of a=fmtp:<pt> <params>; nullopt when absent. Views into this Media.
  std::optional<std::string_view> fmtp(std::string_view pt) const;
  /// This section's own direction attribute; nullopt when it has none (see sdp::direction()).
  std::optional<Direction> own_direction() const;
  /// a=rtcp parsed (RFC 3605); nullopt when absent or malformed.
  std::optional<RtcpAttribute> rtcp() const;
  /// a=rtcp-mux present (RFC 5761 §5.1.1).
  bool rtcp_mux() const;
  /// a=ptime in milliseconds; nullopt when absent or not a number.
  std::optional<std::uint32_t> ptime() const;
  /// Port 0: the stream is rejected or removed (RFC 3264 §5.1, §8.2).
  bool disabled() const { return port == 0; }

  bool operator==(const Media&) const = default;
};

/// A whole session description.
struct Session {
  std::uint32_t version = 0;  // v= (always 0, RFC 4566 §5.1)
  Origin origin;
  std::string name = "-";                  // s=
  std::optional<std::string> information;  // i=
  std::optional<std::string> uri;          // u=
  std::vector<std::string> emails;         // e=
  std::vector<std::string> phones;         // p=
  std::optional<Connection> connection;
  std::vector<Bandwidth> bandwidths;
  std::vector<Timing> timings;
  std::optional<std::string> time_zones;  // z=
  std::optional<std::string> key;         // k=
  std::vector<Attribute> attributes;
  std::vector<ExtraLine> extra_lines;
  std::vector<Media> media;

  bool operator==(const Session&) const = default;
};

/// The effective direction of `m`: its own attribute, else the session-level one, else
/// sendrecv (RFC 4566 §6, RFC 3264 §5.1).
Direction direction(const Session& s, const Media& m);

/// Bounds on the work parse() does for one body.
inline constexpr std::size_t kMaxSdpBytes = 64 * 1024;
inline constexpr std::size_t kMaxSdpLines = 1000;
inline constexpr std::size_t kMaxMediaSections = 64;
inline constexpr std::size_t kMaxFormatsPerMedia = 128;  // the RTP payload type space is 0-127

/// Parses an SDP body (CRLF or bare LF, trailing whitespace and blank lines tolerated).
/// Errors: reason "sdp_syntax" or "sdp_limit", detail naming the line ("line 4: ...").
/// Never throws on peer input. Pure; any thread.
Result<Session> parse(std::string_view text);

/// How many media descriptions (lines starting "m=") `text` holds, counted without parsing, so
/// an offer with too many is refused before any work (policy limits.max_media_streams). In a
/// multipart body every part counts. Pure; any thread.
std::size_t count_media_lines(std::string_view text);

/// Renders `s` with CRLF line ends in RFC 4566 §5 order. Pure; any thread.
std::string serialize(const Session& s);

}  // namespace portico::sdp
