// The framer is private to the transport module; its header sits beside its source.
#include "../../../src/transport/stream_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::transport {
namespace {

using S = StreamFramer::Status;

const std::string kHead =
    "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1\r\n";

std::string msg(const std::string& length_line, const std::string& body) {
  return kHead + length_line + "\r\n\r\n" + body;
}

// Feeds `input` in chunks of `chunk` bytes and collects every event but NeedMore.
std::vector<StreamFramer::Result> feed(const std::string& input, std::size_t chunk,
                                       std::size_t max = 65535) {
  StreamFramer f(max);
  std::vector<StreamFramer::Result> out;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    f.append(std::string_view(input).substr(i, chunk));
    for (int guard = 0; guard < 10000; ++guard) {
      auto r = f.next();
      if (r.status == S::NeedMore) {
        break;
      }
      out.push_back(r);
      if (r.status != S::Message && r.status != S::Ping && r.status != S::Crlf) {
        return out;  // fatal
      }
    }
  }
  return out;
}

TEST(StreamFramer, FramesByContentLengthWhateverTheChunking) {
  std::string a = msg("Content-Length: 5", "hello");
  std::string b = msg("l:0", "");
  std::string c = msg("content-length :  3 ", "xyz");
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 100000u}) {
    auto out = feed(a + b + c, chunk);
    ASSERT_EQ(out.size(), 3u) << chunk;
    EXPECT_EQ(out[0].message, a);
    EXPECT_EQ(out[1].message, b);
    EXPECT_EQ(out[2].message, c);
  }
}

TEST(StreamFramer, BodyContainingBlankLinesIsNotSplit) {
  std::string body = "v=0\r\n\r\n\r\nINVITE x SIP/2.0\r\n\r\n";
  std::string m = msg("Content-Length: " + std::to_string(body.size()), body);
  auto out = feed(m + m, 1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message, m);
  EXPECT_EQ(out[1].message, m);
}

TEST(StreamFramer, PingsAndCrlfsBetweenMessages) {
  std::string m = msg("Content-Length: 0", "");
  for (std::size_t chunk : {1u, 3u, 1000u}) {
    auto out = feed("\r\n\r\n" + m + "\r\n" + m + "\r\n\r\n", chunk);
    std::vector<S> kinds;
    for (auto& r : out) {
      kinds.push_back(r.status);
    }
    EXPECT_EQ(kinds, (std::vector<S>{S::Ping, S::Message, S::Crlf, S::Message, S::Ping})) << chunk;
  }
}

TEST(StreamFramer, LoneCrlfWaitsForAPossiblePing) {
  StreamFramer f(1000);
  f.append("\r\n");
  EXPECT_EQ(f.next().status, S::NeedMore);
  f.append("\r");
  EXPECT_EQ(f.next().status, S::NeedMore);
  f.append("\n");
  EXPECT_EQ(f.next().status, S::Ping);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, MissingOrBadContentLengthIsFatal) {
  struct Row {
    std::string header;
    S expected;
  };
  for (const Row& r : {Row{"Max-Forwards: 70", S::MissingContentLength},
                       Row{"Content-Length: abc", S::BadContentLength},
                       Row{"Content-Length: -1", S::BadContentLength},
                       Row{"Content-Length:", S::BadContentLength},
                       Row{"Content-Length: 1 2", S::BadContentLength},
                       Row{"Content-Length: 0\r\nl: 4", S::BadContentLength},
                       Row{"X-Content-Length: 4", S::MissingContentLength},
                       Row{"Subject: a\r\n Content-Length: 4", S::MissingContentLength}}) {
    auto out = feed(msg(r.header, ""), 1000);
    ASSERT_EQ(out.size(), 1u) << r.header;
    EXPECT_EQ(out[0].status, r.expected) << r.header;
  }
}

TEST(StreamFramer, DuplicateEqualContentLengthIsAccepted) {
  auto out = feed(msg("Content-Length: 2\r\nl: 2", "ok"), 1000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, S::Message);
}

TEST(StreamFramer, OversizeHeadersOrBodyIsFatal) {
  std::string m = msg("Content-Length: 10", "0123456789");
  // Exactly at the limit passes; one byte less fails.
  auto ok = feed(m, 5, m.size());
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].status, S::Message);
  auto big = feed(m, 5, m.size() - 1);
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].status, S::Oversize);
  // Announced length too large: rejected as soon as the headers are complete.
  auto announced = feed(msg("Content-Length: 999999999", ""), 1000, 2000);
  ASSERT_EQ(announced.size(), 1u);
  EXPECT_EQ(announced[0].status, S::Oversize);
  // Endless header section: rejected once it exceeds the limit.
  auto endless = feed(std::string(3000, 'a'), 100, 2000);
  ASSERT_EQ(endless.size(), 1u);
  EXPECT_EQ(endless[0].status, S::Oversize);
}

TEST(StreamFramer, FindContentLength) {
  std::size_t len = 0;
  bool present = false;
  EXPECT_TRUE(find_content_length("A x\r\nL: 12\r\n\r\n", len, present));
  EXPECT_EQ(len, 12u);
  EXPECT_FALSE(find_content_length("A x\r\nLength: 12\r\n\r\n", len, present));
  EXPECT_FALSE(present);
  EXPECT_FALSE(find_content_length("A x\r\nContent-Length: 1x\r\n\r\n", len, present));
  EXPECT_TRUE(present);
}

}  // namespace
}  // namespace portico::transport
