#pragma once
// The shard's slices of the media realms' port ranges.

#include <asio/io_context.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "portico/common/timer_service.hpp"
#include "portico/media/port_allocator.hpp"
#include "portico/policy/model.hpp"

namespace portico::b2bua {

/// This shard's port allocators: one per realm with media, each over the shard's slice of the
/// realm's range (so shards never compete for a port). Shard-local.
class MediaPorts {
 public:
  MediaPorts(asio::io_context& io, TimerService& timers, std::uint16_t shard,
             std::uint16_t shard_count);

  /// Adopts a policy: realms new or changed get a fresh allocator; unchanged ones keep theirs.
  /// Live calls hold their allocators (shared_ptr), so a reload never pulls ports from under
  /// them. A range too small to give this shard a slice is logged and left without allocator
  /// (its calls are refused with ports_exhausted).
  void update(const policy::PolicySnapshot& policy);
  std::shared_ptr<media::PortAllocator> find(const std::string& realm) const;

  /// Shard `shard`'s part of [min, max]: equal even-aligned slices, nullopt when a slice would
  /// hold fewer than 4 ports (one call's RTP/RTCP pair on each leg).
  static std::optional<media::PortRange> slice(std::uint16_t min, std::uint16_t max,
                                               std::uint16_t shard, std::uint16_t shard_count);

 private:
  struct Entry {
    asio::ip::address address;
    std::uint16_t min = 0;
    std::uint16_t max = 0;
    std::shared_ptr<media::PortAllocator> ports;
  };
  asio::io_context& io_;
  TimerService& timers_;
  std::uint16_t shard_;
  std::uint16_t shard_count_;
  std::map<std::string, Entry> by_realm_;
};

}  // namespace portico::b2bua
