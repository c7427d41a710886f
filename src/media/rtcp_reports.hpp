#pragma once
// Reading the reception report blocks of RTCP sender and receiver reports (RFC 3550 §6.4), on
// the relay path: how much of the media it receives a peer says it lost, and the jitter. Reads
// in place, allocates nothing; a malformed compound packet stops the walk (it is still relayed:
// judging RTCP is the endpoints' business, Portico only listens).

#include <cstdint>
#include <span>

#include "portico/media/relay.hpp"
#include "rtp_header.hpp"

namespace portico::media {

constexpr std::uint8_t kRtcpSenderReport = 200;
constexpr std::uint8_t kRtcpReceiverReport = 201;
constexpr std::size_t kReportBlockSize = 24;

/// One report block: what the sender of the RTCP packet received from source `ssrc`.
struct ReportBlock {
  std::uint32_t ssrc = 0;
  std::uint8_t fraction_lost = 0;   // since the previous report, in 1/256
  std::int32_t cumulative_lost = 0; // since the start; may be negative (duplicates)
  std::uint32_t jitter = 0;         // interarrival jitter, RTP timestamp units
};

/// Calls `fn(const ReportBlock&)` for every report block of every SR/RR in the compound packet
/// `p`. Returns the number of blocks seen.
template <class Fn>
std::size_t for_each_report_block(std::span<const std::uint8_t> p, Fn&& fn) {
  std::size_t seen = 0;
  // Bounded: each step consumes at least one 4-byte word.
  while (p.size() >= kRtcpHeaderSize && (p[0] >> 6) == 2) {
    const std::size_t length = (std::size_t{p[2]} << 8 | p[3]) * 4 + 4;
    if (length > p.size()) {
      break;
    }
    const std::uint8_t type = p[1];
    const std::size_t count = p[0] & 0x1f;
    const std::size_t fixed = type == kRtcpSenderReport ? 28 : 8;  // header + sender info
    if ((type == kRtcpSenderReport || type == kRtcpReceiverReport) &&
        fixed + count * kReportBlockSize <= length) {
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t* b = p.data() + fixed + i * kReportBlockSize;
        ReportBlock r;
        r.ssrc = read_be32(b);
        r.fraction_lost = b[4];
        // 24-bit two's complement
        std::uint32_t lost = std::uint32_t{b[5]} << 16 | std::uint32_t{b[6]} << 8 | b[7];
        r.cumulative_lost = static_cast<std::int32_t>(lost << 8) >> 8;
        r.jitter = read_be32(b + 12);
        fn(r);
        ++seen;
      }
    }
    p = p.subspan(length);
  }
  return seen;
}

/// Folds one block into what a side's peer reported.
inline void add_report(ReceptionQuality& q, const ReportBlock& r) {
  ++q.reports;
  q.cumulative_lost = r.cumulative_lost > 0 ? static_cast<std::uint32_t>(r.cumulative_lost) : 0;
  q.max_fraction_lost = std::max(q.max_fraction_lost, r.fraction_lost);
  q.max_jitter = std::max(q.max_jitter, r.jitter);
}

}  // namespace portico::media
