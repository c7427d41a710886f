// ShardSet: the one way to run something on another shard's thread. Two real shards on
// loopback, started and stopped as the Server does.

#include "portico/runtime/shard_set.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "portico/b2bua/trunk_usage.hpp"
#include "portico/policy/loader.hpp"
#include "portico/sip/message.hpp"

namespace portico::runtime {
namespace {

const char* const kPolicy = R"(
server: {shards: 2, media_shards: 1, pin_shards: false, media_io: epoll}
realms:
  access: {listeners: ["udp://127.83.17.5:45999"]}  # an address nothing else uses
)";

class ShardSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sip::init_parser();
    auto policy = policy::load_policy_texts({{"p.yaml", kPolicy}});
    for (std::uint16_t i = 0; i < 2; ++i) {
      shards_.add(std::make_unique<Shard>(i, shards_, policy, usage_, "test"));
    }
    for (std::uint16_t i = 0; i < 2; ++i) {
      shards_.at(i).start();
    }
  }
  void TearDown() override { shards_.stop_all(); }

  b2bua::TrunkUsage usage_;
  ShardSet shards_;
};

TEST_F(ShardSetTest, InvokeOnRunsOnTheShardsOwnThreadInOrder) {
  ASSERT_EQ(shards_.size(), 2);
  struct Seen {
    std::vector<int> order;
    std::vector<std::thread::id> threads;
    std::vector<const Shard*> shards;
  };
  auto seen = std::make_shared<Seen>();  // written on shard 1's thread only, read after done
  std::promise<void> done;
  for (int n = 0; n < 5; ++n) {
    auto payload = std::make_unique<int>(n);  // move-only: moved into the queue, never copied
    shards_.invoke_on(1, [seen, payload = std::move(payload)](Shard& s) {
      seen->order.push_back(*payload);
      seen->threads.push_back(std::this_thread::get_id());
      seen->shards.push_back(&s);
    });
  }
  shards_.invoke_on(1, [&done](Shard&) { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(seen->order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (std::size_t i = 0; i < seen->threads.size(); ++i) {
    EXPECT_EQ(seen->threads[i], seen->threads[0]);
    EXPECT_EQ(seen->shards[i], &shards_.at(1));
  }
  EXPECT_NE(seen->threads[0], std::this_thread::get_id());
}

TEST_F(ShardSetTest, InvokeOnAllReachesEveryShard) {
  std::vector<std::promise<std::thread::id>> answers(shards_.size());
  for (std::uint16_t i = 0; i < shards_.size(); ++i) {
    shards_.invoke_on(i,
                      [&answers, i](Shard&) { answers[i].set_value(std::this_thread::get_id()); });
  }
  auto f0 = answers[0].get_future();
  auto f1 = answers[1].get_future();
  ASSERT_EQ(f0.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  ASSERT_EQ(f1.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_NE(f0.get(), f1.get());  // one thread per shard

  auto count = std::make_shared<std::atomic<int>>(0);
  std::promise<void> both;
  shards_.invoke_on_all([count, &both](Shard&) {
    if (++*count == 2) {
      both.set_value();
    }
  });
  ASSERT_EQ(both.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_F(ShardSetTest, MediaShardPublishesItsOwnLoopAsItsHost) {
  const MediaHost& host = shards_.at(0).media_host();
  EXPECT_EQ(host.io, &shards_.at(0).io());
  EXPECT_NE(host.timers, nullptr);
  EXPECT_EQ(host.uring, nullptr);  // media_io: epoll
  // The host of shard 1's calls is shard 0; its own host is still its own loop.
  EXPECT_EQ(shards_.at(1).media_host().io, &shards_.at(1).io());
}

}  // namespace
}  // namespace portico::runtime
