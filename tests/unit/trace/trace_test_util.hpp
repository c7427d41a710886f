#pragma once
// Byte readers for checking pcap and HEP layouts in the trace tests.

#include <cstdint>
#include <string>
#include <string_view>

#include "portico/trace/packet.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::trace::test {

inline std::uint32_t le32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

inline std::uint16_t be16(std::string_view b, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) << 8 |
                                    static_cast<unsigned char>(b[at + 1]));
}

inline std::uint32_t be32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(be16(b, at)) << 16 | be16(b, at + 2);
}

inline transport::Endpoint ep(const char* ip, std::uint16_t port) {
  return transport::Endpoint{asio::ip::make_address(ip), port};
}

/// 2026-11-25T01:42:24.123456Z
inline WallClock::time_point sample_time() {
  return WallClock::time_point{} + std::chrono::seconds(1795570944) +
         std::chrono::microseconds(123456);
}

}  // namespace portico::trace::test
