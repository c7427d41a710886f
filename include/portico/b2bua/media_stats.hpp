#pragma once
// The media counters of one shard: per realm, per relay, per event. Plain fields, read by the
// metrics collector through a post to the shard.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "portico/common/histogram.hpp"
#include "portico/media/relay.hpp"

namespace portico::b2bua {

/// Buckets of the per-realm RTCP quality histograms.
struct JitterBoundsMs {
  static constexpr std::array<double, 10> kUpper = {1, 2, 5, 10, 20, 30, 50, 100, 200, 500};
};
struct LossBoundsPercent {
  static constexpr std::array<double, 9> kUpper = {0.1, 0.5, 1, 2, 3, 5, 10, 20, 50};
};

/// Media counters of one realm (labels of portico_media_* metrics).
struct RealmMediaStats {
  std::uint64_t packets_received = 0;  // from peers in this realm, relayed on
  std::uint64_t bytes_received = 0;
  std::uint64_t packets_sent = 0;  // to peers in this realm
  std::uint64_t bytes_sent = 0;
  std::uint64_t rtcp_reports = 0;  // reception report blocks sent by peers in this realm
  // One observation per ended stream and receiving peer in this realm that sent RTCP: the
  // highest jitter it reported, and its loss (lost / (lost + relayed to it)).
  Histogram<JitterBoundsMs> jitter_ms;
  Histogram<LossBoundsPercent> loss_percent;
};

/// Shard-wide media counters: plain fields read by the metrics collector via a shard post.
struct MediaStats {
  std::map<std::string, RealmMediaStats, std::less<>> realms;
  media::RelayStats relay;              // drops by reason, latching events (all streams)
  std::uint64_t sessions_anchored = 0;  // calls whose media went through Portico
  std::uint64_t ports_exhausted = 0;    // offers refused because a range was full
  std::uint64_t address_refused = 0;    // SDPs naming a media address outside allowed_networks
  std::uint64_t media_timeouts = 0;     // calls ended for silence
  /// Answered calls that ended with RTP in one direction only, by the silent direction
  /// (index = media::Direction: AtoB = the caller sent nothing): one-way audio, named.
  std::array<std::uint64_t, 2> one_way_calls{};
  std::uint64_t dtmf_mismatches = 0;  // offers with telephone-event answered without it
  std::uint64_t streams_active = 0;
  // SDES SRTP (srtp_media.cpp): offers and answers refused (488) by reason, legs protected.
  std::uint64_t srtp_no_usable_crypto = 0;
  std::uint64_t srtp_malformed_crypto = 0;
  std::uint64_t srtp_unsupported_lifetime = 0;
  std::uint64_t srtp_unsupported_mki = 0;
  std::uint64_t srtp_legs = 0;
};

}  // namespace portico::b2bua
