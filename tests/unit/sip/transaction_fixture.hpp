#pragma once
// Shared by the transaction layer tests: a TransactionUser that records every callback, virtual
// time (ManualTimerService), a RecordingTransport, and helpers that step time 1 ms at a time so
// retransmission schedules are asserted to the millisecond.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "recording_transport.hpp"

namespace portico::sip::test {

struct TuEvent {
  std::string kind;  // request, ack, cancel, response, failure, server_timeout, stray
  TxnId txn = 0;
  int status = 0;    // response/failure status
  std::string method;
};

class RecordingTu final : public TransactionUser {
 public:
  void on_request(TxnId txn, Message&& req, const transport::Flow&) override {
    events.push_back({"request", txn, 0, req.method()});
    if (request_hook) {
      request_hook(txn, req);
    }
  }
  void on_ack(Message&& ack, const transport::Flow&) override {
    events.push_back({"ack", 0, 0, ack.method()});
  }
  void on_cancel(TxnId invite_txn, Message&& cancel) override {
    events.push_back({"cancel", invite_txn, 0, cancel.method()});
  }
  void on_response(TxnId txn, Message&& resp) override {
    events.push_back({"response", txn, resp.status(), resp.cseq_method()});
  }
  void on_client_failure(TxnId txn, int status) override {
    events.push_back({"failure", txn, status, ""});
  }
  void on_server_timeout(TxnId txn) override { events.push_back({"server_timeout", txn, 0, ""}); }
  void on_stray_response(Message&& resp, const transport::Flow&) override {
    events.push_back({"stray", 0, resp.status(), resp.cseq_method()});
  }

  std::vector<TuEvent> events;
  std::function<void(TxnId, const Message&)> request_hook;  // runs inside on_request
};

inline transport::Flow make_flow(transport::Protocol p, const char* ip, std::uint16_t port,
                                 std::uint64_t connection = 0) {
  transport::Flow f;
  f.protocol = p;
  f.realm = "access";
  f.local = *transport::parse_endpoint("192.0.2.10", 5060);
  f.remote = *transport::parse_endpoint(ip, port);
  f.connection = transport::ConnectionRef{0, connection};
  return f;
}

inline transport::Destination make_dst(transport::Protocol p, const char* ip,
                                       std::uint16_t port) {
  transport::Destination d;
  d.realm = "carrier";
  d.protocol = p;
  d.remote = *transport::parse_endpoint(ip, port);
  return d;
}

class TransactionFixture : public ::testing::Test {
 protected:
  ManualTimerService timers;
  portico::test::RecordingTransport transport;
  RecordingTu tu;
  TransactionLayer layer{timers, transport, TimerConfig{}, tu};
  transport::Flow udp = make_flow(transport::Protocol::Udp, "198.51.100.7", 5062);

  void deliver(const std::string& bytes, const transport::Flow& flow) {
    auto m = Message::parse(bytes);
    ASSERT_TRUE(m.ok()) << bytes;
    ASSERT_FALSE(m->validate().has_value()) << m->validate()->detail;
    layer.receive(std::move(*m), flow);
  }

  /// Advances `total` in 1 ms steps; returns the offsets (ms from now) at which sends
  /// happened, one entry per message sent. The messages stay in transport.sent.
  std::vector<long> sends_during(Millis total) {
    std::vector<long> at;
    for (long ms = 1; ms <= total.count(); ++ms) {
      std::size_t before = transport.sent.size();
      timers.advance(Millis{1});
      for (std::size_t i = before; i < transport.sent.size(); ++i) {
        at.push_back(ms);
      }
    }
    return at;
  }

  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& e : tu.events) {
      out.push_back(e.kind);
    }
    return out;
  }

  void expect_idle() {
    EXPECT_EQ(layer.server_count(), 0u);
    EXPECT_EQ(layer.client_count(), 0u);
    EXPECT_EQ(timers.armed(), 0u);
  }
};

}  // namespace portico::sip::test
