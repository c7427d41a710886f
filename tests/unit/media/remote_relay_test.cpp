// A stream opened on one thread and relayed on another's (server.media_shards): the opening
// shard allocates the ports and changes the stream; the media shard's thread, sleeping in its
// ring or epoll set, moves the packets. Real loopback sockets, real threads.

#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "media_test_util.hpp"
#include "portico/media/relay.hpp"

namespace portico::media {
namespace {

using test::Bytes;
using test::Io;
using test::make_io;
using test::make_rtcp_rr;
using test::make_rtp;
using test::pump_until;
using test::TestPeer;
using namespace std::chrono_literals;

const asio::ip::address kV4 = asio::ip::make_address("127.0.0.1");
// This suite's own slice, wide enough for the ports that parallel test runs (ctest -j, other
// build trees) hold in it at the same time: the allocator skips those and tries the next.
constexpr std::uint16_t kPortsLo = 31900;
constexpr std::uint16_t kPortsHi = 32299;

/// Another shard's thread: its loop, clock and media I/O, running as Shard::start runs them.
class MediaShard {
 public:
  explicit MediaShard(Io want) : path_(make_io(io_, want)) {
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      if (path_.uring) {
        path_.uring->run();
      } else {
        io_.run();
      }
    });
  }
  ~MediaShard() {
    // Posted, as Server::stop_shards does: the sockets of streams destroyed before this close
    // first, while the ring or set they sit in still exists.
    asio::post(io_, [this] { io_.stop(); });
    if (path_.uring) {
      path_.uring->wake();
    }
    thread_.join();
  }
  MediaShard(const MediaShard&) = delete;
  MediaShard& operator=(const MediaShard&) = delete;

  /// Runs `fn` on the media thread and returns its answer (bounded wait).
  template <class Fn>
  auto call(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    if (path_.uring) {
      path_.uring->wake();
    }
    EXPECT_EQ(fut.wait_for(5s), std::future_status::ready);
    return fut.get();
  }

  asio::io_context io_;
  test::IoPath path_;
  AsioTimerService timers_{io_};
  std::thread thread_;
};

class RemoteRelayTest : public ::testing::TestWithParam<Io> {
 protected:
  RelayDeps deps() {
    return RelayDeps{media_.io_, media_.timers_, ports_, ports_, media_.path_.uring.get(),
                     media_.path_.epoll.get(), true};
  }

  RelayStreamPtr open(bool mux = false) {
    StreamConfig c;
    c.a = SideConfig{kV4, a_.endpoint(), a_rtcp_.endpoint(), true, false};
    c.b = SideConfig{kV4, b_.endpoint(), b_rtcp_.endpoint(), true, false};
    c.rtcp_mux = mux;
    auto s = RelayStream::open(deps(), std::move(c));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().detail);
    return s.ok() ? std::move(s).value() : nullptr;
  }

  /// The peers are polled from this thread; nothing of the stream runs here.
  static bool await(TestPeer& p, std::size_t count) {
    asio::io_context idle;
    return pump_until(idle, [&] {
      p.poll();
      return p.got.size() >= count;
    });
  }

  test::PortRangeLock lock_;  // first: other runs of this suite use the same ports
  asio::io_context io_;  // the opening shard's loop: the ports' sockets are created on it
  ManualTimerService timers_;
  PortAllocator ports_{io_, timers_, PortAllocatorConfig{{kPortsLo, kPortsHi}, Millis{2000}, 128}};
  TestPeer a_{io_, kV4};
  TestPeer a_rtcp_{io_, kV4};
  TestPeer b_{io_, kV4};
  TestPeer b_rtcp_{io_, kV4};
  MediaShard media_{GetParam()};
};

TEST_P(RemoteRelayTest, RelaysBothWaysOnTheMediaThreadAndCountsForTheOpener) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(ports_.in_use_count(), 4U);
  const Bytes ab = make_rtp(0x0a0a0a0a, 1);
  const Bytes ba = make_rtp(0x0b0b0b0b, 7, 20);
  const Bytes rr = make_rtcp_rr(0x0a0a0a0a);
  // Sent before the media thread may have registered the ports: the datagrams wait in the
  // sockets, and the ports are armed in the order the stream was opened.
  a_.send(s->local_rtp(Side::A), ab);
  b_.send(s->local_rtp(Side::B), ba);
  a_rtcp_.send(s->local_rtcp(Side::A), rr);

  ASSERT_TRUE(await(b_, 1));
  ASSERT_TRUE(await(a_, 1));
  ASSERT_TRUE(await(b_rtcp_, 1));
  EXPECT_EQ(b_.got[0].data, ab);
  EXPECT_EQ(b_.got[0].from, s->local_rtp(Side::B));  // anchored on Portico's B port
  EXPECT_EQ(a_.got[0].data, ba);
  EXPECT_EQ(a_.got[0].from, s->local_rtp(Side::A));
  EXPECT_EQ(b_rtcp_.got[0].data, rr);

  // The media thread writes the counters; this thread reads them as the call's shard does.
  asio::io_context idle;
  EXPECT_TRUE(pump_until(idle, [&] {
    const RelayStats st = s->stats();
    return st.packets[0] == 2U && st.packets[1] == 1U;
  })) << s->stats().packets[0] << " " << s->stats().packets[1];
  EXPECT_EQ(s->stats().latched, 3U);
  EXPECT_EQ(s->stats().dropped(), 0U);
  EXPECT_EQ(s->stats().bytes[0], ab.size() + rr.size());
  EXPECT_NE(s->last_rx(Side::A), TimePoint{});  // the media shard's clock, for media timeouts
  EXPECT_NE(s->last_rx(Side::B), TimePoint{});
}

TEST_P(RemoteRelayTest, SetPeerReachesTheMediaThreadInOrder) {
  auto s = open(true);
  ASSERT_NE(s, nullptr);
  TestPeer moved{io_, kV4};
  // A re-INVITE moves side B's media before any packet: the next packet goes to the new peer.
  s->set_peer(Side::B, moved.endpoint(), std::nullopt);
  a_.send(s->local_rtp(Side::A), make_rtp(1, 1));
  ASSERT_TRUE(await(moved, 1));
  EXPECT_EQ(media_.call([&] { return s->destination(Side::B, Channel::Rtp); }), moved.endpoint());
  b_.poll();
  EXPECT_TRUE(b_.got.empty());
}

TEST_P(RemoteRelayTest, DestroyingTheStreamClosesItsSocketsOnTheMediaThread) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  const Endpoint a_port = s->local_rtp(Side::A);
  a_.send(a_port, make_rtp(1, 1));
  ASSERT_TRUE(await(b_, 1));

  s.reset();
  // The ports go back at once, into quarantine; the sockets close after what the media thread
  // already had queued, so a barrier on that thread is enough to see them closed.
  EXPECT_EQ(ports_.in_use_count(), 0U);
  media_.call([] { return 0; });
  asio::ip::udp::socket probe(io_);
  probe.open(asio::ip::udp::v4());
  std::error_code ec;
  probe.bind({kV4, a_port.port}, ec);
  EXPECT_FALSE(ec) << "the relay port is still bound after the stream ended: " << ec.message();
  a_.send(a_port, make_rtp(1, 2));
  asio::io_context idle;
  EXPECT_FALSE(pump_until(idle, [&] { return b_.poll() > 0; }, 100ms));
}

TEST_P(RemoteRelayTest, ManyStreamsOpenedAndClosedWhileTrafficFlows) {
  // Streams come and go on the opening thread while the media thread relays the others.
  // Ports held elsewhere stand in for a parallel run of this suite: binds fail and are skipped.
  std::vector<asio::ip::udp::socket> held;
  for (std::uint16_t p = kPortsLo; p < kPortsLo + 40; ++p) {
    std::error_code ec;
    held.emplace_back(io_).open(asio::ip::udp::v4(), ec);
    held.back().bind({kV4, p}, ec);  // taken already: held by someone else, same effect
  }
  std::vector<RelayStreamPtr> streams;
  for (int i = 0; i < 10; ++i) {
    streams.push_back(open(true));
    ASSERT_NE(streams.back(), nullptr);
  }
  for (int round = 0; round < 20; ++round) {
    for (auto& s : streams) {
      a_.send(s->local_rtp(Side::A), make_rtp(3, static_cast<std::uint16_t>(round)));
    }
    RelayStreamPtr& replaced = streams[static_cast<std::size_t>(round) % streams.size()];
    replaced = open(true);
    ASSERT_NE(replaced, nullptr);  // the next round sends through it
  }
  // Round 19 sent to all ten; the nine not replaced after it relay theirs at least.
  std::size_t got = 0;
  asio::io_context idle;
  EXPECT_TRUE(pump_until(idle, [&] {
    got += b_.discard();
    return got >= 9;
  })) << got;
  EXPECT_EQ(ports_.in_use_count(), 20U);  // muxed: one port per side
  streams.clear();
  EXPECT_EQ(ports_.in_use_count(), 0U);
  media_.call([] { return 0; });  // every socket closed there before the allocator goes
}

INSTANTIATE_TEST_SUITE_P(MediaIo, RemoteRelayTest, ::testing::Values(Io::EpollSet, Io::IoUring),
                         [](const ::testing::TestParamInfo<Io>& i) { return std::string(test::io_name(i.param)); });

}  // namespace
}  // namespace portico::media
