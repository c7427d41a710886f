// sip::Message: accessors over real-looking messages (RFC 3261 §24 examples, compact forms,
// IPv6 from RFC 5118), headers() listing, body exactness, find_call_id().

#include <gtest/gtest.h>

#include "portico/sip/message.hpp"

namespace portico::sip {
namespace {

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport\r\n"
    "Via: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKold;received=192.0.2.4\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice A\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=tcp>\r\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "Record-Route: <sip:rr.example.com;lr>\r\n"
    "Supported: 100rel, timer\r\n"
    "P-Asserted-Identity: <sip:alice@atlanta.example.com>\r\n"
    "X-Custom: one\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    "v=0\r\no=x\r\n";

TEST(MessageTest, InviteAccessors) {
  auto r = Message::parse(kInvite);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const Message& m = *r;
  EXPECT_FALSE(m.validate().has_value());
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), "INVITE");
  EXPECT_EQ(m.request_uri(), "sip:bob@biloxi.example.com");
  EXPECT_EQ(m.status(), 0);
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.cseq(), 314159u);
  EXPECT_EQ(m.cseq_method(), "INVITE");
  EXPECT_EQ(m.from().display, "Alice A");
  EXPECT_EQ(m.from().uri, "sip:alice@atlanta.example.com");
  EXPECT_EQ(m.from().tag, "1928301774");
  EXPECT_EQ(m.from().raw, "\"Alice A\" <sip:alice@atlanta.example.com>;tag=1928301774");
  EXPECT_EQ(m.to().display, "Bob");
  EXPECT_EQ(m.to().tag, "");
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_EQ(m.content_type(), "application/sdp");
  EXPECT_EQ(m.body(), "v=0\r\no=x\r\n");
  auto ruri = m.request_uri_parts();
  ASSERT_TRUE(ruri.ok());
  EXPECT_EQ(ruri->scheme, "sip");
  EXPECT_EQ(ruri->user, "bob");
  EXPECT_EQ(ruri->host, "biloxi.example.com");
  EXPECT_FALSE(ruri->port.has_value());
}

TEST(MessageTest, ViasTopFirstWithIpv6) {
  auto r = Message::parse(kInvite);
  ASSERT_TRUE(r.ok());
  const auto& vias = r->vias();
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_EQ(vias[0].protocol, "UDP");
  EXPECT_EQ(vias[0].host, "pc33.atlanta.example.com");
  EXPECT_EQ(vias[0].port, 5066);
  EXPECT_EQ(vias[0].branch, "z9hG4bK776asdhds");
  EXPECT_TRUE(vias[0].has_rport);
  EXPECT_FALSE(vias[0].rport.has_value());
  EXPECT_FALSE(vias[0].received.has_value());
  EXPECT_EQ(vias[0].raw, "SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport");
  EXPECT_EQ(vias[1].protocol, "TCP");
  EXPECT_EQ(vias[1].host, "2001:db8::9");
  EXPECT_EQ(vias[1].port, 5070);
  EXPECT_EQ(vias[1].received, "192.0.2.4");
  EXPECT_FALSE(vias[1].has_rport);
  EXPECT_EQ(&r->top_via(), &vias[0]);
}

TEST(MessageTest, RoutesContactsRecordRoutes) {
  auto r = Message::parse(kInvite);
  ASSERT_TRUE(r.ok());
  auto routes = r->routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].uri, "sip:p1.example.com;lr");
  EXPECT_EQ(routes[1].raw, "<sip:p2.example.com;lr>");
  auto rr = r->record_routes();
  ASSERT_EQ(rr.size(), 1u);
  EXPECT_EQ(rr[0].raw, "<sip:rr.example.com;lr>");
  auto contacts = r->contacts();
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(contacts[0].uri, "sip:alice@pc33.atlanta.example.com;transport=tcp");
}

TEST(MessageTest, HeadersListingCanonicalAndWithoutContentLength) {
  auto r = Message::parse(kInvite);
  ASSERT_TRUE(r.ok());
  using H = std::pair<std::string, std::string>;
  // Wire order of first appearance; the values of one name stay together in their order.
  std::vector<H> expected{
      {"Via", "SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport"},
      {"Via", "SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKold;received=192.0.2.4"},
      {"Max-Forwards", "70"},
      {"To", "Bob <sip:bob@biloxi.example.com>"},
      {"From", "\"Alice A\" <sip:alice@atlanta.example.com>;tag=1928301774"},
      {"Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"},
      {"CSeq", "314159 INVITE"},
      {"Contact", "<sip:alice@pc33.atlanta.example.com;transport=tcp>"},
      {"Route", "<sip:p1.example.com;lr>"},
      {"Route", "<sip:p2.example.com;lr>"},
      {"Record-Route", "<sip:rr.example.com;lr>"},
      {"Supported", "100rel"},
      {"Supported", "timer"},
      {"P-Asserted-Identity", "<sip:alice@atlanta.example.com>"},
      {"X-Custom", "one"},
      {"Content-Type", "application/sdp"},
  };
  EXPECT_EQ(r->headers(), expected);
  EXPECT_EQ(r->header_values("supported"), (std::vector<std::string>{"100rel", "timer"}));
  EXPECT_EQ(r->header("x-custom"), "one");
  EXPECT_EQ(r->header("Content-Length"), std::nullopt);
  EXPECT_EQ(r->header("Nope"), std::nullopt);
  EXPECT_TRUE(r->has_option("Supported", "timer"));
  EXPECT_TRUE(r->has_option("k", "100REL"));
  EXPECT_FALSE(r->has_option("Require", "100rel"));
}

TEST(MessageTest, CompactFormsExpanded) {
  const std::string msg =
      "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
      "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc1\r\n"
      "t: <sip:carol@chicago.example.com>\r\n"
      "f: <sip:alice@atlanta.example.com>;tag=88\r\n"
      "i: compact-1@192.0.2.1\r\n"
      "CSeq: 5 OPTIONS\r\n"
      "m: <sip:alice@192.0.2.1>\r\n"
      "k: path\r\n"
      "s: lunch\r\n"
      "o: presence\r\n"
      "l: 0\r\n"
      "\r\n";
  auto r = Message::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->validate().has_value());
  EXPECT_EQ(r->call_id(), "compact-1@192.0.2.1");
  EXPECT_EQ(r->from().tag, "88");
  EXPECT_EQ(r->top_via().branch, "z9hG4bKc1");
  EXPECT_EQ(r->header_values("i"), (std::vector<std::string>{"compact-1@192.0.2.1"}));
  EXPECT_EQ(r->header_values("Call-ID"), (std::vector<std::string>{"compact-1@192.0.2.1"}));
  EXPECT_EQ(r->header("Supported"), "path");
  EXPECT_EQ(r->header("s"), "lunch");
  EXPECT_EQ(r->header("Event"), "presence");
  std::vector<std::string> names;
  for (const auto& [n, v] : r->headers()) {
    names.push_back(n);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Via", "To", "From", "Call-ID", "CSeq", "Contact",
                                             "Supported", "Subject", "Event"}));
  EXPECT_EQ(r->body(), "");
}

TEST(MessageTest, ResponseAccessors) {
  const std::string msg =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc;received=198.51.100.7;rport=5062\r\n"
      "To: <sip:bob@example.com>;tag=to-1\r\n"
      "From: <sip:alice@example.com>;tag=from-1\r\n"
      "Call-ID: resp-1\r\n"
      "CSeq: 7 INVITE\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  auto r = Message::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->validate().has_value());
  EXPECT_TRUE(r->is_response());
  EXPECT_EQ(r->status(), 200);
  EXPECT_EQ(r->reason_phrase(), "OK");
  EXPECT_EQ(r->method(), "INVITE");
  EXPECT_EQ(r->to().tag, "to-1");
  EXPECT_EQ(r->top_via().rport, 5062);
  EXPECT_EQ(r->top_via().received, "198.51.100.7");
  EXPECT_EQ(r->request_uri(), "");
}

TEST(MessageTest, RegisterWithExpiresAndStarContact) {
  const std::string msg =
      "REGISTER sip:registrar.example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKreg\r\n"
      "To: <sip:alice@example.com>\r\n"
      "From: <sip:alice@example.com>;tag=r1\r\n"
      "Call-ID: reg-1\r\n"
      "CSeq: 2 REGISTER\r\n"
      "Contact: *\r\n"
      "Expires: 0\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  auto r = Message::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->validate().has_value());
  EXPECT_EQ(r->method(), "REGISTER");
  EXPECT_EQ(r->header("Expires"), "0");
  ASSERT_EQ(r->contacts().size(), 1u);
  EXPECT_EQ(r->contacts()[0].raw, "*");
}

TEST(MessageTest, MultipartBodyIsExactBytes) {
  const std::string body =
      "--boundary42\r\n"
      "Content-Type: application/sdp\r\n"
      "\r\n"
      "v=0\r\n"
      "--boundary42\r\n"
      "Content-Type: application/isup\r\n"
      "\r\n"
      "\x01\x00\x02 binary\r\n"
      "--boundary42--\r\n";
  const std::string msg =
      "INVITE sip:bob@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKmp\r\n"
      "To: <sip:bob@example.com>\r\n"
      "From: <sip:alice@example.com>;tag=m1\r\n"
      "Call-ID: mp-1\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Type: multipart/mixed;boundary=boundary42\r\n"
      "Content-Length: " + std::to_string(body.size()) + "\r\n"
      "\r\n" + body;
  auto r = Message::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->validate().has_value());
  EXPECT_EQ(r->body(), body);
  EXPECT_EQ(r->body().size(), body.size());
  EXPECT_EQ(r->raw(), msg);
}

TEST(MessageTest, BareLfLineEndingsAndTrailingOctets) {
  const std::string msg =
      "OPTIONS sip:x@example.com SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKlf\n"
      "To: <sip:x@example.com>\n"
      "From: <sip:y@example.com>;tag=1\n"
      "Call-ID: lf-1\n"
      "CSeq: 1 OPTIONS\n"
      "Content-Length: 4\n"
      "\n"
      "abcdEXTRA";
  auto r = Message::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->validate().has_value());
  EXPECT_EQ(r->call_id(), "lf-1");
  EXPECT_EQ(r->body(), "abcd");  // RFC 3261 §18.3: octets past Content-Length are discarded
}

TEST(MessageTest, CloneIsIndependentCopy) {
  auto r = Message::parse(kInvite);
  ASSERT_TRUE(r.ok());
  Message copy = r->clone();
  Message moved = std::move(*r);
  EXPECT_EQ(copy.raw(), moved.raw());
  EXPECT_EQ(copy.body(), "v=0\r\no=x\r\n");
  EXPECT_EQ(copy.headers(), moved.headers());
}

TEST(MessageTest, UnparseableInputs) {
  for (std::string bad : {std::string(), std::string("\r\n\r\n"), std::string("garbage"),
                          std::string("INVITE\r\n\r\n"), std::string(1, '\0')}) {
    auto r = Message::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().reason, "unparseable");
  }
}

TEST(MessageTest, ParseUri) {
  auto u = parse_uri("sips:alice@[2001:db8::1]:5071;transport=TLS;lr");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "sips");
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, 5071);
  EXPECT_EQ(u->transport, "tls");
  EXPECT_TRUE(u->lr);
  auto t = parse_uri("tel:+15551234;phone-context=example.com");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scheme, "tel");
  EXPECT_EQ(t->user, "+15551234");
  EXPECT_EQ(parse_uri("sip:2001:db8::10").error().reason, "bad_uri");   // RFC 5118 §4.10
  EXPECT_EQ(parse_uri("sip:host:99999").error().reason, "bad_uri");
  EXPECT_EQ(parse_uri("http://x").error().reason, "unsupported_uri_scheme");
  EXPECT_EQ(parse_uri("nocolon").error().reason, "bad_uri");
  auto amb = parse_uri("sip:[2001:db8::10:5070]");  // RFC 5118 §4.4: all of it is the host
  ASSERT_TRUE(amb.ok());
  EXPECT_EQ(amb->host, "2001:db8::10:5070");
  EXPECT_FALSE(amb->port.has_value());
}

TEST(FindCallIdTest, LongAndCompactForms) {
  EXPECT_EQ(find_call_id(kInvite), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(find_call_id("OPTIONS sip:x SIP/2.0\r\nVia: x\r\ni:   abc@h  \r\n\r\n"), "abc@h");
  EXPECT_EQ(find_call_id("OPTIONS sip:x SIP/2.0\r\ncall-id:q\r\n\r\n"), "q");
  EXPECT_EQ(find_call_id("OPTIONS sip:x SIP/2.0\nCALL-ID : lf\n\n"), "lf");
  // Only at line start, only in the header section, not inside other header values.
  EXPECT_EQ(find_call_id("OPTIONS sip:x SIP/2.0\r\nX-Call-ID: no\r\nSubject: i: no\r\n\r\n"
                         "Call-ID: body\r\n"),
            "");
  EXPECT_EQ(find_call_id(""), "");
  EXPECT_EQ(find_call_id("Call-ID: start-line-only"), "");
  EXPECT_EQ(find_call_id("X\r\nCall-ID: unterminated"), "unterminated");
}

}  // namespace
}  // namespace portico::sip
