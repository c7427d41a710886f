// Reading RTCP reception report blocks (RFC 3550 §6.4) on the relay path: SR and RR in a
// compound packet, the 24-bit signed cumulative loss, and malformed lengths that must stop the
// walk instead of reading past the packet.

#include "../../../src/media/rtcp_reports.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace portico::media {
namespace {

void put32(std::vector<std::uint8_t>& p, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    p.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}

void put_block(std::vector<std::uint8_t>& p, std::uint32_t ssrc, std::uint8_t fraction,
               std::uint32_t lost24, std::uint32_t jitter) {
  put32(p, ssrc);
  put32(p, std::uint32_t{fraction} << 24 | (lost24 & 0xffffff));
  put32(p, 1000);  // extended highest sequence number
  put32(p, jitter);
  put32(p, 0);  // LSR
  put32(p, 0);  // DLSR
}

/// Header: V=2, count, type, length in 32-bit words minus one.
void put_header(std::vector<std::uint8_t>& p, std::uint8_t count, std::uint8_t type,
                std::uint16_t words_minus_one) {
  p.push_back(static_cast<std::uint8_t>(0x80 | count));
  p.push_back(type);
  p.push_back(static_cast<std::uint8_t>(words_minus_one >> 8));
  p.push_back(static_cast<std::uint8_t>(words_minus_one));
}

std::vector<ReportBlock> read(const std::vector<std::uint8_t>& p) {
  std::vector<ReportBlock> out;
  std::size_t n = for_each_report_block(p, [&out](const ReportBlock& b) { out.push_back(b); });
  EXPECT_EQ(n, out.size());
  return out;
}

TEST(RtcpReports, SenderReportThenReceiverReportWithTwoBlocksThenSdes) {
  std::vector<std::uint8_t> p;
  put_header(p, 1, kRtcpSenderReport, 12);  // 4 + 24 sender info + 24 block = 52 bytes
  put32(p, 0x1111);
  for (int i = 0; i < 5; ++i) {
    put32(p, 0);  // NTP, RTP timestamp, counts
  }
  put_block(p, 0xaaaa, 64, 7, 80);
  put_header(p, 2, kRtcpReceiverReport, 13);  // 8 + 2 x 24 = 56 bytes
  put32(p, 0x2222);
  put_block(p, 0xbbbb, 0, 0xfffffe, 12);  // -2: duplicates make the count negative
  put_block(p, 0xcccc, 255, 100, 4000);
  put_header(p, 1, 202, 1);  // SDES, not read
  put32(p, 0x3333);

  auto blocks = read(p);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].ssrc, 0xaaaau);
  EXPECT_EQ(blocks[0].fraction_lost, 64);
  EXPECT_EQ(blocks[0].cumulative_lost, 7);
  EXPECT_EQ(blocks[0].jitter, 80u);
  EXPECT_EQ(blocks[1].cumulative_lost, -2);
  EXPECT_EQ(blocks[2].fraction_lost, 255);
  EXPECT_EQ(blocks[2].jitter, 4000u);

  ReceptionQuality q;
  for (const auto& b : blocks) {
    add_report(q, b);
  }
  EXPECT_EQ(q.reports, 3u);
  EXPECT_EQ(q.cumulative_lost, 100u);  // the latest
  EXPECT_EQ(q.max_fraction_lost, 255);
  EXPECT_EQ(q.max_jitter, 4000u);
}

TEST(RtcpReports, NegativeLossCountsAsNone) {
  ReceptionQuality q;
  add_report(q, ReportBlock{1, 0, -3, 5});
  EXPECT_EQ(q.cumulative_lost, 0u);
}

TEST(RtcpReports, LengthPastTheEndStopsTheWalk) {
  std::vector<std::uint8_t> p;
  put_header(p, 1, kRtcpReceiverReport, 40);  // claims 164 bytes, has 32
  put32(p, 0x2222);
  put_block(p, 0xbbbb, 0, 1, 1);
  EXPECT_TRUE(read(p).empty());
}

TEST(RtcpReports, CountLargerThanThePacketReadsNoBlock) {
  std::vector<std::uint8_t> p;
  put_header(p, 3, kRtcpReceiverReport, 7);  // room for one block, says three
  put32(p, 0x2222);
  put_block(p, 0xbbbb, 0, 1, 1);
  EXPECT_TRUE(read(p).empty());
}

TEST(RtcpReports, GarbageAndShortPacketsReadNothing) {
  EXPECT_TRUE(read({}).empty());
  EXPECT_TRUE(read({0x81, 201, 0}).empty());
  EXPECT_TRUE(read(std::vector<std::uint8_t>(40, 0x00)).empty());  // version 0
}

}  // namespace
}  // namespace portico::media
