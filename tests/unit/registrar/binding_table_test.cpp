// The binding table's rules on a hand-driven clock: what a client is granted, when its binding
// expires, when a refresh may be answered locally and when it must go upstream, unregistering;
// and the per-shard directory that calls look bindings up in.

#include "portico/registrar/binding_table.hpp"

#include <gtest/gtest.h>

#include "portico/registrar/binding_directory.hpp"

namespace portico::registrar {
namespace {

using std::chrono::seconds;

const transport::Destination kNat{"access", transport::Protocol::Udp,
                                  {asio::ip::make_address("203.0.113.7"), 40123}, {}};

class BindingTableTest : public ::testing::Test {
 protected:
  TimePoint at(int secs) const { return TimePoint{} + seconds(1000 + secs); }

  // A binding the registrar accepted at t=0 for `upstream`, the client granted `client`.
  Binding& active(seconds upstream = seconds(3600), seconds client = seconds(60)) {
    Binding& b = table_.create("alice@example.com", "alice", "example.com", "access", "pt00abc",
                               "tag1", at(0));
    BindingTable::refresh_client(b, "sip:alice@192.168.1.20:5062", kNat, client, at(0));
    BindingTable::upstream_registered(b, upstream, at(0));
    return b;
  }

  static Millis window(seconds client) { return client + BindingTable::grace(client); }

  BindingTable table_;
};

TEST_F(BindingTableTest, GrantIsCappedByPolicyAndAtLeastOneSecond) {
  EXPECT_EQ(BindingTable::grant(seconds(3600), seconds(60)), seconds(60));
  EXPECT_EQ(BindingTable::grant(seconds(30), seconds(60)), seconds(30));  // never lengthened
  EXPECT_EQ(BindingTable::grant(Millis{0}, seconds(60)), seconds(1));
}

TEST_F(BindingTableTest, GraceIsTenPercentWithinOneToTenSeconds) {
  EXPECT_EQ(BindingTable::grace(seconds(60)), seconds(6));
  EXPECT_EQ(BindingTable::grace(seconds(2)), seconds(1));
  EXPECT_EQ(BindingTable::grace(seconds(3600)), seconds(10));
}

TEST_F(BindingTableTest, NewBindingIsPendingUntilTheRegistrarAccepts) {
  Binding& b =
      table_.create("bob@example.com", "bob", "example.com", "access", "pt01x", "t", at(0));
  EXPECT_EQ(b.state, BindingState::Pending);
  EXPECT_EQ(b.route.aor, "bob@example.com");
  EXPECT_FALSE(BindingTable::upstream_fresh(b, at(0), window(seconds(60))));
  BindingTable::upstream_registered(b, seconds(3600), at(1));
  EXPECT_EQ(b.state, BindingState::Active);
  EXPECT_EQ(table_.count(BindingState::Active), 1u);
}

TEST_F(BindingTableTest, RefreshIsLocalWhileUpstreamHasMoreThanHalfItsLife) {
  Binding& b = active();
  EXPECT_TRUE(BindingTable::upstream_fresh(b, at(60), window(seconds(60))));
  EXPECT_TRUE(BindingTable::upstream_fresh(b, at(1799), window(seconds(60))));
  // Half the granted hour is gone: the next refresh goes upstream.
  EXPECT_FALSE(BindingTable::upstream_fresh(b, at(1800), window(seconds(60))));
  EXPECT_FALSE(BindingTable::upstream_fresh(b, at(3600), window(seconds(60))));
}

TEST_F(BindingTableTest, RefreshGoesUpstreamWhenTheRegistrarGrantedLessThanTheClientNeeds) {
  // The registrar cut our hour to 100 s: more than half is left at t=10, but not enough to
  // outlive the client's next refresh window (60 s + 6 s grace) after t=34.
  Binding& b = active(seconds(100));
  EXPECT_TRUE(BindingTable::upstream_fresh(b, at(10), window(seconds(60))));
  EXPECT_FALSE(BindingTable::upstream_fresh(b, at(35), window(seconds(60))));
}

TEST_F(BindingTableTest, ClientExpiryIsGrantPlusGrace) {
  active();
  EXPECT_TRUE(table_.expired(at(65)).empty());
  EXPECT_EQ(table_.expired(at(66)), std::vector<std::string>{"alice@example.com"});
}

TEST_F(BindingTableTest, RefreshMovesExpiryAndFlowAndRevivesTheContact) {
  Binding& b = active();
  b.route.reachable = false;
  b.ping_misses = 3;
  const transport::Destination moved{"access", transport::Protocol::Udp,
                                     {asio::ip::make_address("203.0.113.7"), 40999}, {}};
  BindingTable::refresh_client(b, "sip:alice@192.168.1.20:5062", moved, seconds(60), at(50));
  EXPECT_TRUE(table_.expired(at(115)).empty());
  EXPECT_EQ(table_.expired(at(116)).size(), 1u);
  EXPECT_EQ(b.route.flow.remote.port, 40999);  // the NAT's new mapping
  EXPECT_TRUE(b.route.reachable);
  EXPECT_EQ(b.ping_misses, 0);
}

TEST_F(BindingTableTest, OnlyActiveBindingsExpireAndIdleHalfDoneRecordsGoStale) {
  Binding& b = active();
  b.state = BindingState::Removing;  // an unregistration is on its way
  EXPECT_TRUE(table_.expired(at(100)).empty());
  b.upstream_txn = 7;
  EXPECT_TRUE(table_.stale(at(100), seconds(32)).empty());  // still waiting for an answer
  b.upstream_txn = 0;
  b.last_activity = at(80);
  EXPECT_TRUE(table_.stale(at(100), seconds(32)).empty());
  EXPECT_EQ(table_.stale(at(112), seconds(32)).size(), 1u);
}

TEST_F(BindingTableTest, UnregisterRemovesTheBinding) {
  active();
  ASSERT_NE(table_.find("alice@example.com"), nullptr);
  table_.erase("alice@example.com");
  EXPECT_EQ(table_.find("alice@example.com"), nullptr);
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_TRUE(table_.expired(at(1000)).empty());
}

TEST(BindingDirectory, FindsByRealmAndUserAndForgetsRemovals) {
  BindingDirectory dir;
  ContactRoute r{"alice@example.com",       "alice", "example.com", "access",
                 "sip:alice@10.0.0.5:5062", kNat,    true};
  dir.apply({r.aor, r.user, r.domain, r});
  ASSERT_NE(dir.find("access", "alice", "example.com"), nullptr);
  EXPECT_EQ(dir.find("access", "alice", "example.com")->flow.remote.port, 40123);
  EXPECT_EQ(dir.find("carrier", "alice", "example.com"), nullptr);
  EXPECT_EQ(dir.find("access", "bob", "example.com"), nullptr);
  EXPECT_EQ(dir.from_source(kNat.remote.address), 1u);

  r.reachable = false;  // an update replaces, never duplicates
  dir.apply({r.aor, r.user, r.domain, r});
  EXPECT_EQ(dir.size(), 1u);
  EXPECT_EQ(dir.from_source(kNat.remote.address), 1u);
  EXPECT_FALSE(dir.find("access", "alice", "example.com")->reachable);

  dir.apply({r.aor, r.user, r.domain, std::nullopt});
  EXPECT_EQ(dir.find("access", "alice", "example.com"), nullptr);
  EXPECT_EQ(dir.size(), 0u);
  EXPECT_EQ(dir.from_source(kNat.remote.address), 0u);
}

// Regression: bindings were keyed by user alone, so alice@evil took the calls of alice@corp.
TEST(BindingDirectory, OneUserInTwoDomainsIsTwoUsers) {
  BindingDirectory dir;
  ContactRoute corp{
      "alice@corp.example", "alice", "corp.example", "access", "sip:alice@10.0.0.5", kNat, true};
  ContactRoute evil{
      "alice@evil.example", "alice", "evil.example", "access", "sip:alice@10.6.6.6", kNat, true};
  dir.apply({corp.aor, corp.user, corp.domain, corp});
  dir.apply({evil.aor, evil.user, evil.domain, evil});  // the later registration
  EXPECT_EQ(dir.find("access", "alice", "corp.example")->aor, "alice@corp.example");
  EXPECT_EQ(dir.find("access", "alice", "evil.example")->aor, "alice@evil.example");
  dir.apply({corp.aor, corp.user, corp.domain, std::nullopt});
  EXPECT_EQ(dir.find("access", "alice", "corp.example"), nullptr);
}

// Portico's own domain named by two of its addresses: one user, the latest binding.
TEST(BindingDirectory, TwoAorsOfOneDomainFindTheLatest) {
  BindingDirectory dir;
  ContactRoute a{"alice@192.0.2.1", "alice", "access", "access", "sip:alice@10.0.0.5", kNat, true};
  ContactRoute b{"alice@192.0.2.2", "alice", "access", "access", "sip:alice@10.0.0.6", kNat, true};
  dir.apply({a.aor, a.user, a.domain, a});
  dir.apply({b.aor, b.user, b.domain, b});
  EXPECT_EQ(dir.find("access", "alice", "access")->aor, "alice@192.0.2.2");
  dir.apply({b.aor, b.user, b.domain, std::nullopt});
  EXPECT_EQ(dir.find("access", "alice", "access")->aor, "alice@192.0.2.1");
}

}  // namespace
}  // namespace portico::registrar
