#include <gtest/gtest.h>

#include "policy_test_util.hpp"

namespace portico::policy::test {
namespace {

const char* const kMediaRealms = R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media:
      address: 127.0.0.1
      advertised_address: 192.0.2.10
      ports: 20001-20999
      nat: true
      latch_any_ip: true
  carrier:
    listeners: [udp://127.0.0.2:5060]
    media: {address: 127.0.0.2, ports: 30000-30999}
  signalling_only:
    listeners: [udp://127.0.0.3:5060]
)";

TEST(MediaSection, ParsedPerRealm) {
  auto p = load_policy_texts({{"p.yaml", kMediaRealms}});
  const auto& a = p->find_realm("access")->media;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.address.to_string(), "127.0.0.1");
  EXPECT_EQ(a.advertised_address, "192.0.2.10");
  EXPECT_EQ(a.port_min, 20002);  // RTP is even: an odd minimum moves up
  EXPECT_EQ(a.port_max, 20999);
  EXPECT_TRUE(a.nat);
  EXPECT_TRUE(a.latch_any_ip);
  const auto& c = p->find_realm("carrier")->media;
  EXPECT_TRUE(c.enabled);
  EXPECT_FALSE(c.nat);
  EXPECT_EQ(c.advertised_address, "");
  EXPECT_EQ(c.port_min, 30000);
  EXPECT_FALSE(p->find_realm("signalling_only")->media.enabled);
}

TEST(MediaSection, MediaTimeoutDefaultsToAMinuteAndZeroTurnsItOff) {
  auto p = load_policy_texts({{"p.yaml", kBaseRealms}});
  EXPECT_EQ(p->timers.media_timeout, std::chrono::seconds(60));
  p = load_policy_texts({{"p.yaml", std::string(kBaseRealms) + "timers: {media_timeout: 0s}\n"}});
  EXPECT_EQ(p->timers.media_timeout.count(), 0);
}

TEST(MediaSection, BadFieldsAreNamed) {
  auto diags = diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media:
      address: 0.0.0.0
      ports: 30000-20000
      latch_any_ip: true
)"}});
  ASSERT_EQ(diags.size(), 3u);
  EXPECT_NE(diags[0].find("p.yaml:5:16: realms.access.media.address: \"0.0.0.0\" is a wildcard"),
            std::string::npos) << diags[0];
  EXPECT_NE(diags[1].find("p.yaml:6:14: realms.access.media.ports: \"30000-20000\" is not a usable "
                          "port range"),
            std::string::npos) << diags[1];
  EXPECT_NE(diags[2].find("realms.access.media.latch_any_ip: latch_any_ip only applies with nat"),
            std::string::npos) << diags[2];
}

TEST(MediaSection, AddressIsRequiredAndRangesMustHoldACall) {
  auto diags = diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media: {ports: 20000-20002}
)"}});
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_NE(diags[0].find("realms.access.media.address"), std::string::npos) << diags[0];
  EXPECT_NE(diags[1].find("holds fewer than 4 ports"), std::string::npos) << diags[1];
  diags = diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media: {address: 127.0.0.1, ports: many}
)"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("\"many\" is not a port range"), std::string::npos) << diags[0];
}

TEST(MediaSection, OverlappingRangesOnOneAddressAreRefused) {
  auto diags = diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media: {address: 127.0.0.1, ports: 20000-29999}
  carrier:
    listeners: [udp://127.0.0.2:5060]
    media: {address: 127.0.0.1, ports: 29000-39999}
)"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("realms.carrier.media.ports: port range 29000-39999 on 127.0.0.1 "
                          "overlaps realms.access.media.ports (20000-29999)"),
            std::string::npos) << diags[0];
  // The same range on different addresses is fine.
  EXPECT_TRUE(diagnostics_of({{"p.yaml", R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
    media: {address: 127.0.0.1, ports: 20000-29999}
  carrier:
    listeners: [udp://127.0.0.2:5060]
    media: {address: 127.0.0.2, ports: 20000-29999}
)"}}).empty());
}

}  // namespace
}  // namespace portico::policy::test

namespace portico::policy::test {
namespace {

TEST(MediaIo, DefaultsToEpollAndNamesABadValue) {
  EXPECT_EQ(load_policy_texts({{"p.yaml", kBaseRealms}})->server.media_io, "auto");
  auto p =
      load_policy_texts({{"p.yaml", std::string(kBaseRealms) + "server: {media_io: io_uring}\n"}});
  EXPECT_EQ(p->server.media_io, "io_uring");
  auto diags =
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "server: {media_io: uring}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("server.media_io: \"uring\" is not a media I/O method"), std::string::npos)
      << diags[0];
}

TEST(PinShards, DefaultsToPinnedAndNamesABadValue) {
  EXPECT_TRUE(load_policy_texts({{"p.yaml", kBaseRealms}})->server.pin_shards);
  auto p =
      load_policy_texts({{"p.yaml", std::string(kBaseRealms) + "server: {pin_shards: false}\n"}});
  EXPECT_FALSE(p->server.pin_shards);
  auto diags =
      diagnostics_of({{"p.yaml", std::string(kBaseRealms) + "server: {pin_shards: yes}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("server.pin_shards: expected true or false"), std::string::npos)
      << diags[0];
}

TEST(MediaShards, DefaultsToHalfTheShardsAndNamesABadValue) {
  EXPECT_EQ(load_policy_texts({{"p.yaml", kBaseRealms}})->server.media_shards, 0);
  auto p = load_policy_texts(
      {{"p.yaml", std::string(kBaseRealms) + "server: {shards: 4, media_shards: 1}\n"}});
  EXPECT_EQ(p->server.media_shards, 1);
  auto diags = diagnostics_of(
      {{"p.yaml", std::string(kBaseRealms) + "server: {media_shards: 65}\n"}});
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].find("p.yaml:6:24: server.media_shards: 65 is not a media shard count"), std::string::npos)
      << diags[0];
}

}  // namespace
}  // namespace portico::policy::test
