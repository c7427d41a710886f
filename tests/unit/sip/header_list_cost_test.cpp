// The cost of Message::headers() in the number of header fields a peer sends. The ingress cap
// (ingress.max_headers, checked before the parse) keeps that number small on the wire; this
// checks Portico's own part stays linear with the cap lifted: a 64 KB datagram holds 7,000
// fields, and a step per field per field was quadratic work. libosip2's own list insertion is
// quadratic too (osip_list_add walks to the tail), which is what the cap is for; this test times
// extract_header_list() alone, on a message osip parsed once.
//
// A timing test that cannot flake: it compares two sizes 16x apart, timed in turns, keeps the
// least ratio of a turn and allows 4x the linear ratio, where the quadratic code took ~200x.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "../../../src/sip/message_extract.hpp"

namespace portico::sip {
namespace {

struct Parsed {
  MessageData impl;
  osip::MessagePtr osip;
};

Parsed parse_with_osip(const std::string& text) {
  Parsed p;
  p.impl.raw = text;
  locate_body(p.impl);
  scan_raw_headers(p.impl);
  osip_message_t* m = nullptr;
  EXPECT_EQ(osip_message_init(&m), 0);
  p.osip.reset(m);
  EXPECT_EQ(osip_message_parse(m, text.data(), text.size()), 0);
  extract_message(*m, p.impl);  // the typed fields extract_header_list() starts from
  return p;
}

std::string message_with(std::size_t n) {
  std::string s =
      "OPTIONS sip:a@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n"
      "Call-ID: cost-1\r\nCSeq: 1 OPTIONS\r\n";
  for (std::size_t i = 0; i < n; ++i) {
    // Unknown names (osip's generic list, names restored from the wire) and a typed list.
    s += (i % 2 == 0 ? "X-Pad-" + std::to_string(i % 50) + ": v" : "Accept: a/b") +
         std::to_string(i) + "\r\n";
  }
  return s + "Content-Length: 0\r\n\r\n";
}

double best_ms(Parsed& p, int runs) {
  double best = 1e9;
  for (int r = 0; r < runs; ++r) {
    MessageData copy = p.impl;
    const auto t0 = std::chrono::steady_clock::now();
    extract_header_list(*p.osip, copy);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
    EXPECT_GE(copy.headers.size(), p.impl.raw_headers.size() - 1);
  }
  return best;
}

TEST(HeaderListCost, GrowsLinearlyWithTheNumberOfFields) {
  init_parser();
  Parsed small = parse_with_osip(message_with(500));
  Parsed large = parse_with_osip(message_with(8000));
  // The sizes are timed in turns and the least ratio of a turn kept: a machine busy with other
  // work slows some turns, never the code's growth, so one quiet turn shows the real ratio.
  double ratio = 1e9;
  double t_small = 0;
  double t_large = 0;
  for (int turn = 0; turn < 9 && ratio >= 16.0 * 2; ++turn) {
    t_small = std::max(best_ms(small, 3), 0.01);
    t_large = best_ms(large, 1);
    ratio = std::min(ratio, t_large / t_small);
  }
  std::printf("header list of 500 fields: %.3f ms, of 8000 fields: %.3f ms\n", t_small, t_large);
  EXPECT_LT(ratio, 16.0 * 4) << "500 fields: " << t_small << " ms, 8000 fields: " << t_large
                             << " ms";
}

TEST(HeaderListCost, NamesComeBackAsSpelledOnTheWireInWireOrder) {
  init_parser();
  Parsed p = parse_with_osip(message_with(6));
  extract_header_list(*p.osip, p.impl);
  std::vector<std::string> names;
  for (const auto& [name, value] : p.impl.headers) {
    names.push_back(name);
  }
  const std::vector<std::string> want = {"Via",    "From",    "To",     "Call-ID",
                                         "CSeq",   "X-Pad-0", "Accept", "Accept",
                                         "Accept", "X-Pad-2", "X-Pad-4"};
  EXPECT_EQ(names, want);
}

}  // namespace
}  // namespace portico::sip
