// AnchoredMedia: one call's media session, its life from the first leg to close() and the media
// timeout (see anchored_media.hpp). The SDP rewrite is in anchored_media_sdp.cpp, the counters
// in anchored_media_stats.cpp.

#include "portico/b2bua/anchored_media.hpp"

#include <algorithm>

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"

namespace portico::b2bua {
namespace {

bool is_sdp(std::string_view content_type) {
  return to_lower(trim(content_type.substr(0, content_type.find(';')))) == "application/sdp";
}

Millis until(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<Millis>(to - from);
}

}  // namespace

AnchoredMedia::AnchoredMedia(AnchoredMediaFactory& factory, std::string log_id,
                             std::shared_ptr<const policy::PolicySnapshot> policy)
    : factory_(factory),
      log_id_(std::move(log_id)),
      policy_(std::move(policy)),
      srtp_(log_id_, factory_.closed_) {
  timeout_timer_.bind(factory_.timers_);
  factory_.live_.insert(this);
}

AnchoredMedia::~AnchoredMedia() { close(); }

bool AnchoredMedia::anchored() const {
  return legs_[0].media != nullptr && legs_[1].media != nullptr;
}

void AnchoredMedia::set_leg(Side s, const LegPeer& peer) {
  LegState& leg = legs_[index_of(s)];
  if (s == Side::B && relay_) {
    if (peer.realm != leg.realm) {
      drop_relay();  // the new target is in another realm: B-side sockets must move
      streams_.clear();
    } else {
      // Same realm, new peer (failover): forget the previous target's media address.
      for (std::size_t i = 0; i < streams_.size(); ++i) {
        if (media::RelayStream* st = relay_->stream(i)) {
          st->set_peer(Side::B, std::nullopt, std::nullopt);
        }
        streams_[i].rtp[1].reset();
        streams_[i].rtcp[1].reset();
        streams_[i].held[1] = false;
      }
    }
  }
  leg.realm = peer.realm;
  leg.signalling_address = peer.signalling_address;
  leg.origin.reset();  // a new dialog on this side: a new o= session
  const policy::Realm* realm = policy_ ? policy_->find_realm(peer.realm) : nullptr;
  leg.media = realm != nullptr && realm->media.enabled ? &realm->media : nullptr;
  leg.ports = leg.media != nullptr ? factory_.ports_.find(peer.realm) : nullptr;
  srtp_.set_leg(
      s, policy_
             ? policy::media_security_for(*policy_, peer.realm, peer.peer, peer.transport)
             : policy::LegMediaSecurity{policy::MediaSecurity::Rtp, policy::default_srtp_suites()});
}

void AnchoredMedia::set_failure_handler(FailureHandler handler) { on_failure_ = std::move(handler); }

void AnchoredMedia::call_answered() {
  answered_ = true;
  answered_at_ = factory_.timers_.now();
  arm_timeout_check();
}

Result<std::string> AnchoredMedia::relay_body(Side from, SdpRole role,
                                              std::string_view content_type,
                                              std::string_view body) {
  if (!anchored()) {
    return std::string(body);
  }
  if (closed_) {
    return Error{"media_closed", "the call's media is already released"};
  }
  if (!is_sdp(content_type)) {
    return Error{"unsupported_body", "only application/sdp bodies can be anchored (got " +
                                         std::string(content_type) + ")"};
  }
  for (const LegState& leg : legs_) {
    if (!leg.ports) {
      ++factory_.closed_.ports_exhausted;
      return Error{"ports_exhausted", "realm " + leg.realm + " has no media ports on this shard"};
    }
  }
  answered_at_ = factory_.timers_.now();  // renegotiation: give the new media time to start
  return rewrite(from, role, body);
}

const media::RelayStream* AnchoredMedia::stream(std::size_t index) const {
  return relay_ ? relay_->stream(index) : nullptr;
}

void AnchoredMedia::arm_timeout_check() {
  const Millis timeout = policy_ ? policy_->timers.media_timeout : Millis{0};
  if (closed_ || !answered_ || timeout.count() <= 0) {
    return;
  }
  timeout_timer_.start(timeout, [this] {
    timeout_timer_.fired();
    check_timeout();
  });
}

void AnchoredMedia::check_timeout() {
  if (closed_ || !relay_) {
    return;
  }
  const Millis timeout = policy_->timers.media_timeout;
  const TimePoint now = factory_.timers_.now();
  TimePoint latest = answered_at_;
  bool any_stream = false;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const media::RelayStream* st = relay_->stream(i);
    if (st == nullptr) {
      continue;
    }
    if (streams_[i].held[0] || streams_[i].held[1]) {
      // On hold the held party may legitimately send nothing for as long as the hold lasts.
      timeout_timer_.start(timeout, [this] {
        timeout_timer_.fired();
        check_timeout();
      });
      return;
    }
    any_stream = true;
    latest = std::max({latest, st->last_rx(Side::A), st->last_rx(Side::B)});
  }
  if (!any_stream) {
    return;  // every stream was removed: nothing to watch
  }
  const Millis silent = until(latest, now);
  if (silent < timeout) {
    timeout_timer_.start(timeout - silent, [this] {
      timeout_timer_.fired();
      check_timeout();
    });
    return;
  }
  ++factory_.closed_.media_timeouts;
  log::warn("media.timeout", {{"call", log_id_}, {"silent_ms", silent.count()},
                              {"a_realm", legs_[0].realm}, {"b_realm", legs_[1].realm},
                              {"detail", "no RTP from either side; ending the call"}});
  if (on_failure_) {
    FailureHandler handler = on_failure_;  // the handler may destroy this session
    handler("media_timeout");
  }
}

void AnchoredMedia::close() {
  if (closed_) {
    return;
  }
  timeout_timer_.cancel();
  report_one_way();
  drop_relay();
  closed_ = true;
  factory_.live_.erase(this);
}

}  // namespace portico::b2bua
