// Portico's o= line toward one leg. RFC 4566 §5.2: <sess-version> changes when the session
// changes; RFC 3264 §8: a new offer that changes the session increments it by one, one that
// does not keeps it (§8.4 "no change"), which is how the peer tells a real re-offer from a
// session refresh. We compare the whole emitted body with the version held at zero, so any
// change anywhere (port, codec, direction, address) counts and nothing else does.

#include "portico/sdp/rewrite.hpp"

namespace portico::sdp {

OriginVersioner::OriginVersioner(std::uint64_t session_id, std::uint64_t initial_version,
                                 std::string username)
    : username_(std::move(username)), session_id_(session_id), version_(initial_version) {}

void OriginVersioner::apply(Session& s) {
  s.origin.username = username_;
  s.origin.session_id = session_id_;
  s.origin.session_version = 0;
  std::string body = serialize(s);
  if (last_sdp_ && *last_sdp_ != body) {
    ++version_;
  }
  last_sdp_ = std::move(body);
  s.origin.session_version = version_;
}

}  // namespace portico::sdp
