#pragma once
// One SIP message as it crossed Portico's transport, with the addresses it really used: what
// both a pcap record and a HEP packet are made of.

#include <chrono>
#include <string_view>

#include "portico/transport/endpoint.hpp"

namespace portico::trace {

using WallClock = std::chrono::system_clock;

struct PacketMeta {
  transport::Protocol protocol = transport::Protocol::Udp;
  transport::Endpoint src;
  transport::Endpoint dst;
  WallClock::time_point time{};
};

/// Seconds and microseconds since the epoch, as pcap and HEP carry them.
struct SecUsec {
  std::uint32_t sec = 0;
  std::uint32_t usec = 0;
};
SecUsec split_time(WallClock::time_point t);

}  // namespace portico::trace
