// MediaPorts: each shard's even-aligned slice of a realm's port range, and what a policy reload
// keeps (an unchanged realm keeps its allocator, so live calls' leases stay valid).

#include "portico/b2bua/media_ports.hpp"

#include <gtest/gtest.h>

#include "portico/common/timer_service.hpp"
#include "portico/policy/loader.hpp"

namespace portico::b2bua {
namespace {

std::shared_ptr<const policy::PolicySnapshot> policy_with(const std::string& access_ports) {
  return policy::load_policy_texts({{"p.yaml", R"(
realms:
  access:
    listeners: ["udp://127.0.0.1:5060"]
    media: {address: 127.0.0.1, ports: )" + access_ports +
                                                   R"(}
  plain:
    listeners: ["udp://127.0.0.3:5060"]
)"}});
}

TEST(MediaPortsTest, SlicesAreEvenAlignedDisjointAndCoverTheRange) {
  // 20001-20100: starts on the first even port; 100 ports in 3 slices of 32 (even).
  auto s0 = MediaPorts::slice(20001, 20100, 0, 3);
  auto s1 = MediaPorts::slice(20001, 20100, 1, 3);
  auto s2 = MediaPorts::slice(20001, 20100, 2, 3);
  ASSERT_TRUE(s0 && s1 && s2);
  EXPECT_EQ(s0->lo, 20002);
  EXPECT_EQ(s0->hi, 20033);
  EXPECT_EQ(s1->lo, 20034);
  EXPECT_EQ(s2->hi, 20097);
  EXPECT_EQ(s1->lo, s0->hi + 1);
  EXPECT_EQ(s2->lo, s1->hi + 1);
}

TEST(MediaPortsTest, NoSliceBelowFourPortsOrForAShardOutOfRange) {
  EXPECT_TRUE(MediaPorts::slice(30000, 30003, 0, 1));
  EXPECT_FALSE(MediaPorts::slice(30000, 30002, 0, 1));  // 3 ports
  EXPECT_FALSE(MediaPorts::slice(30000, 30009, 0, 4));  // 10 ports, 2 each
  EXPECT_FALSE(MediaPorts::slice(30000, 30099, 2, 2));  // no shard 2 of 2
  EXPECT_FALSE(MediaPorts::slice(30000, 30099, 0, 0));
  EXPECT_FALSE(MediaPorts::slice(30001, 30001, 0, 1));  // max below the first even port
}

TEST(MediaPortsTest, ReloadKeepsUnchangedRealmsAndReplacesChangedOnes) {
  asio::io_context io;
  ManualTimerService timers;
  MediaPorts ports{io, timers, 1, 2};
  ports.update(*policy_with("31000-31099"));
  auto first = ports.find("access");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(ports.find("plain"), nullptr);  // no media section
  EXPECT_EQ(ports.find("nowhere"), nullptr);

  ports.update(*policy_with("31000-31099"));
  EXPECT_EQ(ports.find("access"), first);
  ports.update(*policy_with("32000-32099"));
  EXPECT_NE(ports.find("access"), first);
  ports.update(*policy_with("32000-32005"));  // 3 ports per shard: no allocator
  EXPECT_EQ(ports.find("access"), nullptr);
}

}  // namespace
}  // namespace portico::b2bua
