// TraceWriter and CallTraces together, against a real temporary directory: one pcap file per
// call holding that call's messages (both legs, in order, the held INVITE and 100 Trying
// first), nothing for messages of no call, a full queue dropping and counting, and retention
// deleting the oldest files.

#include "portico/trace/trace_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "portico/trace/call_traces.hpp"
#include "trace_test_util.hpp"

namespace portico::trace {
namespace {

namespace fs = std::filesystem;
using test::ep;
using test::le32;
using transport::Protocol;

class TraceDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("portico-trace-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// The SIP payloads of a raw-IPv4 UDP pcap file, in order.
  static std::vector<std::string> payloads(const std::string& file) {
    std::vector<std::string> out;
    EXPECT_GE(file.size(), kPcapFileHeaderSize);
    std::size_t at = kPcapFileHeaderSize;
    while (at + kPcapRecordHeaderSize <= file.size()) {
      const std::uint32_t len = le32(file, at + 8);
      out.push_back(file.substr(at + kPcapRecordHeaderSize + 28, len - 28));
      at += kPcapRecordHeaderSize + len;
    }
    EXPECT_EQ(at, file.size());
    return out;
  }

  fs::path dir_;
};

std::string msg(const std::string& first_line, const std::string& call_id) {
  return first_line + "\r\nCall-ID: " + call_id + "\r\nContent-Length: 0\r\n\r\n";
}

transport::Flow flow_from(const char* ip, std::uint16_t port) {
  transport::Flow f;
  f.protocol = Protocol::Udp;
  f.realm = "access";
  f.local = ep("127.0.131.1", 5060);
  f.remote = ep(ip, port);
  return f;
}

TEST_F(TraceDir, OneFilePerCallWithBothLegsInOrder) {
  const std::string invite = msg("INVITE sip:b@x SIP/2.0", "a-1");
  const std::string trying = msg("SIP/2.0 100 Trying", "a-1");
  const std::string b_invite = msg("INVITE sip:b@y SIP/2.0", "pt00b");
  const std::string options = msg("OPTIONS sip:x SIP/2.0", "o-1");
  const std::string b_ok = msg("SIP/2.0 200 OK", "pt00b");
  std::string file;
  {
    TraceWriter writer(dir_.string(), Retention{10, Millis{0}});
    ManualTimerService timers;
    CallTraces traces(3, timers, &writer, nullptr);
    ASSERT_TRUE(traces.active());
    // The INVITE arrives before its call exists; the 100 Trying leaves before the B2BUA runs.
    traces.inbound("a-1", flow_from("127.0.131.3", 5070), invite);
    traces.outbound("a-1", Protocol::Udp, ep("127.0.131.1", 5060), ep("127.0.131.3", 5070),
                    trying);
    const TraceId id = traces.begin("k3j4h5g6f7", "a-1", test::sample_time(), file);
    ASSERT_NE(id, 0u);
    EXPECT_EQ(id >> 48, 3u);  // the shard is in the id
    EXPECT_EQ(file, dir_.string() + "/20261125-014224_k3j4h5g6f7.pcap");
    traces.add_call_id(id, "pt00b");
    traces.outbound("pt00b", Protocol::Udp, ep("127.0.132.1", 5060), ep("127.0.132.2", 5080),
                    b_invite);
    traces.end_delivery();
    traces.inbound("o-1", flow_from("127.0.131.3", 5070), options);  // no call: not in pcap
    traces.end_delivery();
    traces.inbound("pt00b", flow_from("127.0.132.2", 5080), b_ok);
    traces.end_delivery();
    traces.end(id);
    EXPECT_EQ(traces.active_traces(), 1u);  // lingers for late retransmissions
    timers.advance(CallTraces::kLinger);
    EXPECT_EQ(traces.active_traces(), 0u);
    EXPECT_EQ(traces.mapped_call_ids(), 0u);
    // ~TraceWriter drains the queue.
  }
  EXPECT_EQ(files(), std::vector<std::string>{"20261125-014224_k3j4h5g6f7.pcap"});
  EXPECT_EQ(payloads(read(file)), (std::vector<std::string>{invite, trying, b_invite, b_ok}));
}

TEST_F(TraceDir, SdesKeysAreRedactedInThePcap) {
  // An SDP with an a=crypto key (SDES, RFC 4568): the pcap keeps the line, not the key.
  const std::string sdp_tail =
      "\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio 4000 RTP/SAVP 0\r\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31\r\n";
  const std::string invite = "INVITE sip:b@x SIP/2.0\r\nCall-ID: s-1" + sdp_tail;
  const std::string ok = "SIP/2.0 200 OK\r\nCall-ID: s-1" + sdp_tail;
  std::string file;
  {
    TraceWriter writer(dir_.string(), Retention{10, Millis{0}});
    ManualTimerService timers;
    CallTraces traces(0, timers, &writer, nullptr);
    traces.inbound("s-1", flow_from("127.0.131.3", 5070), invite);  // held before begin()
    const TraceId id = traces.begin("srtp1", "s-1", test::sample_time(), file);
    traces.outbound("s-1", Protocol::Udp, ep("127.0.131.1", 5060), ep("127.0.131.3", 5070), ok);
    traces.end_delivery();
    traces.end(id);
    timers.advance(CallTraces::kLinger);
  }
  const auto got = payloads(read(file));
  ASSERT_EQ(got.size(), 2u);
  for (const std::string& p : got) {
    EXPECT_EQ(p.find("WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"), std::string::npos) << p;
    EXPECT_NE(p.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^31\r\n"),
              std::string::npos)
        << p;
  }
}

TEST_F(TraceDir, DigestResponsesAreRedactedInThePcap) {
  // Portico's answer to a trunk's 407: the pcap shows the Proxy-Authorization, not the hash.
  const std::string invite =
      "INVITE sip:b@x SIP/2.0\r\nCall-ID: d-1\r\nProxy-Authorization: Digest username=\"pbx\", "
      "realm=\"carrier\", nonce=\"n1\", uri=\"sip:b@x\", "
      "response=\"6629fae49393a05397450978507c4ef1\"\r\nContent-Length: 0\r\n\r\n";
  std::string file;
  {
    TraceWriter writer(dir_.string(), Retention{10, Millis{0}});
    ManualTimerService timers;
    CallTraces traces(0, timers, &writer, nullptr);
    const TraceId id = traces.begin("auth1", "d-1", test::sample_time(), file);
    traces.outbound("d-1", Protocol::Udp, ep("127.0.131.2", 5060), ep("127.0.131.4", 5060), invite);
    traces.end_delivery();
    traces.end(id);
    timers.advance(CallTraces::kLinger);
  }
  const auto got = payloads(read(file));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].find("6629fae49393a05397450978507c4ef1"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("Proxy-Authorization: Digest username=\"pbx\""), std::string::npos)
      << got[0];
}

TEST_F(TraceDir, HeldMessagesAreForgottenWithoutACall) {
  {
    TraceWriter writer(dir_.string(), Retention{10, Millis{0}});
    ManualTimerService timers;
    CallTraces traces(0, timers, &writer, nullptr);
    traces.inbound("r-1", flow_from("127.0.131.3", 5070), msg("INVITE sip:b@x SIP/2.0", "r-1"));
    traces.outbound("r-1", Protocol::Udp, ep("127.0.131.1", 5060), ep("127.0.131.3", 5070),
                    msg("SIP/2.0 403 Forbidden", "r-1"));
    traces.end_delivery();
    std::string file;
    // A later call with the same Call-ID does not inherit the forgotten messages.
    const TraceId id = traces.begin("abc", "r-1", test::sample_time(), file);
    traces.end(id);
    timers.advance(CallTraces::kLinger);
  }
  ASSERT_EQ(files().size(), 1u);
  EXPECT_TRUE(payloads(read(dir_ / files()[0])).empty());
}

TEST_F(TraceDir, FullQueueDropsMessagesAndCountsThem) {
  TraceWriter writer(dir_.string(), Retention{10, Millis{0}}, /*capacity=*/1);
  std::vector<TraceEvent> batch;
  batch.push_back(TraceEvent{TraceEvent::Kind::Begin, 1, "x.pcap", {}});
  PacketMeta m{Protocol::Udp, ep("127.0.0.1", 1), ep("127.0.0.1", 2), {}};
  for (int i = 0; i < 50; ++i) {
    batch.push_back(TraceEvent{TraceEvent::Kind::Message, 1, "m", m});
  }
  batch.push_back(TraceEvent{TraceEvent::Kind::End, 1, {}, {}});
  writer.submit(batch);
  EXPECT_TRUE(batch.empty());
  for (int i = 0; i < 200 && writer.stats().files_written == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto s = writer.stats();
  EXPECT_EQ(s.files_written, 1u);  // Begin and End are never dropped
  EXPECT_EQ(s.messages_written + s.messages_dropped, 50u);
  EXPECT_GE(s.messages_dropped, 49u);
}

TEST_F(TraceDir, RetentionDeletesTheOldestBeyondMaxFiles) {
  fs::create_directories(dir_);
  const auto now = fs::file_time_type::clock::now();
  for (int i = 0; i < 5; ++i) {
    const fs::path p = dir_ / ("old" + std::to_string(i) + ".pcap");
    std::ofstream(p) << "x";
    fs::last_write_time(p, now - std::chrono::hours(10 - i));
  }
  std::ofstream(dir_ / "notes.txt") << "not a trace";
  {
    TraceWriter writer(dir_.string(), Retention{3, Millis{0}});
    std::vector<TraceEvent> batch;
    batch.push_back(TraceEvent{TraceEvent::Kind::Begin, 9, "new.pcap", {}});
    batch.push_back(TraceEvent{TraceEvent::Kind::End, 9, {}, {}});
    writer.submit(batch);
  }
  EXPECT_EQ(files(), (std::vector<std::string>{"new.pcap", "notes.txt", "old3.pcap",
                                               "old4.pcap"}));
}

TEST_F(TraceDir, RetentionDeletesFilesOlderThanMaxAge) {
  fs::create_directories(dir_);
  const auto now = fs::file_time_type::clock::now();
  std::ofstream(dir_ / "stale.pcap") << "x";
  fs::last_write_time(dir_ / "stale.pcap", now - std::chrono::hours(48));
  std::ofstream(dir_ / "fresh.pcap") << "x";
  TraceWriter writer(dir_.string(), Retention{100, Millis{std::chrono::hours(24)}});
  for (int i = 0; i < 300 && fs::exists(dir_ / "stale.pcap"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // pruned within a second
  }
  EXPECT_FALSE(fs::exists(dir_ / "stale.pcap"));
  EXPECT_TRUE(fs::exists(dir_ / "fresh.pcap"));
  EXPECT_EQ(writer.stats().files_pruned, 1u);
}

TEST(TraceFileName, SortsByTimeAndNamesTheCall) {
  EXPECT_EQ(trace_file_name(test::sample_time(), "k3j4h5g6f7"), "20261125-014224_k3j4h5g6f7.pcap");
}

TEST(TraceWriterStart, UnwritableDirectoryThrows) {
  EXPECT_THROW(TraceWriter("/proc/portico-no-such-dir", Retention{}), std::runtime_error);
}

}  // namespace
}  // namespace portico::trace
