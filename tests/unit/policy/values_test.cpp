// Value types: CIDR blocks and durations.

#include <gtest/gtest.h>

#include "portico/policy/model.hpp"

namespace portico::policy {
namespace {

asio::ip::address ip(const char* s) { return asio::ip::make_address(s); }

Cidr cidr(const char* s) {
  auto c = parse_cidr(s);
  EXPECT_TRUE(c.ok()) << s << ": " << (c.ok() ? "" : c.error().detail);
  return c.ok() ? *c : Cidr{};
}

struct ContainsCase {
  const char* cidr;
  const char* address;
  bool contained;
};

TEST(Cidr, Contains) {
  const ContainsCase cases[] = {
      {"10.0.0.0/8", "10.255.1.2", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"192.0.2.7/32", "192.0.2.7", true},
      {"192.0.2.7/32", "192.0.2.8", false},
      {"192.0.2.7", "192.0.2.7", true},           // bare address = /32
      {"0.0.0.0/0", "203.0.113.9", true},         // everything IPv4...
      {"0.0.0.0/0", "2001:db8::1", false},        // ...but not IPv6
      {"192.168.4.0/22", "192.168.7.255", true},  // prefix not on a byte boundary
      {"192.168.4.0/22", "192.168.8.0", false},
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},  // v4-mapped, as a dual-stack socket reports it
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"2001:db8::/32", "10.0.0.1", false},
      {"::/0", "2001:db8::1", true},
      {"::/0", "10.0.0.1", false},
      {"::1/128", "::1", true},
      {"::1", "::2", false},  // bare address = /128
      {"fe80::/10", "febf::1", true},
      {"fe80::/10", "fec0::1", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(cidr(c.cidr).contains(ip(c.address)), c.contained) << c.cidr << " " << c.address;
  }
}

TEST(Cidr, PrintsNormalForm) {
  EXPECT_EQ(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(cidr("192.0.2.1").to_string(), "192.0.2.1/32");
  EXPECT_EQ(cidr("2001:0db8:0000::/32").to_string(), "2001:db8::/32");
}

TEST(Cidr, RejectsBadInput) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.0.0.0/33", "\"10.0.0.0/33\": the prefix length must be 0..32"},
      {"::/129", "\"::/129\": the prefix length must be 0..128"},
      {"10.0.0.0/", "\"10.0.0.0/\": the prefix length must be 0..32"},
      {"10.0.0.0/x", "\"10.0.0.0/x\": the prefix length must be 0..32"},
      {"10.0.0/8", "\"10.0.0/8\" is not an address or CIDR block"},
      {"host.example/8", "\"host.example/8\" is not an address or CIDR block"},
      {"10.0.0.1/8", "\"10.0.0.1/8\" has host bits set (did you mean \"10.0.0.0/8\"?)"},
      {"2001:db8::1/32", "\"2001:db8::1/32\" has host bits set (did you mean \"2001:db8::/32\"?)"},
  };
  for (const auto& [text, message] : cases) {
    const auto r = parse_cidr(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().detail, message);
  }
}

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(*parse_duration("500ms"), Millis{500});
  EXPECT_EQ(*parse_duration("4s"), Millis{4000});
  EXPECT_EQ(*parse_duration("2m"), Millis{120000});
  EXPECT_EQ(*parse_duration("4h"), Millis{4 * 3600 * 1000});
  EXPECT_EQ(*parse_duration("7d"), Millis{7LL * 24 * 3600 * 1000});
  EXPECT_EQ(*parse_duration("0s"), Millis{0});
}

TEST(Duration, RejectsMissingOrUnknownUnits) {
  EXPECT_EQ(parse_duration("500").error().detail,
            "\"500\" has no unit (write e.g. \"500ms\" or \"500s\"; units: ms, s, m, h, d)");
  const char* const bad[] = {"", "ms", "1.5s", "-1s", "4 s", "4sec", "4w", "s4", "1000000001s"};
  for (const char* text : bad) {
    EXPECT_FALSE(parse_duration(text).ok()) << text;
  }
  EXPECT_EQ(parse_duration("1000000001s").error().detail, "\"1000000001s\" is too long");
}

}  // namespace
}  // namespace portico::policy
