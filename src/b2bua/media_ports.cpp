// MediaPorts: this shard's slice of each media realm's port range (see media_ports.hpp).

#include "portico/b2bua/media_ports.hpp"

#include <algorithm>

#include "portico/common/log.hpp"

namespace portico::b2bua {

MediaPorts::MediaPorts(asio::io_context& io, TimerService& timers, std::uint16_t shard,
                       std::uint16_t shard_count)
    : io_(io),
      timers_(timers),
      shard_(shard),
      shard_count_(std::max<std::uint16_t>(1, shard_count)) {}

std::optional<media::PortRange> MediaPorts::slice(std::uint16_t min, std::uint16_t max,
                                                  std::uint16_t shard, std::uint16_t shard_count) {
  const std::uint32_t lo = min + (min % 2u);
  if (max < lo || shard_count == 0 || shard >= shard_count) {
    return std::nullopt;
  }
  const std::uint32_t total = max - lo + 1;
  const std::uint32_t per = (total / shard_count) & ~1u;  // even: RTP/RTCP pairs stay together
  if (per < 4) {
    return std::nullopt;
  }
  const std::uint32_t first = lo + per * shard;
  return media::PortRange{static_cast<std::uint16_t>(first),
                          static_cast<std::uint16_t>(first + per - 1)};
}

void MediaPorts::update(const policy::PolicySnapshot& policy) {
  std::map<std::string, Entry> next;
  for (const auto& realm : policy.realms) {
    const auto& m = realm.media;
    if (!m.enabled) {
      continue;
    }
    auto old = by_realm_.find(realm.name);
    if (old != by_realm_.end() && old->second.address == m.address &&
        old->second.min == m.port_min && old->second.max == m.port_max) {
      next.emplace(realm.name, std::move(old->second));
      continue;
    }
    Entry e{m.address, m.port_min, m.port_max, nullptr};
    if (auto range = slice(m.port_min, m.port_max, shard_, shard_count_)) {
      e.ports = std::make_shared<media::PortAllocator>(
          io_, timers_, media::PortAllocatorConfig{*range, Millis{2000}, 16});
      log::debug("media.ports", {{"realm", realm.name},
                                 {"address", m.address.to_string()},
                                 {"first", range->lo},
                                 {"last", range->hi}});
    } else {
      log::error("media.range_too_small",
                 {{"realm", realm.name},
                  {"min", m.port_min},
                  {"max", m.port_max},
                  {"shards", shard_count_},
                  {"detail", "each shard needs at least 4 ports; widen media.ports"}});
    }
    next.emplace(realm.name, std::move(e));
  }
  by_realm_ = std::move(next);
}

std::shared_ptr<media::PortAllocator> MediaPorts::find(const std::string& realm) const {
  auto it = by_realm_.find(realm);
  return it == by_realm_.end() ? nullptr : it->second.ports;
}

}  // namespace portico::b2bua
