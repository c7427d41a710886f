// PortAllocator: parity, pairs, rtcp-mux, exhaustion, bind failures and quarantine, on real
// loopback sockets with a manual clock. Ranges sit below the Linux ephemeral range (32768+).

#include "portico/media/port_allocator.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

namespace portico::media {
namespace {

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

class PortAllocatorTest : public ::testing::Test {
 protected:
  PortAllocator make(std::uint16_t lo, std::uint16_t hi, Millis quarantine = Millis{2000}) {
    return PortAllocator(io_, timers_, PortAllocatorConfig{{lo, hi}, quarantine, 16});
  }
  asio::io_context io_;
  ManualTimerService timers_;
};

TEST_F(PortAllocatorTest, PairIsEvenRtpWithRtcpOnTheNextPort) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31001, 31010}, Millis{2000}, 16});
  auto lease = ports.allocate(kLoopback, false);
  ASSERT_TRUE(lease.ok()) << lease.error().detail;
  EXPECT_EQ(lease->rtp_port() % 2, 0);
  EXPECT_EQ(lease->rtp_port(), 31002);  // 31001 is odd: the first pair starts at 31002
  EXPECT_EQ(lease->rtcp_port(), lease->rtp_port() + 1);
  EXPECT_EQ(lease->rtp_socket().local_endpoint().port(), lease->rtp_port());
  EXPECT_EQ(lease->rtcp_socket().local_endpoint().port(), lease->rtcp_port());
  EXPECT_EQ(lease->rtp_socket().local_endpoint().address(), kLoopback);
  EXPECT_EQ(ports.in_use_count(), 2U);
  EXPECT_EQ(ports.free_count(), 8U);
}

TEST_F(PortAllocatorTest, RtcpMuxTakesOnePort) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31020, 31029}, Millis{2000}, 16});
  auto lease = ports.allocate(kLoopback, true);
  ASSERT_TRUE(lease.ok()) << lease.error().detail;
  EXPECT_TRUE(lease->rtcp_mux());
  EXPECT_EQ(lease->rtcp_port(), lease->rtp_port());
  EXPECT_FALSE(lease->rtcp_socket().is_open());
  EXPECT_EQ(ports.in_use_count(), 1U);
}

TEST_F(PortAllocatorTest, ConsecutivePairsDoNotOverlap) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31040, 31049}, Millis{2000}, 16});
  std::vector<PortLease> leases;
  for (int i = 0; i < 5; ++i) {
    auto l = ports.allocate(kLoopback, false);
    ASSERT_TRUE(l.ok()) << l.error().detail;
    leases.push_back(std::move(l).value());
  }
  for (std::size_t i = 0; i < leases.size(); ++i) {
    EXPECT_EQ(leases[i].rtp_port(), 31040 + 2 * i);
  }
  EXPECT_EQ(ports.free_count(), 0U);
}

TEST_F(PortAllocatorTest, ExhaustedRangeIsAnErrorWithReason) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31060, 31063}, Millis{2000}, 16});
  auto first = ports.allocate(kLoopback, false);
  auto second = ports.allocate(kLoopback, false);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  auto third = ports.allocate(kLoopback, false);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().reason, "ports_exhausted");
  auto mux = ports.allocate(kLoopback, true);
  ASSERT_FALSE(mux.ok());
  EXPECT_EQ(mux.error().reason, "ports_exhausted");
}

TEST_F(PortAllocatorTest, ReleasedPortsDrainForTheQuarantineBeforeReuse) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31080, 31081}, Millis{2000}, 16});
  std::uint16_t port = 0;
  {
    auto lease = ports.allocate(kLoopback, false);
    ASSERT_TRUE(lease.ok());
    port = lease->rtp_port();
  }
  EXPECT_EQ(ports.in_use_count(), 0U);
  EXPECT_EQ(ports.quarantined_count(), 2U);
  EXPECT_EQ(ports.allocate(kLoopback, false).error().reason, "ports_exhausted");
  timers_.advance(Millis{1999});
  EXPECT_FALSE(ports.allocate(kLoopback, false).ok());
  timers_.advance(Millis{1});
  EXPECT_EQ(ports.quarantined_count(), 0U);
  EXPECT_EQ(timers_.armed(), 0U);
  auto again = ports.allocate(kLoopback, false);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(again->rtp_port(), port);
}

TEST_F(PortAllocatorTest, QuarantineIsConfigurable) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31090, 31091}, Millis{300}, 16});
  { auto lease = ports.allocate(kLoopback, true); ASSERT_TRUE(lease.ok()); }
  timers_.advance(Millis{300});
  EXPECT_EQ(ports.free_count(), 2U);
}

TEST_F(PortAllocatorTest, PortsThatFailToBindAreSkipped) {
  asio::ip::udp::socket squatter(io_, asio::ip::udp::endpoint(kLoopback, 31100));
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31100, 31103}, Millis{2000}, 16});
  auto lease = ports.allocate(kLoopback, false);
  ASSERT_TRUE(lease.ok()) << lease.error().detail;
  EXPECT_EQ(lease->rtp_port(), 31102);
  EXPECT_EQ(ports.bind_failures(), 1U);
  EXPECT_EQ(ports.quarantined_count(), 1U);  // retried after the drain period
}

TEST_F(PortAllocatorTest, BindAttemptsAreBounded) {
  asio::ip::udp::socket s1(io_, asio::ip::udp::endpoint(kLoopback, 31120));
  asio::ip::udp::socket s2(io_, asio::ip::udp::endpoint(kLoopback, 31122));
  asio::ip::udp::socket s3(io_, asio::ip::udp::endpoint(kLoopback, 31124));
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31120, 31127}, Millis{2000}, 2});
  auto lease = ports.allocate(kLoopback, false);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().reason, "ports_exhausted");
  EXPECT_EQ(ports.bind_failures(), 2U);
  auto next = ports.allocate(kLoopback, false);  // goes on from the cursor: 31124, 31126
  ASSERT_TRUE(next.ok()) << next.error().detail;
  EXPECT_EQ(next->rtp_port(), 31126);
  EXPECT_EQ(ports.bind_failures(), 3U);
}

TEST_F(PortAllocatorTest, MovedLeaseReleasesOnce) {
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31140, 31143}, Millis{2000}, 16});
  {
    auto lease = ports.allocate(kLoopback, false);
    ASSERT_TRUE(lease.ok());
    std::optional<PortLease> moved(std::move(lease).value());
    EXPECT_EQ(ports.in_use_count(), 2U);
  }
  EXPECT_EQ(ports.in_use_count(), 0U);
  EXPECT_EQ(ports.quarantined_count(), 2U);
}

TEST_F(PortAllocatorTest, InvalidRangeThrowsAtConstruction) {
  EXPECT_THROW(PortAllocator(io_, timers_, PortAllocatorConfig{{0, 10}, Millis{1}, 1}),
               std::invalid_argument);
  EXPECT_THROW(PortAllocator(io_, timers_, PortAllocatorConfig{{200, 100}, Millis{1}, 1}),
               std::invalid_argument);
}

TEST_F(PortAllocatorTest, Ipv6Loopback) {
  const auto v6 = asio::ip::make_address("::1");
  PortAllocator ports(io_, timers_, PortAllocatorConfig{{31160, 31169}, Millis{2000}, 16});
  auto lease = ports.allocate(v6, false);
  if (!lease.ok()) {
    FAIL() << "IPv6 is required and ::1 is unusable here: " << lease.error().detail;
  }
  EXPECT_EQ(lease->rtp_socket().local_endpoint().address(), v6);
}

}  // namespace
}  // namespace portico::media
