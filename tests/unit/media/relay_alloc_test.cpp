// Zero heap allocations per relayed packet (docs/style.md, "Packet path"). A global operator new
// counter (this test binary only) watches a burst of 10,000 relayed packets after warm-up.
// The loop also prints a rough CPU cost per packet (sender + relay + receiver on loopback).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>

#include "media_test_util.hpp"
#include "portico/media/relay.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// GCC pairs asio's inlined `new` with these deletes and cannot see that the replaced global
// operator new above is malloc-based: the mismatch warning is a false positive here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace portico::media {
namespace {

using test::make_rtp;
using test::TestPeer;

const asio::ip::address kV4 = asio::ip::make_address("127.0.0.1");

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Sends `count` packets A→B in chunks of 32, polling the loop and draining B after each
/// chunk (so no socket buffer overflows). Allocation-free itself. Returns packets received;
/// adds the CPU time spent inside the relay's handlers (io.poll) to `relay_cpu`.
std::size_t burst(asio::io_context& io, TestPeer& a, TestPeer& b, const Endpoint& to,
                  std::size_t count, const std::vector<std::uint8_t>& packet,
                  double& relay_cpu) {
  std::size_t received = 0;
  std::size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (std::size_t round = 0; round < count && received < count; ++round) {
    for (int i = 0; i < 32 && sent < count; ++i, ++sent) {
      std::error_code ec;
      a.socket().send_to(asio::buffer(packet), {to.address, to.port}, 0, ec);
    }
    for (int spin = 0; spin < 50 && received < sent; ++spin) {
      const double t0 = cpu_seconds();
      test::poll_once(io);
      relay_cpu += cpu_seconds() - t0;
      received += b.discard();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      break;
    }
  }
  return received;
}

void burst_allocates_nothing(test::Io path) {
  asio::io_context io;
  auto engines = test::make_io(io, path);
  ManualTimerService timers;
  PortAllocator ports(io, timers, PortAllocatorConfig{{31800, 31899}, Millis{2000}, 32});
  TestPeer a(io, kV4);
  TestPeer b(io, kV4);
  StreamConfig c;
  c.a = SideConfig{kV4, a.endpoint(), std::nullopt, true, false};
  c.b = SideConfig{kV4, b.endpoint(), std::nullopt, true, false};
  auto s = RelayStream::open(
      RelayDeps{io, timers, ports, ports, engines.uring.get(), engines.epoll.get()}, std::move(c));
  ASSERT_TRUE(s.ok()) << s.error().detail;
  const Endpoint to = (*s)->local_rtp(Side::A);
  const auto packet = make_rtp(0x1234, 1, 160);

  double relay_cpu = 0;
  ASSERT_EQ(burst(io, a, b, to, 1000, packet, relay_cpu), 1000U);  // warm-up: asio's handler caches

  constexpr std::size_t kBurst = 10000;
  g_allocations = 0;
  relay_cpu = 0;
  const double cpu0 = cpu_seconds();
  g_counting = true;
  const std::size_t received = burst(io, a, b, to, kBurst, packet, relay_cpu);
  g_counting = false;
  const double cpu = cpu_seconds() - cpu0;

  EXPECT_EQ(received, kBurst);
  EXPECT_EQ(g_allocations.load(), 0U);
  // io_uring counts a packet when its send completes, possibly reaped after the delivery.
  test::pump_until(io, [&] { return (*s)->stats().packets[0] == 1000U + kBurst; });
  EXPECT_EQ((*s)->stats().packets[0], 1000U + kBurst);
  EXPECT_EQ((*s)->stats().dropped(), 0U);
  std::printf("relay burst (%s): %zu packets, %.2f us CPU per packet in the relay, %.2f us "
              "with the test peers' send + receive\n",
              test::io_name(path), received,
              relay_cpu * 1e6 / static_cast<double>(kBurst),
              cpu * 1e6 / static_cast<double>(kBurst));
}

TEST(RelayAllocationTest, TenThousandPacketBurstAllocatesNothing) {
  burst_allocates_nothing(test::Io::AsioWait);
}

TEST(RelayAllocationTest, TenThousandPacketBurstAllocatesNothingWithEpollSet) {
  burst_allocates_nothing(test::Io::EpollSet);
}

TEST(RelayAllocationTest, TenThousandPacketBurstAllocatesNothingWithIoUring) {
  burst_allocates_nothing(test::Io::IoUring);
}

}  // namespace
}  // namespace portico::media
