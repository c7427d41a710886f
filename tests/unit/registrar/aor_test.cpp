// Addresses-of-record: the dispatcher's line scan and the owner's parse must name the same AOR,
// or a REGISTER would land on a shard that does not own its binding.

#include "portico/registrar/aor.hpp"

#include <gtest/gtest.h>

#include "portico/sip/message.hpp"

namespace portico::registrar {
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

TEST(Aor, FromUrisAndToValues) {
  EXPECT_EQ(aor_of_uri("sip:alice@Example.COM:5060;transport=tcp"), "alice@example.com");
  EXPECT_EQ(aor_of_uri("sip:example.com"), std::nullopt);  // no user
  EXPECT_EQ(aor_of_uri("not a uri"), std::nullopt);
  EXPECT_EQ(aor_of_to_value("\"Alice\" <sip:alice@example.com>"), "alice@example.com");
  EXPECT_EQ(aor_of_to_value(" sip:+15550100@example.com;tag=x"), "+15550100@example.com");
  EXPECT_EQ(aor_of_to_value("<sip:alice@example.com;user=phone>;tag=x"), "alice@example.com");
}

TEST(Aor, RegisterScanFindsTheToHeaderInAnyForm) {
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

TEST(Aor, ScanAndParseAgreeOnTheOwner) {
  sip::init_parser();
  for (const char* to : {"To: <sip:alice@EXAMPLE.com>", "t: sip:bob@example.com;tag=1",
                         "To: \"Carol\" <sip:+15550100@192.0.2.10:5060;user=phone>"}) {
    const std::string text = register_with_to(to);
    auto msg = sip::Message::parse(text);
    ASSERT_TRUE(msg.ok()) << to;
    const auto parsed = aor_of_uri(msg->to().uri);
    ASSERT_TRUE(parsed.has_value()) << to;
    EXPECT_EQ(register_aor(text), parsed) << to;
    EXPECT_EQ(shard_for_aor(*parsed, 8), shard_for_aor(*register_aor(text), 8));
  }
}

TEST(Aor, OwnerIsStableAndInRange) {
  EXPECT_EQ(shard_for_aor("alice@example.com", 1), 0);
  for (std::uint16_t n : {2, 3, 8, 64}) {
    EXPECT_LT(shard_for_aor("alice@example.com", n), n);
    EXPECT_EQ(shard_for_aor("alice@example.com", n), shard_for_aor("alice@example.com", n));
  }
}

}  // namespace
}  // namespace portico::registrar
