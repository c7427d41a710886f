#pragma once
// Rewriting helpers the media layer applies to a parsed offer or answer before relaying it to
// the other leg (docs/style.md, "Layers"): Portico's own addresses and ports,
// its own o= line, the codec policy, no ICE from the other realm.
//
// All are pure functions over the model (or, for OriginVersioner, one small value per leg):
// any thread may call them on a Session it owns; in practice the call's shard.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portico/sdp/session.hpp"

namespace portico::sdp {

/// Points the session at `address` (IPv4 or IPv6 literal; addrtype picked from it):
/// the session c= (added when some media section has no c= of its own), every media-level c=
/// that exists, the address in any a=rtcp that carries one (RFC 3605), and the o= address.
/// Returns false, changing nothing, when `address` is empty or holds a space or control
/// character (it would produce an unparseable c= line).
bool set_connection(Session& s, std::string_view address);

/// Sets the m= port and the RTCP port (RFC 3605). With rtcp-mux (RFC 5761) or no `rtcp_port`,
/// a=rtcp is removed. Otherwise an existing a=rtcp gets the new port (its address, if any, is
/// kept with a matching addrtype), and one is added only when `rtcp_port` is not rtp+1, since
/// rtp+1 is what a peer assumes without it (RFC 3605 §2.1, RFC 3550 §11).
void set_media_port(Media& m, std::uint16_t rtp_port, std::optional<std::uint16_t> rtcp_port);

/// Removes the ICE attributes (RFC 8839 §5: ice-ufrag, ice-pwd, ice-options, ice-lite,
/// ice-mismatch, candidate, remote-candidates, end-of-candidates) at session and media level:
/// Portico terminates the media path, so the peer's candidates mean nothing on the other leg.
/// Returns how many attributes were removed.
std::size_t strip_ice(Session& s);

/// Sets `m`'s own direction attribute, replacing any it had (at the same position) or appending
/// one. Hold (sendonly/inactive) is written as given; nothing is translated.
void set_direction(Media& m, Direction d);

/// The direction an answerer mirrors for an offered one (RFC 3264 §6.1).
Direction reverse(Direction offered);

/// Applies a codec policy to one RTP media section. `allowed` lists encoding names in
/// preference order (case-insensitive; static payload types 0-34 are known by RFC 3551 name).
/// Real codecs are kept in `allowed` order; auxiliary formats (telephone-event, CN, red, rtx,
/// ulpfec, flexfec) are kept, when allowed, after them in their offered order (rtx only if the
/// payload type it repairs stays). rtpmap/fmtp/rtcp-fb of dropped payload types are removed.
/// Returns false, leaving `m` untouched, when no real codec would remain: the caller answers
/// 488 with reason "codec_mismatch" (RFC 3264 §6; docs/style.md, "Errors").
bool filter_codecs(Media& m, const std::vector<std::string>& allowed);

/// The encoding name of payload type `pt` in `m`: its rtpmap, else the RFC 3551 static name,
/// else empty.
std::string encoding_name(const Media& m, std::string_view pt);

/// Portico's own o= line toward one leg (topology hiding: the other realm never sees the
/// peer's o=). The username and session id are Portico's and never change; the version starts
/// at `initial_version` and goes up by one only when the SDP emitted differs from the previous
/// one (RFC 4566 §5.2, RFC 3264 §8), so an unchanged re-offer keeps its version.
/// One per leg, owned by the leg; shard-local.
class OriginVersioner {
 public:
  OriginVersioner(std::uint64_t session_id, std::uint64_t initial_version,
                  std::string username = "portico");

  /// Rewrites `s.origin` (username, session id, version; the address and its type are left to
  /// set_connection) just before `s` is serialized toward this leg.
  void apply(Session& s);

  std::uint64_t version() const { return version_; }
  std::uint64_t session_id() const { return session_id_; }

 private:
  std::string username_;                 // immutable after construction
  std::uint64_t session_id_;             // immutable after construction
  std::uint64_t version_;                // version of the last SDP emitted
  std::optional<std::string> last_sdp_;  // last SDP emitted, with its o= version zeroed
};

}  // namespace portico::sdp
