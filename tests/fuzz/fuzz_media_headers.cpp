// libFuzzer target: the header views the media relay applies to every packet a peer sends to
// an anchored port, before anything else looks at it (relay_path.cpp: stage_demux,
// stage_latch, stage_observe): the RFC 5761 RTP/RTCP demux, the SSRC read that latching
// compares, and the walk over the report blocks of a compound RTCP packet.
//
// Portico classifies no STUN yet (RFC 7983 demux is not implemented: a STUN packet is
// "Malformed" to the latch, rtp_header.hpp), so STUN bytes reach these same views; the seed
// corpus holds STUN binding requests for that reason.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "../../src/media/rtcp_reports.hpp"
#include "../../src/media/rtp_header.hpp"

namespace media = portico::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> p(data, size);
  const media::Channel c = media::classify_muxed(p);
  (void)media::packet_ssrc(c, p);
  (void)media::packet_ssrc(media::Channel::Rtp, p);
  (void)media::packet_ssrc(media::Channel::Rtcp, p);
  media::ReceptionQuality q;
  std::size_t calls = 0;
  const std::size_t seen = media::for_each_report_block(p, [&](const media::ReportBlock& r) {
    media::add_report(q, r);
    ++calls;
  });
  // Each block is 24 bytes of the packet: never more blocks than that, and every one counted.
  if (seen != calls || seen > size / media::kReportBlockSize || q.reports != seen) {
    std::abort();
  }
  return 0;
}
