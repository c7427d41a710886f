// CallRecord JSON lines: exact text, because operators' scripts parse these files.

#include "portico/cdr/record.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace portico::cdr {
namespace {

using namespace std::chrono_literals;

CallRecord::TimePoint at_2026_11_24(std::chrono::milliseconds since_midnight) {
  const std::chrono::sys_days day{std::chrono::year{2026} / 11 / 24};
  return CallRecord::TimePoint{day.time_since_epoch() + since_midnight};
}

CallRecord answered_record() {
  CallRecord r;
  r.call = "c0ffee12";
  r.a_call_id = "a-1@198.51.100.7";
  r.b_call_id = "b-1@203.0.113.9";
  r.realm_in = "public";
  r.source_peer = "carrier-a";
  r.route = "pstn-out";
  r.target = "trunk-2";
  r.realm_out = "core";
  r.caller = "alice";
  r.callee = "+15551234567";
  r.attempts = 2;
  r.start = at_2026_11_24(22h + 123ms);
  r.answer = r.start + 2500ms;
  r.end = *r.answer + 61377ms;
  r.final_status = 200;
  r.end_reason = "a_bye";
  r.disconnect = "caller";
  r.media_anchored = true;
  r.codec = "PCMA";
  r.packets_a_to_b = 3068;
  r.packets_b_to_a = 3071;
  r.lost_a_to_b = 12;
  r.jitter_ms_a_to_b = 4.25;
  r.trace = "/var/lib/portico/traces/20261124-220000_c0ffee12.pcap";
  r.b_tls_version = "TLSv1.3";  // the carrier leg was SIP over TLS
  r.b_tls_cipher = "TLS_AES_256_GCM_SHA384";
  return r;
}

TEST(CallRecordTest, AnsweredRecordExactLine) {
  EXPECT_EQ(to_json_line(answered_record()),
            R"({"call":"c0ffee12","a_call_id":"a-1@198.51.100.7","b_call_id":"b-1@203.0.113.9",)"
            R"("realm_in":"public","source_peer":"carrier-a","route":"pstn-out",)"
            R"("target":"trunk-2","realm_out":"core","caller":"alice","callee":"+15551234567",)"
            R"("attempts":2,"start":"2026-11-24T22:00:00.123Z",)"
            R"("answer":"2026-11-24T22:00:02.623Z","end":"2026-11-24T22:01:04.000Z",)"
            R"("duration_ms":61377,"setup_ms":2500,"final_status":200,"end_reason":"a_bye",)"
            R"("disconnect":"caller","media_anchored":true,"codec":"PCMA",)"
            R"("packets_a_to_b":3068,"packets_b_to_a":3071,"lost_a_to_b":12,"lost_b_to_a":null,)"
            R"("jitter_ms_a_to_b":4.2,"jitter_ms_b_to_a":null,)"
            R"("trace":"/var/lib/portico/traces/20261124-220000_c0ffee12.pcap",)"
            R"("a_tls_version":"","a_tls_cipher":"","b_tls_version":"TLSv1.3",)"
            R"("b_tls_cipher":"TLS_AES_256_GCM_SHA384"})"
            "\n");
}

TEST(CallRecordTest, UnansweredRecordHasNullAnswerAndSetupToEnd) {
  CallRecord r = answered_record();
  r.b_call_id.clear();
  r.answer.reset();
  r.end = r.start + 30007ms;
  r.final_status = 486;
  r.end_reason = "status_486";
  r.disconnect = "callee";
  r.media_anchored = false;
  r.codec.clear();
  r.packets_a_to_b = r.packets_b_to_a = 0;
  r.lost_a_to_b.reset();
  r.jitter_ms_a_to_b.reset();
  r.trace.clear();
  r.b_tls_version.clear();
  r.b_tls_cipher.clear();
  EXPECT_EQ(
      to_json_line(r),
      R"({"call":"c0ffee12","a_call_id":"a-1@198.51.100.7","b_call_id":"",)"
      R"("realm_in":"public","source_peer":"carrier-a","route":"pstn-out",)"
      R"("target":"trunk-2","realm_out":"core","caller":"alice","callee":"+15551234567",)"
      R"("attempts":2,"start":"2026-11-24T22:00:00.123Z","answer":null,)"
      R"("end":"2026-11-24T22:00:30.130Z","duration_ms":0,"setup_ms":30007,)"
      R"("final_status":486,"end_reason":"status_486","disconnect":"callee",)"
      R"("media_anchored":false,"codec":"","packets_a_to_b":0,"packets_b_to_a":0,)"
      R"("lost_a_to_b":null,"lost_b_to_a":null,"jitter_ms_a_to_b":null,"jitter_ms_b_to_a":null,)"
      R"("trace":"","a_tls_version":"","a_tls_cipher":"","b_tls_version":"",)"
      R"("b_tls_cipher":""})"
      "\n");
}

TEST(CallRecordTest, DurationsAreNeverNegative) {
  CallRecord r = answered_record();
  r.end = *r.answer - 5s;  // wall clock stepped back during the call
  EXPECT_EQ(r.duration(), 0ms);
  r.answer = r.start - 1s;
  EXPECT_EQ(r.setup_time(), 0ms);
}

TEST(CallRecordTest, FormatsUtcWithMillisecondsBeforeEpoch) {
  EXPECT_EQ(format_utc_ms(CallRecord::TimePoint{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc_ms(CallRecord::TimePoint{} - 1ms), "1969-12-31T23:59:59.999Z");
  // Sub-millisecond precision is truncated, not rounded up into the next millisecond.
  EXPECT_EQ(format_utc_ms(at_2026_11_24(999ms) + std::chrono::microseconds(999)),
            "2026-11-24T00:00:00.999Z");
}

std::string json(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonStringTest, EscapesQuotesBackslashAndControlCharacters) {
  EXPECT_EQ(json("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json("line1\nline2\r\tx"), R"("line1\nline2\r\tx")");
  EXPECT_EQ(json(std::string_view("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(json("\x7f"), "\"\x7f\"");  // DEL is legal unescaped in JSON
}

TEST(JsonStringTest, PassesValidUtf8Through) {
  const std::string text = "J\xc3\xbcrgen \xe2\x98\x8e \xf0\x9d\x84\x9e";  // Jürgen ☎ 𝄞
  EXPECT_EQ(json(text), "\"" + text + "\"");
}

TEST(JsonStringTest, ReplacesInvalidUtf8) {
  EXPECT_EQ(json("a\xff!"), R"("a\ufffd!")");
  EXPECT_EQ(json("\xc3"), R"("\ufffd")");                                // truncated sequence
  EXPECT_EQ(json("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong '/'
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // UTF-16 surrogate
  EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
}

TEST(JsonStringTest, EscapesInsideAFullLine) {
  CallRecord r = answered_record();
  r.caller = "\"Bob\" <sip:bob@x>\n";
  const std::string line = to_json_line(r);
  EXPECT_NE(line.find(R"("caller":"\"Bob\" <sip:bob@x>\n",)"), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // still exactly one line
}

}  // namespace
}  // namespace portico::cdr
