// CdrWriter against real files in a private temp directory.

#include "portico/cdr/writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace portico::cdr {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A unique directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("portico_cdr_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter.fetch_add(1)));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

CallRecord make_record(const std::string& call) {
  CallRecord r;
  r.call = call;
  r.a_call_id = call + "@a";
  r.caller = "alice";
  r.callee = "bob";
  r.attempts = 1;
  r.start = CallRecord::TimePoint{} + 1'700'000'000'000ms;
  r.answer = r.start + 1s;
  r.end = r.start + 10s;
  r.final_status = 200;
  r.end_reason = "a_bye";
  r.disconnect = "caller";
  return r;
}

std::string expected_line(const std::string& call) {
  std::string line = to_json_line(make_record(call));
  line.pop_back();  // getline() strips the '\n'
  return line;
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {  // bounded by the file size
    lines.push_back(line);
  }
  return lines;
}

/// Polls `done` for up to 10 s: the writer thread is asynchronous by design.
bool wait_until(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(CdrWriterTest, WritesOneLinePerRecordInOrder) {
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  {
    CdrWriter writer(file.string());
    EXPECT_EQ(writer.path(), file.string());
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(writer.submit(make_record("call-" + std::to_string(i))));
    }
    ASSERT_TRUE(wait_until([&] { return writer.stats().written == 3; }));
    EXPECT_EQ(writer.stats().dropped, 0u);
    EXPECT_EQ(writer.stats().write_errors, 0u);
  }
  EXPECT_EQ(read_lines(file),
            (std::vector<std::string>{expected_line("call-0"), expected_line("call-1"),
                                      expected_line("call-2")}));
}

TEST(CdrWriterTest, RotatesBySizeKeepingTheNewestFiles) {
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  const std::size_t line = expected_line("call-00").size() + 1;
  // Three lines per file; records submitted one by one so each lands in its own write.
  CdrWriter writer(file.string(), CdrWriter::kDefaultCapacity, CdrRotation{3 * line, 2});
  for (int i = 0; i < 10; ++i) {
    std::string id = "call-0" + std::to_string(i);
    ASSERT_TRUE(writer.submit(make_record(id)));
    ASSERT_TRUE(wait_until([&] { return writer.stats().written == static_cast<std::uint64_t>(i + 1); }));
  }
  // 10 records: call-00..02 -> rotated away (keep 2), 03..05 -> .2, 06..08 -> .1, 09 -> file.
  EXPECT_FALSE(fs::exists(dir.path() / "cdr.jsonl.3"));
  EXPECT_EQ(read_lines(dir.path() / "cdr.jsonl.2"),
            (std::vector<std::string>{expected_line("call-03"), expected_line("call-04"),
                                      expected_line("call-05")}));
  EXPECT_EQ(read_lines(dir.path() / "cdr.jsonl.1"),
            (std::vector<std::string>{expected_line("call-06"), expected_line("call-07"),
                                      expected_line("call-08")}));
  EXPECT_EQ(read_lines(file), (std::vector<std::string>{expected_line("call-09")}));
}

TEST(CdrWriterTest, AppendsToAnExistingFile) {
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  std::ofstream(file) << "previous\n";
  {
    CdrWriter writer(file.string());
    EXPECT_TRUE(writer.submit(make_record("new")));
  }
  EXPECT_EQ(read_lines(file), (std::vector<std::string>{"previous", expected_line("new")}));
}

TEST(CdrWriterTest, ConcurrentSubmitsLandExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  {
    CdrWriter writer(file.string());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) {
          EXPECT_TRUE(writer.submit(make_record(std::to_string(t) + "-" + std::to_string(i))));
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    ASSERT_TRUE(wait_until([&] { return writer.stats().written == kThreads * kPerThread; }));
    EXPECT_EQ(writer.stats().dropped, 0u);
  }
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> seen;
  for (const auto& line : lines) {
    const auto from = std::string_view(R"({"call":")").size();
    const auto to = line.find('"', from);
    ASSERT_NE(to, std::string::npos) << line;
    const std::string call = line.substr(from, to - from);
    EXPECT_EQ(line, expected_line(call));
    EXPECT_TRUE(seen.insert(call).second) << "duplicate " << call;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(CdrWriterTest, ReopenAfterRenameSendsLaterRecordsToTheNewFile) {
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  const fs::path rotated = dir.path() / "cdr.jsonl.1";
  CdrWriter writer(file.string());
  EXPECT_TRUE(writer.submit(make_record("before")));
  ASSERT_TRUE(wait_until([&] { return writer.stats().written == 1; }));
  fs::rename(file, rotated);  // what logrotate does before sending SIGHUP
  writer.reopen();
  EXPECT_TRUE(writer.submit(make_record("after")));
  ASSERT_TRUE(wait_until([&] { return writer.stats().written == 2; }));
  EXPECT_EQ(read_lines(rotated), std::vector<std::string>{expected_line("before")});
  EXPECT_EQ(read_lines(file), std::vector<std::string>{expected_line("after")});
}

TEST(CdrWriterTest, ReopenSplitsQueuedRecordsAtTheCall) {
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  const fs::path rotated = dir.path() / "cdr.jsonl.1";
  CdrWriter writer(file.string());
  writer.pause_ForTest();  // both groups end up in one batch
  EXPECT_TRUE(writer.submit(make_record("before-0")));
  EXPECT_TRUE(writer.submit(make_record("before-1")));
  fs::rename(file, rotated);
  writer.reopen();
  EXPECT_TRUE(writer.submit(make_record("after-0")));
  writer.resume_ForTest();
  ASSERT_TRUE(wait_until([&] { return writer.stats().written == 3; }));
  EXPECT_EQ(read_lines(rotated),
            (std::vector<std::string>{expected_line("before-0"), expected_line("before-1")}));
  EXPECT_EQ(read_lines(file), std::vector<std::string>{expected_line("after-0")});
}

TEST(CdrWriterTest, FailedReopenKeepsWritingToTheOldFile) {
  TempDir dir;
  fs::create_directories(dir.path() / "cdr");
  const fs::path file = dir.path() / "cdr" / "cdr.jsonl";
  CdrWriter writer(file.string());
  fs::rename(dir.path() / "cdr", dir.path() / "moved");  // the path can no longer be opened
  writer.reopen();
  EXPECT_TRUE(writer.submit(make_record("kept")));
  ASSERT_TRUE(wait_until([&] { return writer.stats().written == 1; }));
  EXPECT_EQ(read_lines(dir.path() / "moved" / "cdr.jsonl"),
            std::vector<std::string>{expected_line("kept")});
  EXPECT_FALSE(fs::exists(file));
}

TEST(CdrWriterTest, FullQueueDropsAndCounts) {
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  CdrWriter writer(file.string(), /*capacity=*/4);
  writer.pause_ForTest();
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += writer.submit(make_record("r" + std::to_string(i))) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(writer.stats().dropped, 6u);
  writer.resume_ForTest();
  ASSERT_TRUE(wait_until([&] { return writer.stats().written == 4; }));
  // Room again once the writer caught up.
  EXPECT_TRUE(writer.submit(make_record("r10")));
  ASSERT_TRUE(wait_until([&] { return writer.stats().written == 5; }));
  EXPECT_EQ(read_lines(file),
            (std::vector<std::string>{expected_line("r0"), expected_line("r1"), expected_line("r2"),
                                      expected_line("r3"), expected_line("r10")}));
  EXPECT_EQ(writer.stats().dropped, 6u);
}

TEST(CdrWriterTest, UnopenablePathThrowsNamingIt) {
  TempDir dir;
  const std::string path = (dir.path() / "no-such-dir" / "cdr.jsonl").string();
  try {
    CdrWriter writer(path);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
}

TEST(CdrWriterTest, ZeroCapacityIsRejected) {
  TempDir dir;
  EXPECT_THROW(CdrWriter((dir.path() / "cdr.jsonl").string(), 0), std::invalid_argument);
}

TEST(CdrWriterTest, DestructorDrainsTheQueue) {
  constexpr int kRecords = 1000;
  TempDir dir;
  const fs::path file = dir.path() / "cdr.jsonl";
  {
    CdrWriter writer(file.string());
    writer.pause_ForTest();  // nothing written before the destructor runs
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(writer.submit(make_record("d" + std::to_string(i))));
    }
    EXPECT_EQ(writer.stats().written, 0u);
  }
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(lines.front(), expected_line("d0"));
  EXPECT_EQ(lines.back(), expected_line("d" + std::to_string(kRecords - 1)));
}

TEST(CdrWriterTest, WriteErrorIsCountedNotThrown) {
  ASSERT_TRUE(fs::exists("/dev/full")) << "this test needs Linux's /dev/full";
  CdrWriter writer("/dev/full");  // every write fails with ENOSPC, like a full disk
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(writer.submit(make_record("lost" + std::to_string(i))));
  }
  ASSERT_TRUE(wait_until([&] { return writer.stats().write_errors == 3; }));
  EXPECT_EQ(writer.stats().written, 0u);
}

}  // namespace
}  // namespace portico::cdr
