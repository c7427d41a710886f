// Shard routing: every shard must name the same owner for a message from its raw bytes, or a
// call or a binding would be split between two threads. The dispatcher's line scan and the
// owner's parse must agree on the AOR.

#include "portico/sip/shard_routing.hpp"

#include <gtest/gtest.h>

#include "portico/sip/message.hpp"

namespace portico::sip {
namespace {

std::string register_with_to(const std::string& to_line) {
  return "REGISTER sip:example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKr1;rport\r\n"
         "From: <sip:alice@example.com>;tag=f1\r\n" +
         to_line +
         "\r\n"
         "Call-ID: reg-1@10.0.0.5\r\nCSeq: 1 REGISTER\r\n"
         "Contact: <sip:alice@10.0.0.5:5062>\r\nContent-Length: 0\r\n\r\n";
}

std::string invite_with_call_id(const std::string& call_id) {
  return "INVITE sip:bob@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKi1\r\n"
         "From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
         "Call-ID: " +
         call_id + "\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

TEST(ShardRouting, ShardIsEncodedInGeneratedCallIds) {
  for (std::uint16_t s = 0; s < 20; ++s) {
    EXPECT_EQ(shard_for_call_id(make_call_id(s), 20), s);
  }
  EXPECT_EQ(make_call_id(0x2b).substr(0, 4), "pt2b");
  EXPECT_EQ(shard_for_call_id("anything@host", 1), 0);
  EXPECT_EQ(shard_for_call_id("abc@host", 4), shard_for_call_id("abc@host", 4));
}

TEST(ShardRouting, ForeignCallIdsAreHashedIntoRange) {
  for (std::uint16_t n : {2, 3, 8, 64}) {
    for (const char* id : {"abc@host", "ptzz-not-hex", "pt0", "PT01abcdef"}) {
      EXPECT_LT(shard_for_call_id(id, n), n) << id;
    }
  }
  // Fewer shards than the prefix names: it wraps instead of pointing past the end.
  EXPECT_EQ(shard_for_call_id("pt05abcdef", 4), 1);
}

TEST(ShardRouting, AorFromUrisAndToValues) {
  EXPECT_EQ(aor_of_uri("sip:alice@Example.COM:5060;transport=tcp"), "alice@example.com");
  EXPECT_EQ(aor_of_uri("sip:example.com"), std::nullopt);  // no user
  EXPECT_EQ(aor_of_uri("not a uri"), std::nullopt);
  EXPECT_EQ(aor_of_to_value("\"Alice\" <sip:alice@example.com>"), "alice@example.com");
  EXPECT_EQ(aor_of_to_value(" sip:+15550100@example.com;tag=x"), "+15550100@example.com");
  EXPECT_EQ(aor_of_to_value("<sip:alice@example.com;user=phone>;tag=x"), "alice@example.com");
}

TEST(ShardRouting, RegisterScanFindsTheToHeaderInAnyForm) {
  EXPECT_EQ(register_aor(register_with_to("To: <sip:alice@EXAMPLE.com>")), "alice@example.com");
  EXPECT_EQ(register_aor(register_with_to("t: sip:alice@example.com")), "alice@example.com");
  EXPECT_EQ(register_aor(register_with_to("TO :  \"A\" <sip:alice@example.com>")),
            "alice@example.com");
  EXPECT_EQ(register_aor(register_with_to("To: <sip:example.com>")), std::nullopt);
  EXPECT_EQ(register_aor("INVITE sip:alice@example.com SIP/2.0\r\nTo: <sip:alice@x>\r\n\r\n"),
            std::nullopt);
  EXPECT_EQ(register_aor("SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\nTo: <sip:alice@x>\r\n\r\n"),
            std::nullopt);
}

TEST(ShardRouting, RegisterScanReadsBareLfAndFoldedToLines) {
  // The same scanner as the Call-ID look-up: a REGISTER with bare LF line ends, or a To value
  // folded onto a continuation line (RFC 3261 §7.3.1), reaches the same owner.
  EXPECT_EQ(
      register_aor("REGISTER sip:example.com SIP/2.0\nCall-ID: r1\nTo: <sip:alice@example.com>"
                   "\nCSeq: 1 REGISTER\n\n"),
      "alice@example.com");
  EXPECT_EQ(register_aor("REGISTER sip:example.com SIP/2.0\r\nTo: \"Alice\"\r\n"
                         " <sip:alice@example.com>\r\nCSeq: 1 REGISTER\r\n\r\n"),
            "alice@example.com");
}

TEST(ShardRouting, ScanAndParseAgreeOnTheAorOwner) {
  init_parser();
  for (const char* to : {"To: <sip:alice@EXAMPLE.com>", "t: sip:bob@example.com;tag=1",
                         "To: \"Carol\" <sip:+15550100@192.0.2.10:5060;user=phone>"}) {
    const std::string text = register_with_to(to);
    auto msg = Message::parse(text);
    ASSERT_TRUE(msg.ok()) << to;
    const auto parsed = aor_of_uri(msg->to().uri);
    ASSERT_TRUE(parsed.has_value()) << to;
    EXPECT_EQ(register_aor(text), parsed) << to;
    EXPECT_EQ(shard_for_aor(*parsed, 8), shard_for_aor(*register_aor(text), 8));
  }
}

TEST(ShardRouting, AorOwnerIsStableAndInRange) {
  EXPECT_EQ(shard_for_aor("alice@example.com", 1), 0);
  for (std::uint16_t n : {2, 3, 8, 64}) {
    EXPECT_LT(shard_for_aor("alice@example.com", n), n);
    EXPECT_EQ(shard_for_aor("alice@example.com", n), shard_for_aor("alice@example.com", n));
  }
}

TEST(ShardRouting, OwnerOfAMessage) {
  constexpr std::uint16_t kShards = 8;
  // Portico's own Call-ID names its shard, wherever the message arrived.
  const std::string own = invite_with_call_id(make_call_id(5));
  EXPECT_EQ(owner_shard(own, "carrier", "access", 2, kShards), 5);
  // A foreign Call-ID is hashed.
  const std::string foreign = invite_with_call_id("a84b4c76e66710@pc33.example.com");
  EXPECT_EQ(owner_shard(foreign, "access", "access", 2, kShards),
            shard_for_call_id("a84b4c76e66710@pc33.example.com", kShards));
  // No Call-ID at all: the receiving shard keeps it (it is rejected there).
  EXPECT_EQ(
      owner_shard("INVITE sip:bob@example.com SIP/2.0\r\n\r\n", "access", "access", 3, kShards), 3);
}

TEST(ShardRouting, RegisterOnTheRegistrationRealmGoesToItsAorOwner) {
  constexpr std::uint16_t kShards = 8;
  const std::string reg = register_with_to("To: <sip:alice@example.com>");
  const std::uint16_t by_aor = shard_for_aor("alice@example.com", kShards);
  const std::uint16_t by_call_id = shard_for_call_id("reg-1@10.0.0.5", kShards);
  EXPECT_EQ(owner_shard(reg, "access", "access", 0, kShards), by_aor);
  // Elsewhere (or with no registration section) a REGISTER is just a request: by Call-ID.
  EXPECT_EQ(owner_shard(reg, "carrier", "access", 0, kShards), by_call_id);
  EXPECT_EQ(owner_shard(reg, "access", "", 0, kShards), by_call_id);
  // A To without a user names no binding: by Call-ID too.
  EXPECT_EQ(owner_shard(register_with_to("To: <sip:example.com>"), "access", "access", 0, kShards),
            by_call_id);
}

}  // namespace
}  // namespace portico::sip
