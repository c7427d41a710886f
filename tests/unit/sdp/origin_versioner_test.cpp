// OriginVersioner: Portico's own o= per leg (RFC 4566 §5.2, RFC 3264 §8).

#include <gtest/gtest.h>

#include "portico/sdp/rewrite.hpp"
#include "sdp_fixtures.hpp"

namespace portico::sdp::test {
namespace {

Session carrier_side_offer() {
  Session s = parse_fixture("pbx_g711.sdp");
  EXPECT_TRUE(set_connection(s, "203.0.113.1"));
  set_media_port(s.media[0], 20000, 20001);
  return s;
}

TEST(OriginVersioner, ReplacesThePeersOrigin) {
  OriginVersioner v(555, 1);
  Session s = carrier_side_offer();
  v.apply(s);
  EXPECT_EQ(s.origin, (Origin{"portico", 555, 1, "IN", "IP4", "203.0.113.1"}));
  std::string out = serialize(s);
  EXPECT_EQ(out.find("asterisk"), std::string::npos);
  EXPECT_NE(out.find("o=portico 555 1 IN IP4 203.0.113.1\r\n"), std::string::npos);
}

TEST(OriginVersioner, UnchangedReOfferKeepsTheVersion) {
  OriginVersioner v(555, 1);
  Session first = carrier_side_offer();
  v.apply(first);
  // The peer's re-offer carries a new o= version of its own; what Portico emits is the same.
  Session again = carrier_side_offer();
  again.origin.session_version = 99;
  v.apply(again);
  EXPECT_EQ(again.origin.session_version, 1U);
  EXPECT_EQ(serialize(again), serialize(first));
  EXPECT_EQ(v.version(), 1U);
}

TEST(OriginVersioner, PortChangeIncrementsByOne) {
  OriginVersioner v(555, 7);
  Session s = carrier_side_offer();
  v.apply(s);
  Session moved = carrier_side_offer();
  set_media_port(moved.media[0], 20002, 20003);
  v.apply(moved);
  EXPECT_EQ(moved.origin.session_version, 8U);
  Session same = moved;
  v.apply(same);
  EXPECT_EQ(same.origin.session_version, 8U);
  Session held = moved;
  set_direction(held.media[0], Direction::SendOnly);
  v.apply(held);
  EXPECT_EQ(held.origin.session_version, 9U);
  EXPECT_EQ(v.session_id(), 555U);
}

TEST(OriginVersioner, CustomUsername) {
  OriginVersioner v(1, 2, "sbc");
  Session s = carrier_side_offer();
  v.apply(s);
  EXPECT_EQ(s.origin.username, "sbc");
}

}  // namespace
}  // namespace portico::sdp::test
