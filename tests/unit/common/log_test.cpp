// The log sink as a reader of the log sees it: one line per call whatever the values hold, and
// a rate limit on per-packet lines that says how many it suppressed.

#include "portico/common/log.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

namespace portico::log {
namespace {

/// Everything written to stderr while it lives.
class CapturedStderr {
 public:
  CapturedStderr() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~CapturedStderr() {
    restore();
    std::fclose(file_);
  }
  std::string text() {
    restore();
    std::string out;
    std::rewind(file_);
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) {
      out.append(buf, n);
    }
    return out;
  }

 private:
  void restore() {
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
    }
  }
  std::FILE* file_;
  int saved_ = -1;
};

std::size_t lines_of(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    n += c == '\n' ? 1 : 0;
  }
  return n;
}

TEST(Log, ControlCharactersInValuesCannotForgeALine) {
  CapturedStderr err;
  // What a SIP header could carry: a CRLF and a fake log line, an ESC sequence, NUL, DEL.
  const std::string forged =
      std::string("x\r\n2026-01-01T00:00:00.000Z level=error event=fake\x1b[2J\x01") + '\0' +
      "\x7f" + "\t";
  info("test.value", {{"user_agent", forged}});
  const std::string out = err.text();
  EXPECT_EQ(lines_of(out), 1u) << out;
  EXPECT_NE(out.find("user_agent=\"x\\r\\n2026-01-01T00:00:00.000Z level=error event=fake"
                     "\\x1b[2J\\x01\\x00\\x7f\\t\""),
            std::string::npos)
      << out;
  for (char c : out.substr(0, out.size() - 1)) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_FALSE(u < 0x20 || u == 0x7f) << "raw control byte " << int(u) << " in " << out;
  }
}

TEST(Log, PlainValuesStayUnquoted) {
  CapturedStderr err;
  info("test.value", {{"remote", "192.0.2.1:5060"}, {"empty", ""}, {"n", 7}});
  const std::string out = err.text();
  EXPECT_NE(out.find("remote=192.0.2.1:5060 empty=\"\" n=7\n"), std::string::npos) << out;
}

TEST(Log, TracedMessageLinesAreEscapedToo) {
  CapturedStderr err;
  write_block(Level::Info, "sip.trace", {}, "INVITE sip:a@b SIP/2.0\r\nX-Evil: a\x1b]0;t\x07\r\n");
  const std::string out = err.text();
  EXPECT_EQ(lines_of(out), 3u) << out;
  EXPECT_NE(out.find("    | X-Evil: a\\x1b]0;t\\x07\n"), std::string::npos) << out;
}

TEST(Log, TracedMessagesNeverShowSdesKeys) {
  CapturedStderr err;
  write_block(
      Level::Info, "sip.trace", {},
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n");
  const std::string out = err.text();
  EXPECT_EQ(out.find("WVNfX19z"), std::string::npos) << out;
  EXPECT_NE(out.find("inline:<redacted>"), std::string::npos) << out;
}

TEST(Limiter, AllowsTwentyASecondThenCountsAndReportsWhatItSuppressed) {
  Limiter limiter;
  const TimePoint t0 = Clock::now();
  unsigned allowed = 0;
  for (int i = 0; i < 1000; ++i) {
    allowed += limiter.allow(t0 + std::chrono::microseconds(i)) ? 1 : 0;
  }
  EXPECT_EQ(allowed, Limiter::kPerSecond);
  EXPECT_EQ(limiter.suppressed(), 1000u - Limiter::kPerSecond);

  CapturedStderr err;
  EXPECT_TRUE(limiter.allow(t0 + std::chrono::seconds(1)));  // a new second
  const std::string out = err.text();
  EXPECT_EQ(lines_of(out), 1u) << out;
  EXPECT_NE(out.find("event=log.suppressed count=980"), std::string::npos) << out;
  EXPECT_EQ(limiter.suppressed(), 980u);  // the total stays
}

TEST(Limiter, TheThreadsLimiterIsSharedByEveryWarnLimitedCall) {
  CapturedStderr err;
  const std::uint64_t before = suppressed_lines();
  for (int i = 0; i < 200; ++i) {
    warn_limited(i % 2 == 0 ? "sip.unparseable" : "transport.framing_error", {{"i", i}});
  }
  const std::string out = err.text();
  EXPECT_LE(lines_of(out), 2u * Limiter::kPerSecond + 1) << out;  // may straddle a second
  EXPECT_GE(suppressed_lines() - before, 200u - 2u * Limiter::kPerSecond);
}

TEST(RefusalEpisodes, OneLineWhenACapStartsRefusingNotOnePerPacket) {
  RefusalEpisodes episodes(std::chrono::seconds(10));
  const TimePoint t0 = Clock::now();
  EXPECT_TRUE(episodes.refuse(t0));
  for (int i = 1; i < 100; ++i) {
    EXPECT_FALSE(episodes.refuse(t0 + std::chrono::milliseconds(i * 50)));
  }
  // Quiet for 10 s: the next refusal starts a new episode.
  EXPECT_TRUE(episodes.refuse(t0 + std::chrono::milliseconds(99 * 50) + std::chrono::seconds(10)));
}

TEST(RefusalEpisodes, ShardsSharingACapLogOneLineBetweenThem) {
  // Two shard threads see the same flood start: one of them writes the line.
  for (int round = 0; round < 50; ++round) {
    RefusalEpisodes episodes(std::chrono::seconds(10));
    const TimePoint t0 = Clock::now();
    std::atomic<int> starts{0};
    auto shard = [&] {
      for (int i = 0; i < 1000; ++i) {
        starts += episodes.refuse(t0 + std::chrono::microseconds(i)) ? 1 : 0;
      }
    };
    std::thread a(shard);
    std::thread b(shard);
    a.join();
    b.join();
    EXPECT_EQ(starts.load(), 1);
  }
}

}  // namespace
}  // namespace portico::log
