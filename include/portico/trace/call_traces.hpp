#pragma once
// CallTraces: one shard's map from Call-ID to the call trace it belongs to, and the one place
// every SIP message of the shard is shown to the trace outputs (pcap files, HEP).
//
// The B2BUA fills it: begin() when a call is created (its A leg's Call-ID), add_call_id() for
// every B leg (each failover attempt has a new Call-ID; old ones stay mapped so the ACK of a
// failed attempt is still captured), end() when the call is freed. The runtime shows it every
// message where messages are counted: inbound() in SipFrontDoor::deliver, outbound() in
// TracingTransport::send, so retransmissions from the transaction layer are seen too.
//
// The first INVITE arrives before its call exists, and the 100 Trying leaves before the B2BUA
// sees the INVITE. So while an INVITE with an unknown Call-ID is being delivered, it and what is
// sent back under its Call-ID are held; begin() for that Call-ID puts them first in the trace;
// end_delivery() forgets them if no call was created (a rejected INVITE has no trace file).
//
// After end() the Call-IDs stay mapped for kLinger, so late retransmissions (a BYE whose 200
// was lost, an ACK retransmitted for a 2xx) still land in the file; then the file is closed.
// Events are batched per shard and handed to the TraceWriter at the end of each delivery, or
// by a short timer for what timers sent: one lock per batch, never a wait on disk.
//
// Shard thread only.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/trace/hep.hpp"
#include "portico/trace/trace_writer.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::trace {

using TraceId = std::uint64_t;  // 0 = no trace

class CallTraces {
 public:
  static constexpr Millis kLinger{4000};
  static constexpr Millis kFlushDelay{20};

  /// `writer` (pcap files) and `hep` may each be null; both outlive this object.
  CallTraces(std::uint16_t shard, TimerService& timers, TraceWriter* writer, HepSender* hep);

  /// Anything to do at all (pcap or HEP configured).
  bool active() const { return writer_ != nullptr || hep_ != nullptr; }

  // B2BUA side.
  /// Starts a call's trace under its A leg's Call-ID. `file` gets the pcap file's full path
  /// (empty when no pcap directory is configured). Returns 0 when tracing is off.
  TraceId begin(std::string_view call_log_id, const std::string& a_call_id,
                WallClock::time_point start, std::string& file);
  void add_call_id(TraceId trace, const std::string& call_id);
  void end(TraceId trace);

  // Transport side.
  void inbound(std::string_view call_id, const transport::Flow& flow, std::string_view data);
  void outbound(std::string_view call_id, transport::Protocol protocol,
                const transport::Endpoint& local, const transport::Endpoint& remote,
                std::string_view data);
  /// The delivery of one inbound message is over: forget a held INVITE, hand the batch over.
  void end_delivery();
  /// Shutdown: ends every trace now (their files are closed) and hands the batch over.
  void close();

  std::size_t active_traces() const { return traces_.size(); }
  std::size_t mapped_call_ids() const { return by_call_id_.size(); }

 private:
  struct Trace {
    std::string a_call_id;               // HEP correlation id of every message of the call
    std::vector<std::string> call_ids;   // every leg's, for removal
    bool pcap = false;
  };
  struct Held {
    PacketMeta meta;
    std::string data;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using CallIdMap = std::unordered_map<std::string, TraceId, StringHash, std::equal_to<>>;

  void record(TraceId id, const PacketMeta& meta, std::string_view data);
  const Trace* find(std::string_view call_id, TraceId& id) const;
  /// HEP gets every message, the pcap only those of a traced call. False: no call traced.
  bool capture(const PacketMeta& meta, std::string_view call_id, std::string_view data);
  void expire();
  void hand_over();
  void arm_flush();

  std::uint16_t shard_;
  TimerService& timers_;
  TraceWriter* writer_;  // not owned; may be null
  HepSender* hep_;       // not owned; may be null
  TraceId next_ = 1;
  std::unordered_map<TraceId, Trace> traces_;
  CallIdMap by_call_id_;
  std::deque<std::pair<TimePoint, TraceId>> ending_;  // lingering after end(), by deadline
  Timer linger_timer_;
  Timer flush_timer_;
  std::vector<TraceEvent> batch_;

  // The INVITE being delivered whose Call-ID was unknown, and what was sent under it since.
  std::string held_call_id_;
  std::vector<Held> held_;
};

}  // namespace portico::trace
