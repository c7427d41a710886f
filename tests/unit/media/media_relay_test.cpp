// MediaRelay: streams per call, teardown returning ports, totals that survive closed streams,
// and destruction while datagrams and handlers are still in flight.

#include <gtest/gtest.h>

#include "media_test_util.hpp"
#include "portico/media/relay.hpp"

namespace portico::media {
namespace {

using test::Io;
using test::make_io;
using test::make_rtp;
using test::pump_for;
using test::pump_until;
using test::TestPeer;
using namespace std::chrono_literals;

const asio::ip::address kV4 = asio::ip::make_address("127.0.0.1");

class MediaRelayTest : public ::testing::TestWithParam<Io> {
 protected:
  StreamConfig config(bool mux) {
    StreamConfig c;
    c.a = SideConfig{kV4, a_.endpoint(), std::nullopt, true, false};
    c.b = SideConfig{kV4, b_.endpoint(), std::nullopt, true, false};
    c.rtcp_mux = mux;
    return c;
  }

  test::PortRangeLock lock_;  // first: other runs of this suite use the same ports
  asio::io_context io_;
  test::IoPath io_path_ = make_io(io_, GetParam());
  ManualTimerService timers_;
  PortAllocator ports_{io_, timers_, PortAllocatorConfig{{31700, 31779}, Millis{2000}, 32}};
  RelayDeps deps_{io_, timers_, ports_, ports_, io_path_.uring.get(), io_path_.epoll.get()};
  TestPeer a_{io_, kV4};
  TestPeer b_{io_, kV4};
};

TEST_P(MediaRelayTest, ClosingStreamsReturnsTheirPortsAfterTheDrain) {
  MediaRelay relay(deps_);
  ASSERT_TRUE(relay.open_stream(0, config(false)).ok());
  ASSERT_TRUE(relay.open_stream(1, config(true)).ok());
  EXPECT_EQ(relay.open_streams(), 2U);
  EXPECT_EQ(ports_.in_use_count(), 6U);

  RelayStream* audio = relay.stream(0);
  ASSERT_NE(audio, nullptr);
  a_.send(audio->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(pump_until(io_, [&] { return b_.poll() > 0 || !b_.got.empty(); }));
  // io_uring counts a packet when its send completes, which may be reaped after the peer
  // already has the datagram: wait for the counter too, not only for the delivery.
  ASSERT_TRUE(pump_until(io_, [&] { return relay.stats().packets[0] == 1U; }));

  relay.close_stream(0);
  EXPECT_EQ(relay.stream(0), nullptr);
  EXPECT_EQ(ports_.in_use_count(), 2U);
  relay.close();
  EXPECT_EQ(relay.open_streams(), 0U);
  EXPECT_EQ(ports_.in_use_count(), 0U);
  // Plus any port another process held when it was tried (parallel test runs share ranges).
  EXPECT_EQ(ports_.quarantined_count(), 6U + ports_.bind_failures());
  EXPECT_EQ(relay.stats().packets[0], 1U);  // counters of closed streams are kept

  timers_.advance(Millis{2000});
  EXPECT_EQ(ports_.free_count(), ports_.capacity());
  EXPECT_EQ(timers_.armed(), 0U);
}

TEST_P(MediaRelayTest, ExhaustionFailsTheStreamAndLeaksNothing) {
  PortAllocator small(io_, timers_, PortAllocatorConfig{{31780, 31785}, Millis{2000}, 8});
  MediaRelay relay(
      RelayDeps{io_, timers_, small, small, io_path_.uring.get(), io_path_.epoll.get()});
  ASSERT_TRUE(relay.open_stream(0, config(false)).ok());
  auto second = relay.open_stream(1, config(false));  // A side fits, B side does not
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().reason, "ports_exhausted");
  EXPECT_EQ(relay.open_streams(), 1U);
  EXPECT_EQ(small.in_use_count(), 4U);
  EXPECT_EQ(small.quarantined_count(), 2U);
}

TEST_P(MediaRelayTest, EachSideTakesPortsFromItsOwnRealmRange) {
  const auto other_ip = asio::ip::make_address("127.0.0.2");
  PortAllocator carrier(io_, timers_, PortAllocatorConfig{{31790, 31799}, Millis{2000}, 8});
  MediaRelay relay(
      RelayDeps{io_, timers_, ports_, carrier, io_path_.uring.get(), io_path_.epoll.get()});
  StreamConfig c = config(false);
  c.b.local = other_ip;
  auto s = relay.open_stream(0, c);
  ASSERT_TRUE(s.ok()) << s.error().detail;
  const Endpoint a_local = (*s)->local_rtp(Side::A);
  const Endpoint b_local = (*s)->local_rtp(Side::B);
  EXPECT_EQ(a_local.address, kV4);
  EXPECT_GE(a_local.port, 31700);
  EXPECT_LE(a_local.port, 31779);
  EXPECT_EQ(b_local.address, other_ip);
  EXPECT_GE(b_local.port, 31790);
  EXPECT_LE(b_local.port, 31799);
  EXPECT_EQ(ports_.in_use_count(), 2U);
  EXPECT_EQ(carrier.in_use_count(), 2U);
  relay.close();  // before `carrier` goes: leases return their ports to it
}

TEST_P(MediaRelayTest, ReopeningAnIndexReplacesTheStream) {
  MediaRelay relay(deps_);
  ASSERT_TRUE(relay.open_stream(0, config(false)).ok());
  const Endpoint first = relay.stream(0)->local_rtp(Side::A);
  ASSERT_TRUE(relay.open_stream(0, config(true)).ok());
  EXPECT_TRUE(relay.stream(0)->rtcp_mux());
  EXPECT_NE(relay.stream(0)->local_rtp(Side::A), first);  // old port is draining
  EXPECT_EQ(ports_.in_use_count(), 2U);
}

TEST_P(MediaRelayTest, DestroyingAStreamWithPacketsInFlightIsSafe) {
  MediaRelay relay(deps_);
  ASSERT_TRUE(relay.open_stream(0, config(true)).ok());
  const Endpoint target = relay.stream(0)->local_rtp(Side::A);
  // More than one wake-up's worth (8 x 32), so the drain posts a continuation that is still
  // queued when the stream dies; more datagrams keep its socket readable.
  for (std::uint16_t i = 0; i < 400; ++i) {
    a_.send(target, make_rtp(1, i));
  }
  // One handler: the epoll path drains 8 batches of 32 and posts the rest of the drain. The
  // ring relays what its receives took in one round and counts it when the next round has
  // issued the sends.
  if (io_path_.uring == nullptr) {
    io_.restart();
    ASSERT_EQ(io_.run_one(), 1U);
  } else {
    test::poll_once(io_);
    test::poll_once(io_);
  }
  const std::uint64_t relayed = relay.stream(0)->stats().packets[0];
  if (io_path_.uring == nullptr) {
    // 8 batches of 32 taken in: relayed, or dropped by the latch as another source's.
    // Parallel runs of these tests share the port range, and one may still be sending to a
    // port this run now holds; nothing else may be dropped.
    const RelayStats st = relay.stream(0)->stats();
    ASSERT_EQ(relayed + st.hijack_dropped, 256U) << "hijacked " << st.hijack_dropped;
    EXPECT_EQ(st.dropped(), st.hijack_dropped);
  } else {
    ASSERT_GT(relayed, 0U);
  }
  for (std::uint16_t i = 0; i < 100; ++i) {
    a_.send(target, make_rtp(1, i));
  }
  relay.close();
  EXPECT_EQ(ports_.in_use_count(), 0U);
  for (std::uint16_t i = 0; i < 50; ++i) {
    a_.send(target, make_rtp(1, i));  // to a closed port: refused, never delivered
  }
  pump_for(io_, 50ms);  // aborted waits and the posted drain run against an expired guard
  EXPECT_EQ(relay.stats().packets[0], relayed);  // nothing reached the stream once it was gone
}

TEST_P(MediaRelayTest, DestroyWithoutRunningTheLoopIsSafe) {
  {
    MediaRelay relay(deps_);
    ASSERT_TRUE(relay.open_stream(0, config(false)).ok());
    a_.send(relay.stream(0)->local_rtp(Side::A), make_rtp(1, 1));
  }
  pump_for(io_, 20ms);
  EXPECT_EQ(ports_.in_use_count(), 0U);
}

INSTANTIATE_TEST_SUITE_P(Engines, MediaRelayTest,
                         ::testing::Values(Io::AsioWait, Io::EpollSet, Io::IoUring),
                         [](const ::testing::TestParamInfo<Io>& i) {
                           return test::io_name(i.param);
                         });

}  // namespace
}  // namespace portico::media
