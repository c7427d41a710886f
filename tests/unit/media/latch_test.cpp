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

TEST(LatchTest, RelatchNeedsSilenceAndTheSameStreamOrTheSignalledAddress) {
  Latch l;
  l.reset(std::nullopt, true, true);  // latch_any_ip, nothing signalled: only the SSRC counts
  EXPECT_EQ(l.destination(), std::nullopt);
  const TimePoint t0{};
  EXPECT_EQ(l.on_packet(kNat, 1U, t0, kRelatch), V::Latched);
  EXPECT_EQ(l.on_packet(kSdp, 1U, t0 + Millis{999}, kRelatch), V::Hijack);  // not silent yet
  EXPECT_EQ(l.on_packet(kSdp, std::nullopt, t0 + Millis{1000}, kRelatch), V::Malformed);
  EXPECT_EQ(l.on_packet(kOther, 2U, t0 + Millis{1000}, kRelatch), V::Hijack);   // a stranger
  EXPECT_EQ(l.on_packet(kSdp, 1U, t0 + Millis{1000}, kRelatch), V::Relatched);  // same stream
  EXPECT_EQ(l.destination(), kSdp);
  EXPECT_EQ(l.on_packet(kNat, 1U, t0 + Millis{1001}, kRelatch), V::Hijack);
}

TEST(LatchTest, SilentStreamIsNotTakenOverByANewSsrcFromAnotherAddress) {
  // latch_any_ip: the first source may be anywhere, but a stream on hold (silent) is not
  // handed to whoever sends a fresh SSRC first; the signalled address may take it back.
  Latch l;
  l.reset(kSdp, true, true);
  const TimePoint t0{};
  EXPECT_EQ(l.on_packet(kOther, 1U, t0, kRelatch), V::Latched);
  const Endpoint attacker{asio::ip::make_address("203.0.113.66"), 7000};
  EXPECT_EQ(l.on_packet(attacker, 99U, t0 + Millis{5000}, kRelatch), V::Hijack);
  EXPECT_EQ(l.destination(), kOther);
  EXPECT_EQ(l.on_packet(kNat, 2U, t0 + Millis{5000}, kRelatch), V::Relatched);  // signalled IP
  EXPECT_EQ(l.destination(), kNat);
}

TEST(LatchTest, WithoutLatchingOnlyTheSdpAddressMaySend) {
  Latch l;
  l.reset(kSdp, false, false);
  EXPECT_EQ(l.on_packet(kOther, 7U, TimePoint{}, kRelatch), V::Stranger);
  EXPECT_EQ(l.on_packet(kNat, 7U, TimePoint{}, kRelatch), V::Accept);  // same address
  EXPECT_EQ(l.on_packet(kSdp, std::nullopt, TimePoint{}, kRelatch), V::Accept);
  EXPECT_EQ(l.destination(), kSdp);
  EXPECT_FALSE(l.latched());
}

TEST(LatchTest, StrictPortAcceptsOnlyTheSdpPort) {
  Latch l;
  l.reset(kSdp, false, false, true);
  EXPECT_EQ(l.on_packet(kNat, 7U, TimePoint{}, kRelatch), V::Stranger);
  EXPECT_EQ(l.on_packet(kSdp, 7U, TimePoint{}, kRelatch), V::Accept);
}

TEST(LatchTest, WithoutLatchingNothingIsAcceptedBeforeTheSdp) {
  Latch l;
  l.reset(std::nullopt, false, false);
  EXPECT_EQ(l.on_packet(kSdp, 7U, TimePoint{}, kRelatch), V::Stranger);
  EXPECT_EQ(l.destination(), std::nullopt);
}

}  // namespace
}  // namespace portico::media
