// Latch: the RFC 7362 decisions without sockets.

#include "../../../src/media/latch.hpp"

#include <gtest/gtest.h>

namespace portico::media {
namespace {

using V = Latch::Verdict;
using portico::Endpoint;

const Endpoint kSdp{asio::ip::make_address("192.0.2.10"), 4000};
const Endpoint kNat{asio::ip::make_address("192.0.2.10"), 61000};
const Endpoint kOther{asio::ip::make_address("198.51.100.7"), 5000};
constexpr Millis kRelatch{1000};

TEST(LatchTest, SdpAddressIsTheDestinationUntilLatched) {
  Latch l;
  l.reset(kSdp, true, false);
  EXPECT_EQ(l.destination(), kSdp);
  EXPECT_EQ(l.on_packet(kNat, 7U, TimePoint{}, kRelatch), V::Latched);
  EXPECT_EQ(l.destination(), kNat);
  EXPECT_EQ(l.on_packet(kNat, 7U, TimePoint{}, kRelatch), V::Accept);
}

TEST(LatchTest, OtherIpIsRefusedUnlessAnyIp) {
  Latch l;
  l.reset(kSdp, true, false);
  EXPECT_EQ(l.on_packet(kOther, 7U, TimePoint{}, kRelatch), V::Hijack);
  l.reset(kSdp, true, true);
  EXPECT_EQ(l.on_packet(kOther, 7U, TimePoint{}, kRelatch), V::Latched);
}

TEST(LatchTest, LatchingNeedsAValidHeader) {
  Latch l;
  l.reset(kSdp, true, false);
  EXPECT_EQ(l.on_packet(kNat, std::nullopt, TimePoint{}, kRelatch), V::Malformed);
  EXPECT_FALSE(l.latched());
}

TEST(LatchTest, RelatchNeedsSilenceAndNewSsrc) {
  Latch l;
  l.reset(std::nullopt, true, false);
  EXPECT_EQ(l.destination(), std::nullopt);
  const TimePoint t0{};
  EXPECT_EQ(l.on_packet(kNat, 1U, t0, kRelatch), V::Latched);
  EXPECT_EQ(l.on_packet(kSdp, 2U, t0 + Millis{999}, kRelatch), V::Hijack);
  EXPECT_EQ(l.on_packet(kSdp, 1U, t0 + Millis{1000}, kRelatch), V::Hijack);
  EXPECT_EQ(l.on_packet(kSdp, std::nullopt, t0 + Millis{1000}, kRelatch), V::Malformed);
  EXPECT_EQ(l.on_packet(kSdp, 2U, t0 + Millis{1000}, kRelatch), V::Relatched);
  EXPECT_EQ(l.destination(), kSdp);
  EXPECT_EQ(l.on_packet(kNat, 3U, t0 + Millis{1001}, kRelatch), V::Hijack);
}

TEST(LatchTest, DisabledLatchKeepsTheSdpDestination) {
  Latch l;
  l.reset(kSdp, false, false);
  EXPECT_EQ(l.on_packet(kOther, std::nullopt, TimePoint{}, kRelatch), V::Accept);
  EXPECT_EQ(l.destination(), kSdp);
}

}  // namespace
}  // namespace portico::media
