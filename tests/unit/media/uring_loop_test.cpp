// UringEngine::run, the shard loop that sleeps in the ring: real loopback sockets, real asio
// timers and posts from another thread, all served by one run() on the test's thread.

#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "media_test_util.hpp"
#include "portico/media/relay.hpp"

namespace portico::media {
namespace {

using test::Bytes;
using test::make_rtp;
using test::TestPeer;
using namespace std::chrono_literals;

const asio::ip::address kV4 = asio::ip::make_address("127.0.0.1");

class UringLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    engine_ = UringEngine::create(io_, why);
    if (!engine_) {
      GTEST_SKIP() << "io_uring unavailable here: " << why;
    }
  }

  /// A timer that stops the loop after `limit` (asio's own wake-up path, not the doorbell).
  void watchdog(std::chrono::milliseconds limit) {
    guard_.expires_after(limit);
    guard_.async_wait([this](const std::error_code& ec) {
      if (!ec) {
        timed_out_ = true;
        io_.stop();
      }
    });
  }

  asio::io_context io_;
  std::unique_ptr<UringEngine> engine_;
  asio::steady_timer guard_{io_};
  bool timed_out_ = false;
};

TEST_F(UringLoopTest, RelaysBothWaysAndRunsAsioTimersInTheSameLoop) {
  ManualTimerService timers;
  PortAllocator ports{io_, timers, PortAllocatorConfig{{32300, 32399}, Millis{2000}, 32}};
  TestPeer a{io_, kV4};
  TestPeer b{io_, kV4};
  StreamConfig c;
  c.a = SideConfig{kV4, a.endpoint(), std::nullopt, true, false};
  c.b = SideConfig{kV4, b.endpoint(), std::nullopt, true, false};
  auto opened = RelayStream::open(RelayDeps{io_, timers, ports, ports, engine_.get(), nullptr},
                                  std::move(c));
  ASSERT_TRUE(opened.ok());
  RelayStreamPtr s = std::move(opened).value();

  const Bytes ab = make_rtp(0x0a0a0a0a, 1);
  const Bytes ba = make_rtp(0x0b0b0b0b, 7);
  // The peers send from an asio timer, then a 1 ms timer polls them: both run inside run().
  asio::steady_timer send_at(io_, 10ms);
  asio::steady_timer check(io_);
  int checks = 0;
  std::function<void()> poll_peers = [&] {
    a.poll();
    b.poll();
    if ((!a.got.empty() && !b.got.empty()) || ++checks > 2000) {
      io_.stop();
      return;
    }
    check.expires_after(1ms);
    check.async_wait([&](const std::error_code& ec) {
      if (!ec) {
        poll_peers();
      }
    });
  };
  send_at.async_wait([&](const std::error_code&) {
    a.send(s->local_rtp(Side::A), ab);
    b.send(s->local_rtp(Side::B), ba);
    poll_peers();
  });
  watchdog(5s);

  engine_->run();
  EXPECT_FALSE(timed_out_);
  ASSERT_EQ(b.got.size(), 1U);
  ASSERT_EQ(a.got.size(), 1U);
  EXPECT_EQ(b.got[0].data, ab);
  EXPECT_EQ(a.got[0].data, ba);
  EXPECT_EQ(b.got[0].from, s->local_rtp(Side::B));  // anchored: sent from Portico's B port
  EXPECT_EQ(a.got[0].from, s->local_rtp(Side::A));
  EXPECT_EQ(s->stats().packets[0], 1U);  // counted once the enter that sent it returned
  EXPECT_EQ(s->stats().packets[1], 1U);
  EXPECT_EQ(s->stats().send_error, 0U);
}

TEST_F(UringLoopTest, APostFromAnotherThreadWakesTheSleepingLoop) {
  // Nothing else is pending, so only the doorbell can wake the loop before the watchdog.
  watchdog(5s);
  std::atomic<bool> ran{false};
  std::thread other([&] {
    std::this_thread::sleep_for(50ms);
    asio::post(io_, [&] {
      ran = true;
      io_.stop();
    });
    engine_->wake();
  });
  const auto start = std::chrono::steady_clock::now();
  engine_->run();
  other.join();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(timed_out_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(UringLoopTest, StopFromAnotherThreadEndsTheLoop) {
  watchdog(5s);
  std::thread other([&] {
    std::this_thread::sleep_for(50ms);
    io_.stop();       // what a shard's destructor does, then
    engine_->wake();  // asio would not interrupt a thread that sleeps outside it
  });
  const auto start = std::chrono::steady_clock::now();
  engine_->run();
  other.join();
  // The watchdog's stop would end it too, later (and its handler never runs once stopped).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace portico::media
