// CallTraces: Call-ID -> call trace on one shard, and the fan-out of each message to the pcap
// writer and the HEP sender (see call_traces.hpp).

#include "portico/trace/call_traces.hpp"
#include "portico/common/sdes_redact.hpp"
#include "redact_credentials.hpp"

namespace portico::trace {
namespace {

constexpr int kShardShift = 48;  // trace ids: shard in the top 16 bits, a counter below

bool is_invite(std::string_view data) { return data.starts_with("INVITE "); }

// What a capture keeps of a message: SDES keys (a=crypto inline:, docs/srtp.md) and digest
// responses (redact_credentials.hpp) never reach a pcap or a HEP collector. Empty when the
// message holds neither.
std::string redacted_copy(std::string_view data) {
  std::string out = has_crypto_keys(data) ? redact_crypto_keys(data) : std::string();
  std::string without_credentials;
  if (redact_credentials(out.empty() ? data : std::string_view(out), without_credentials)) {
    out = std::move(without_credentials);
  }
  return out;
}

}  // namespace

CallTraces::CallTraces(std::uint16_t shard, TimerService& timers, TraceWriter* writer,
                       HepSender* hep)
    : shard_(shard), timers_(timers), writer_(writer), hep_(hep) {
  linger_timer_.bind(timers_);
  flush_timer_.bind(timers_);
}

TraceId CallTraces::begin(std::string_view call_log_id, const std::string& a_call_id,
                          WallClock::time_point start, std::string& file) {
  file.clear();
  if (!active()) {
    return 0;
  }
  const TraceId id = (static_cast<TraceId>(shard_) << kShardShift) | next_++;
  Trace& t = traces_[id];
  t.a_call_id = a_call_id;
  t.call_ids.push_back(a_call_id);
  by_call_id_[a_call_id] = id;
  if (writer_ != nullptr) {
    t.pcap = true;
    std::string name = trace_file_name(start, call_log_id);
    file = writer_->directory() + "/" + name;
    batch_.push_back(TraceEvent{TraceEvent::Kind::Begin, id, std::move(name), {}});
  }
  if (a_call_id == held_call_id_) {
    for (Held& h : held_) {
      record(id, h.meta, h.data);
    }
    held_.clear();
    held_call_id_.clear();
  }
  return id;
}

void CallTraces::add_call_id(TraceId trace, const std::string& call_id) {
  auto it = traces_.find(trace);
  if (it == traces_.end()) {
    return;
  }
  it->second.call_ids.push_back(call_id);
  by_call_id_[call_id] = trace;
}

void CallTraces::end(TraceId trace) {
  if (traces_.count(trace) == 0) {
    return;
  }
  const TimePoint due = timers_.now() + kLinger;
  ending_.emplace_back(due, trace);
  if (!linger_timer_.armed()) {
    linger_timer_.start(kLinger, [this] {
      linger_timer_.fired();
      expire();
    });
  }
}

void CallTraces::expire() {
  const TimePoint now = timers_.now();
  while (!ending_.empty() && ending_.front().first <= now) {
    const TraceId id = ending_.front().second;
    ending_.pop_front();
    auto it = traces_.find(id);
    if (it == traces_.end()) {
      continue;
    }
    for (const std::string& cid : it->second.call_ids) {
      auto m = by_call_id_.find(cid);
      if (m != by_call_id_.end() && m->second == id) {
        by_call_id_.erase(m);
      }
    }
    if (it->second.pcap) {
      batch_.push_back(TraceEvent{TraceEvent::Kind::End, id, {}, {}});
    }
    traces_.erase(it);
  }
  if (!ending_.empty()) {
    const auto wait = std::chrono::duration_cast<Millis>(ending_.front().first - now);
    linger_timer_.start(wait, [this] {
      linger_timer_.fired();
      expire();
    });
  }
  hand_over();
}

const CallTraces::Trace* CallTraces::find(std::string_view call_id, TraceId& id) const {
  auto m = by_call_id_.find(call_id);
  if (m == by_call_id_.end()) {
    return nullptr;
  }
  auto it = traces_.find(m->second);
  if (it == traces_.end()) {
    return nullptr;
  }
  id = m->second;
  return &it->second;
}

bool CallTraces::capture(const PacketMeta& meta, std::string_view call_id,
                         std::string_view data) {
  TraceId id = 0;
  const Trace* t = find(call_id, id);
  if (hep_ != nullptr) {
    const std::string redacted = redacted_copy(data);
    hep_->send(meta, t != nullptr ? std::string_view(t->a_call_id) : call_id,
               redacted.empty() ? data : std::string_view(redacted));
  }
  if (t != nullptr) {
    record(id, meta, data);
  }
  return t != nullptr;
}

void CallTraces::inbound(std::string_view call_id, const transport::Flow& flow,
                         std::string_view data) {
  if (!active()) {
    return;
  }
  const PacketMeta meta{flow.protocol, flow.remote, flow.local, WallClock::now()};
  if (!capture(meta, call_id, data) && writer_ != nullptr && !call_id.empty() &&
      is_invite(data)) {
    held_call_id_.assign(call_id);
    held_.clear();
    held_.push_back(Held{meta, std::string(data)});
  }
}

void CallTraces::outbound(std::string_view call_id, transport::Protocol protocol,
                          const transport::Endpoint& local, const transport::Endpoint& remote,
                          std::string_view data) {
  if (!active()) {
    return;
  }
  const PacketMeta meta{protocol, local, remote, WallClock::now()};
  if (!capture(meta, call_id, data)) {
    if (held_call_id_.empty() || call_id != held_call_id_) {
      return;
    }
    held_.push_back(Held{meta, std::string(data)});  // the 100 Trying before begin()
  }
  arm_flush();  // sent outside a delivery (a timer's retransmission): flush soon anyway
}

void CallTraces::record(TraceId id, const PacketMeta& meta, std::string_view data) {
  auto it = traces_.find(id);
  if (it == traces_.end() || !it->second.pcap) {
    return;
  }
  std::string redacted = redacted_copy(data);
  batch_.push_back(TraceEvent{TraceEvent::Kind::Message, id,
                              redacted.empty() ? std::string(data) : std::move(redacted), meta});
}

void CallTraces::end_delivery() {
  held_call_id_.clear();
  held_.clear();
  hand_over();
}

void CallTraces::close() {
  for (const auto& [id, t] : traces_) {
    if (t.pcap) {
      batch_.push_back(TraceEvent{TraceEvent::Kind::End, id, {}, {}});
    }
  }
  traces_.clear();
  by_call_id_.clear();
  ending_.clear();
  linger_timer_.cancel();
  hand_over();
}

void CallTraces::hand_over() {
  if (batch_.empty() || writer_ == nullptr) {
    batch_.clear();
    return;
  }
  flush_timer_.cancel();
  writer_->submit(batch_);
}

void CallTraces::arm_flush() {
  if (batch_.empty() || flush_timer_.armed()) {
    return;
  }
  flush_timer_.start(kFlushDelay, [this] {
    flush_timer_.fired();
    hand_over();
  });
}

}  // namespace portico::trace
