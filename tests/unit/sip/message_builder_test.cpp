// MessageBuilder, build_response(), via_with_received() (RFC 3581 examples), reason_phrase()
// and response_destination() (RFC 3261 §18.2.2 + RFC 3581 §4). Outputs are compared byte for
// byte.

#include <gtest/gtest.h>

#include "portico/sip/message_builder.hpp"
#include "portico/sip/transaction_layer.hpp"

namespace portico::sip {
namespace {

TEST(MessageBuilderTest, RequestExactBytes) {
  auto b = MessageBuilder::request("OPTIONS", "sip:carol@chicago.example.com");
  b.header("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx").header("Max-Forwards", "70");
  EXPECT_EQ(b.build(),
            "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(MessageBuilderTest, ResponseWithBodyAndStandardPhrase) {
  auto b = MessageBuilder::response(486, "");
  b.header("Call-ID", "c").body("application/sdp", "v=0\r\n");
  EXPECT_EQ(b.build(),
            "SIP/2.0 486 Busy Here\r\n"
            "Call-ID: c\r\n"
            "Content-Type: application/sdp\r\n"
            "Content-Length: 5\r\n"
            "\r\n"
            "v=0\r\n");
  EXPECT_EQ(MessageBuilder::response(400, "Missing Call-ID header").build(),
            "SIP/2.0 400 Missing Call-ID header\r\nContent-Length: 0\r\n\r\n");
}

TEST(MessageBuilderTest, CrLfInjectionIsDropped) {
  auto b = MessageBuilder::request("BYE", "sip:x@y\r\nEvil: 1");
  b.header("Subject", "hi\r\nInjected: yes");
  EXPECT_EQ(b.build(),
            "BYE sip:x@yEvil: 1 SIP/2.0\r\nSubject: hiInjected: yes\r\nContent-Length: 0\r\n\r\n");
}

TEST(ReasonPhraseTest, Table) {
  const std::pair<int, std::string_view> cases[] = {
      {100, "Trying"}, {180, "Ringing"}, {181, "Call Is Being Forwarded"}, {182, "Queued"},
      {183, "Session Progress"}, {199, "Early Dialog Terminated"}, {200, "OK"},
      {202, "Accepted"}, {204, "No Notification"}, {300, "Multiple Choices"},
      {302, "Moved Temporarily"}, {380, "Alternative Service"}, {400, "Bad Request"},
      {401, "Unauthorized"}, {404, "Not Found"}, {407, "Proxy Authentication Required"},
      {408, "Request Timeout"}, {412, "Conditional Request Failed"},
      {416, "Unsupported URI Scheme"}, {417, "Unknown Resource-Priority"},
      {420, "Bad Extension"}, {422, "Session Interval Too Small"},
      {428, "Use Identity Header"}, {429, "Provide Referrer Identity"}, {430, "Flow Failed"},
      {433, "Anonymity Disallowed"}, {439, "First Hop Lacks Outbound Support"},
      {440, "Max-Breadth Exceeded"}, {469, "Bad Info Package"}, {470, "Consent Needed"},
      {481, "Call/Transaction Does Not Exist"}, {483, "Too Many Hops"},
      {486, "Busy Here"}, {487, "Request Terminated"}, {488, "Not Acceptable Here"},
      {494, "Security Agreement Required"}, {500, "Server Internal Error"},
      {503, "Service Unavailable"}, {504, "Server Time-out"}, {505, "Version Not Supported"},
      {513, "Message Too Large"}, {580, "Precondition Failure"}, {600, "Busy Everywhere"},
      {603, "Decline"}, {604, "Does Not Exist Anywhere"}, {606, "Not Acceptable"},
      {607, "Unwanted"}, {608, "Rejected"}, {299, "Unknown"}, {0, "Unknown"}};
  for (const auto& [code, text] : cases) {
    EXPECT_EQ(reason_phrase(code), text) << code;
  }
}

const std::string kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff\r\n"
    "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp2\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "Call-ID: br-1\r\n"
    "CSeq: 42 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

Message parse_or_die(const std::string& s) {
  auto r = Message::parse(s);
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

TEST(BuildResponseTest, CopiesViasFromToCallIdCSeqThenParts) {
  Message req = parse_or_die(kInvite);
  ResponseParts parts;
  parts.status = 200;
  parts.to_tag = "b2";
  parts.extra_headers = "Contact: <sip:sbc@192.0.2.10>\r\nServer: Portico\r\n";
  parts.content_type = "application/sdp";
  parts.body = "v=0\r\n";
  EXPECT_EQ(build_response(req, "SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;"
                                "branch=z9hG4bKkjshdyff",
                           parts),
            "SIP/2.0 200 OK\r\n"
            "Via: SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKkjshdyff\r\n"
            "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp2\r\n"
            "From: <sip:alice@example.com>;tag=a1\r\n"
            "To: Bob <sip:bob@example.com>;tag=b2\r\n"
            "Call-ID: br-1\r\n"
            "CSeq: 42 INVITE\r\n"
            "Contact: <sip:sbc@192.0.2.10>\r\n"
            "Server: Portico\r\n"
            "Content-Type: application/sdp\r\n"
            "Content-Length: 5\r\n"
            "\r\n"
            "v=0\r\n");
}

TEST(BuildResponseTest, ToTagRules) {
  Message req = parse_or_die(kInvite);
  ResponseParts trying;
  trying.status = 100;
  trying.to_tag = "b2";
  std::string r100 = build_response(req, "V", trying);
  EXPECT_NE(r100.find("\r\nTo: Bob <sip:bob@example.com>\r\n"), std::string::npos) << r100;
  EXPECT_EQ(r100.substr(0, 22), "SIP/2.0 100 Trying\r\nVi");

  ResponseParts no_tag;
  no_tag.status = 180;
  EXPECT_NE(build_response(req, "V", no_tag).find("\r\nTo: Bob <sip:bob@example.com>\r\n"),
            std::string::npos);

  // A request whose To already has a tag (in-dialog) keeps it and gets no second one.
  std::string in_dialog = kInvite;
  in_dialog.replace(in_dialog.find("To: Bob <sip:bob@example.com>"), 29,
                    "To: Bob <sip:bob@example.com>;tag=old");
  Message req2 = parse_or_die(in_dialog);
  ResponseParts ok;
  ok.status = 200;
  ok.to_tag = "new";
  ok.reason = "Fine";
  std::string r200 = build_response(req2, "V", ok);
  EXPECT_EQ(r200.substr(0, 20), "SIP/2.0 200 Fine\r\nVi");
  EXPECT_NE(r200.find("\r\nTo: Bob <sip:bob@example.com>;tag=old\r\n"), std::string::npos);
}

Via via_of(const std::string& value) {
  std::string msg = "OPTIONS sip:x@example.com SIP/2.0\r\nVia: " + value +
                    "\r\nTo: <sip:x@example.com>\r\nFrom: <sip:y@example.com>;tag=1\r\n"
                    "Call-ID: v\r\nCSeq: 1 OPTIONS\r\n\r\n";
  return parse_or_die(msg).top_via();
}

TEST(ViaWithReceivedTest, Rfc3581Example) {
  // RFC 3581 §4: request from 10.1.1.1:4540 arrives from 192.0.2.1:9988 through a NAT.
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff"),
                              "192.0.2.1", 9988),
            "SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKkjshdyff");
}

TEST(ViaWithReceivedTest, Cases) {
  // §18.2.1: same host as the source and no rport: unchanged.
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"), "192.0.2.1",
                              5060),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1");
  // Different host (a name): received added at the end.
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1"),
                              "192.0.2.4", 5060),
            "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;received=192.0.2.4");
  // RFC 3581: rport requested from the same address still gets received and the port.
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport"),
                              "192.0.2.1", 40000),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;received=192.0.2.1;rport=40000");
  // A stale received is replaced.
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP h.example.com;received=1.1.1.1;branch=z9hG4bK1"),
                              "192.0.2.9", 5060),
            "SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=192.0.2.9");
  // IPv6: equal addresses in different spellings compare equal; received has no brackets.
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP [2001:db8:0::9]:5060;branch=z9hG4bK1"),
                              "2001:db8::9", 5060),
            "SIP/2.0/UDP [2001:db8:0::9]:5060;branch=z9hG4bK1");
  EXPECT_EQ(via_with_received(via_of("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1"),
                              "2001:db8::1", 5060),
            "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1;received=2001:db8::1");
}

transport::Flow flow_of(transport::Protocol p, const char* ip, std::uint16_t port,
                        std::uint64_t conn = 0) {
  transport::Flow f;
  f.protocol = p;
  f.realm = "access";
  f.local = *transport::parse_endpoint("192.0.2.10", 5060);
  f.remote = *transport::parse_endpoint(ip, port);
  f.connection = transport::ConnectionRef{0, conn};
  return f;
}

TEST(ResponseDestinationTest, UdpSentByPortOrDefault) {
  auto d = response_destination(via_of("SIP/2.0/UDP pc.example.com:5070;branch=z9hG4bK1"),
                                flow_of(transport::Protocol::Udp, "198.51.100.7", 33000));
  EXPECT_EQ(d.realm, "access");
  EXPECT_EQ(d.protocol, transport::Protocol::Udp);
  EXPECT_EQ(d.remote.to_string(), "198.51.100.7:5070");
  EXPECT_FALSE(d.connection.valid());
  auto d2 = response_destination(via_of("SIP/2.0/UDP pc.example.com;branch=z9hG4bK1"),
                                 flow_of(transport::Protocol::Udp, "198.51.100.7", 33000));
  EXPECT_EQ(d2.remote.to_string(), "198.51.100.7:5060");
}

TEST(ResponseDestinationTest, RportGoesToSourcePort) {
  auto d = response_destination(via_of("SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bK1"),
                                flow_of(transport::Protocol::Udp, "192.0.2.1", 9988));
  EXPECT_EQ(d.remote.to_string(), "192.0.2.1:9988");
}

TEST(ResponseDestinationTest, ReceivedAlreadyInTheViaIsNeverADestination) {
  // RFC 5118 via-received-param-*: an earlier hop's `received` must not redirect the answer
  // away from the host that actually sent the request.
  auto d = response_destination(
      via_of("SIP/2.0/UDP h.example.com:5080;received=203.0.113.5;branch=z9hG4bK1"),
      flow_of(transport::Protocol::Udp, "192.0.2.1", 9988));
  EXPECT_EQ(d.remote.to_string(), "192.0.2.1:5080");
}

TEST(ResponseDestinationTest, ReliableReusesConnection) {
  auto d = response_destination(via_of("SIP/2.0/TCP h.example.com;branch=z9hG4bK1"),
                                flow_of(transport::Protocol::Tcp, "192.0.2.1", 40001, 17));
  EXPECT_EQ(d.protocol, transport::Protocol::Tcp);
  EXPECT_EQ(d.connection, (transport::ConnectionRef{0, 17}));
  EXPECT_EQ(d.remote.to_string(), "192.0.2.1:40001");  // the connection's peer
  auto tls = response_destination(via_of("SIP/2.0/TLS h.example.com;branch=z9hG4bK1"),
                                  flow_of(transport::Protocol::Tls, "2001:db8::5", 40002, 18));
  EXPECT_EQ(tls.remote.to_string(), "[2001:db8::5]:40002");
  EXPECT_EQ(tls.connection.id, 18u);
}

}  // namespace
}  // namespace portico::sip
