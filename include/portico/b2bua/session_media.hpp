#pragma once
// The media seam of a call. Every SDP body that crosses Portico goes through the call's
// SessionMedia, in both directions, on every offer and answer (INVITE, 18x, 2xx, ACK, PRACK,
// UPDATE, re-INVITE). The signalling core relays bodies through PassthroughMedia; media
// anchoring replaces it with a session that allocates relay ports and rewrites c=/m= lines.

#include <memory>
#include <string>
#include <string_view>

#include "portico/common/result.hpp"

namespace portico::b2bua {

/// Which leg a message came from: A is the leg that sent the initial INVITE (the caller side),
/// B is the leg Portico created towards the route target.
enum class Side { A, B };
inline Side other(Side s) { return s == Side::A ? Side::B : Side::A; }

/// What a body carries in the offer/answer exchange (RFC 3264).
enum class SdpRole { Offer, Answer };

/// Per-call media state. Shard-local; owned by its Call.
class SessionMedia {
 public:
  virtual ~SessionMedia() = default;
  /// Rewrites a body received on `from` for the other leg. Error.reason becomes the call's
  /// failure reason ("codec_mismatch", "ports_exhausted"...) and maps to a SIP status.
  virtual Result<std::string> relay_body(Side from, SdpRole role, std::string_view content_type,
                                         std::string_view body) = 0;
  /// The call ended: release every resource now.
  virtual void close() = 0;
};
using SessionMediaPtr = std::unique_ptr<SessionMedia>;

/// Creates the media session of each new call. Shard-local.
class SessionMediaFactory {
 public:
  virtual ~SessionMediaFactory() = default;
  virtual SessionMediaPtr create(const std::string& call_log_id) = 0;
};

/// Relays bodies unchanged: the behaviour of a signalling-only B2BUA.
class PassthroughMedia final : public SessionMedia {
 public:
  Result<std::string> relay_body(Side, SdpRole, std::string_view, std::string_view body) override {
    return std::string(body);
  }
  void close() override {}
};

class PassthroughMediaFactory final : public SessionMediaFactory {
 public:
  SessionMediaPtr create(const std::string&) override { return std::make_unique<PassthroughMedia>(); }
};

}  // namespace portico::b2bua
