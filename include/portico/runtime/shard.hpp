#pragma once
// A shard: one thread, one asio::io_context, and everything that runs on it — its SIP sockets
// and connections, its transaction layer, its calls and their timers. Nothing on a shard is
// locked because nothing on it is shared; other threads talk to it only by post().
//
// Inbound path on the shard that received the bytes:
//   transport -> dispatch(): Call-ID -> owning shard (post if it is another one)
// then on the owning shard:
//   deliver(): trace (log, pcap, HEP) -> parse -> validate (400 / drop) -> TransactionLayer
//              -> B2bua

#include <asio/io_context.hpp>

#include <cstdint>
#include <map>
#include <tuple>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "portico/b2bua/b2bua.hpp"
#include "portico/b2bua/anchored_media.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/trunk_usage.hpp"
#include "portico/policy/model.hpp"
#include "portico/registrar/binding_directory.hpp"
#include "portico/registrar/registrar.hpp"
#include "portico/trace/call_traces.hpp"
#include "portico/trace/hep.hpp"
#include "portico/trace/trace_writer.hpp"
#include "portico/transport/shard_transport.hpp"

namespace portico::runtime {

/// Inbound counters of one shard (parse failures and drops by reason). Shard-local.
struct InboundStats {
  std::uint64_t messages = 0;
  std::uint64_t unparseable = 0;     // libosip2 could not parse: dropped
  std::uint64_t invalid = 0;         // parsed but invalid (missing header...): 400 or dropped
  std::uint64_t answered_400 = 0;
  std::uint64_t dropped = 0;
};

/// A copy of one shard's counters and live-state sizes, taken on the shard's own thread.
/// SIP messages by (realm, direction "in"/"out", method or "other", status; 0 for requests).
/// std::less<> lets a lookup use string_views, so counting allocates only for a new combination.
using MessageCounts =
    std::map<std::tuple<std::string, std::string, std::string, int>, std::uint64_t, std::less<>>;

struct ShardSnapshot {
  InboundStats inbound;
  transport::TransportStats transport;
  sip::TransactionStats transactions;
  b2bua::B2buaStats calls;
  std::size_t calls_active = 0;
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> active_by_route;
  std::size_t server_txns = 0;
  std::size_t client_txns = 0;
  std::size_t connections = 0;
  MessageCounts messages;
  b2bua::MediaStats media;
  registrar::RegistrarStats registration;
  trace::HepStats hep;
  std::size_t traces_active = 0;  // calls being traced (including the short linger after end)
};

class Shard {
 public:
  /// `shards` is the full set (for cross-shard posts); it must outlive this shard.
  /// `trace_writer` (per-call pcap files; may be null) is shared by all shards and outlives
  /// them.
  Shard(std::uint16_t index, std::vector<std::unique_ptr<Shard>>& shards,
        std::shared_ptr<const policy::PolicySnapshot> policy, b2bua::TrunkUsage& trunk_usage,
        std::string version, b2bua::CdrSink cdr_sink = {},
        trace::TraceWriter* trace_writer = nullptr);
  ~Shard();

  /// Binds the listeners (throws std::system_error at start-up) and starts the thread.
  void start();
  /// Ends calls, closes sockets, stops the loop and joins the thread. Control thread.
  void stop();

  /// Runs `fn` on this shard's thread. Any thread.
  void post(std::function<void()> fn);
  asio::io_context& io() { return io_; }

  // Shard thread only:
  void dispatch(transport::Inbound&& in);
  void deliver(transport::Inbound&& in);
  void set_policy(std::shared_ptr<const policy::PolicySnapshot> policy);
  /// Reload step 1: binds the listeners `next` adds. "" or what could not be bound.
  std::string prepare_listeners(const policy::PolicySnapshot& next);
  /// Reload step 2: opens the prepared listeners, closes those `next` drops, then takes `next`
  /// for new calls. Returns the listeners opened and closed.
  std::pair<std::size_t, std::size_t> apply_policy(
      std::shared_ptr<const policy::PolicySnapshot> next);
  /// Reload step 2 when another shard failed step 1.
  void abort_listeners() { transport_->abort_listeners(); }
  void log_status();
  ShardSnapshot snapshot() const;
  void end_all_calls(const std::string& reason);
  /// Graceful shutdown: refuse new calls (503), keep the ones in progress.
  void drain();
  std::size_t call_count() const;
  transport::ShardTransport& transport() { return *transport_; }

 private:
  void bind();
  void open_media_io();
  /// Applies a binding change here and posts it to every other shard (registrar -> all).
  void publish_binding(registrar::BindingUpdate update);
  std::uint16_t index_;
  std::vector<std::unique_ptr<Shard>>& shards_;     // not owned
  std::shared_ptr<const policy::PolicySnapshot> policy_;  // shard-local copy of the pointer
  b2bua::TrunkUsage& trunk_usage_;                  // shared, thread-safe
  std::string version_;
  b2bua::CdrSink cdr_sink_;                         // thread-safe (queues to the CDR writer)
  trace::TraceWriter* trace_writer_;                // thread-safe; not owned; may be null
  asio::io_context io_{1};
  std::unique_ptr<AsioTimerService> timers_;
  std::unique_ptr<transport::ShardTransport> transport_;
  std::unique_ptr<trace::HepSender> hep_;           // HEP export; nullptr = off
  std::unique_ptr<trace::CallTraces> traces_;       // Call-ID -> call trace; shard-local
  std::unique_ptr<transport::Transport> traced_;    // trace decorator around transport_
  std::unique_ptr<media::UringEngine> uring_;                // media I/O; nullptr = epoll path
  std::unique_ptr<media::EpollSet> media_epoll_;             // the epoll path's set; nullptr =
                                                             // io_uring, or an asio wait per socket
  std::unique_ptr<b2bua::MediaPorts> media_ports_;           // this shard's RTP port slices
  std::unique_ptr<b2bua::AnchoredMediaFactory> media_factory_;
  registrar::BindingDirectory bindings_;            // every shard's bindings; shard-local copy
  std::unique_ptr<registrar::Registrar> registrar_; // the bindings this shard owns (AOR hash)
  std::unique_ptr<b2bua::B2bua> b2bua_;
  InboundStats stats_;
  MessageCounts message_counts_;  // shard-local
  std::thread thread_;
};

}  // namespace portico::runtime
