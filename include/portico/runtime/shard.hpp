#pragma once
// A shard: one thread, one asio::io_context, and everything that runs on it — its SIP sockets
// and connections, its transaction layer, its calls and their timers. Nothing on a shard is
// locked because nothing on it is shared; other threads talk to it only by post(), and other
// shards only through ShardSet::invoke_on (docs/style.md, "Threading").
//
// The Shard is the composition root of one thread: it creates the parts and wires them, and
// has no part in the path of a message. One inbound message, in a straight line:
//   transport::ShardTransport (frame) -> SipFrontDoor::dispatch (owner shard: same, or posted
//   to it) -> SipFrontDoor::deliver (trace, parse, validate) -> sip::TransactionLayer
//   -> SipFrontDoor as transaction user -> b2bua::B2bua (calls) or registrar::Registrar
//   (REGISTER on the registration realm) -> media (AnchoredMedia, on the media shard).
// Every send goes down: B2bua/Registrar -> TransactionLayer -> trace::TracingTransport
//   -> ShardTransport.
//
// Ownership: Shard -> ShardTransport, CallTraces (+ HepSender), media I/O (UringEngine or
// EpollSet), MediaPorts, AnchoredMediaFactory, SipFrontDoor (-> TransactionLayer,
// TracingTransport), BindingDirectory, Registrar, B2bua.

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "portico/auth/digest_authenticator.hpp"
#include "portico/b2bua/anchored_media.hpp"
#include "portico/b2bua/b2bua.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/trunk_usage.hpp"
#include "portico/edge/source_guard.hpp"
#include "portico/policy/model.hpp"
#include "portico/registrar/binding_directory.hpp"
#include "portico/registrar/registrar.hpp"
#include "portico/registrar/trunk_registrations.hpp"
#include "portico/runtime/sip_front_door.hpp"
#include "portico/trace/call_traces.hpp"
#include "portico/trace/hep.hpp"
#include "portico/trace/message_counts.hpp"
#include "portico/trace/trace_writer.hpp"
#include "portico/transport/shard_transport.hpp"

namespace portico::runtime {

class ShardSet;

/// SIP messages by (realm, direction "in"/"out", method or "other", status; 0 for requests).
using MessageCounts = trace::MessageCounts;

/// A copy of one shard's counters and live-state sizes, taken on the shard's own thread.
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
  registrar::TrunkRegistrationStats trunk_registration;  // shard 0's; empty elsewhere
  auth::AuthStats auth;
  trace::HepStats hep;
  std::size_t traces_active = 0;  // calls being traced (including the short linger after end)
  edge::SourceGuardStats edge;    // per-source rate limits and bans
  std::size_t log_suppressed = 0;  // per-packet log lines the shard's log::Limiter held back
};

/// What a media shard lends the shards whose calls it relays (policy `server.media_shards`):
/// its loop and clock, on which those calls' relay sockets and timers live, and its media I/O.
/// The other shard only hands these to its AnchoredMediaFactory, whose streams post to `io` and
/// touch the rest on the media shard's thread. Written by bind() on the control thread before
/// any shard thread starts (shards bind in index order, media shards first); read-only after.
struct MediaHost {
  asio::io_context* io = nullptr;
  TimerService* timers = nullptr;
  media::UringEngine* uring = nullptr;  // one of these two, or neither
  media::EpollSet* epoll = nullptr;
  /// Other shards' streams can live here: the shard's media I/O is a ring or an epoll set that
  /// its own thread drives. Sockets waiting through asio each need their opener's io_context.
  bool shareable() const { return uring != nullptr || epoll != nullptr; }
};

class Shard {
 public:
  /// `shards` is the full set (for cross-shard calls); it must outlive this shard.
  /// `trace_writer` (per-call pcap files; may be null) is shared by all shards and outlives
  /// them.
  Shard(std::uint16_t index, ShardSet& shards, std::shared_ptr<const policy::PolicySnapshot> policy,
        b2bua::TrunkUsage& trunk_usage, std::string version, b2bua::CdrSink cdr_sink = {},
        trace::TraceWriter* trace_writer = nullptr);
  ~Shard();

  /// Binds the listeners (throws std::system_error at start-up) and starts the thread.
  /// Control thread, in index order.
  void start();
  /// Ends calls, closes sockets, stops the loop and joins the thread. Control thread.
  void stop();

  /// Runs `fn` on this shard's thread, after what was posted before. Any thread.
  template <class F>
  void post(F&& fn) {
    asio::post(io_, std::forward<F>(fn));
    wake();
  }
  asio::io_context& io() { return io_; }
  /// What another shard may use to relay its calls' media here. Valid once start() returned.
  const MediaHost& media_host() const { return media_host_; }

  // What other shards ask of this one, through ShardSet::invoke_on (this shard's thread):
  /// A message this shard owns, received by another shard.
  void deliver(transport::Inbound&& in);
  /// A binding change published by the shard that owns the binding.
  void apply_binding(const registrar::BindingUpdate& update);
  /// A stream connection closed on another shard (or this one).
  void connection_closed(const transport::ConnectionRef& ref);
  /// Another shard banned `source` until `until` (policy `rate_limits`).
  void apply_ban(const asio::ip::address& source, TimePoint until);
  transport::ShardTransport& transport() { return *transport_; }

  // Control plane, posted by the Server (this shard's thread):
  void set_policy(std::shared_ptr<const policy::PolicySnapshot> policy);
  /// The TLS contexts new connections use: before start() (control thread), then on each reload
  /// (this shard's thread, with apply_policy). Null when the policy has no TLS.
  void set_tls(std::shared_ptr<const transport::TlsContexts> tls);
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
  /// Shutdown: Portico's registrations to trunks are removed (Expires: 0), on the shard that
  /// holds them.
  void unregister_trunks();
  /// Graceful shutdown: refuse new calls (503), keep the ones in progress.
  void drain();
  std::size_t call_count() const;

 private:
  void bind();
  void open_media_io();
  /// This shard's calls relay their media on the media shard `index_ % media_shard_count`.
  void choose_media_host();
  /// The front door (and its transaction layer), then its two users: the B2BUA and the
  /// registrar.
  void open_sip();
  /// Applies a binding change here and posts it to every other shard (registrar -> all).
  void publish_binding(registrar::BindingUpdate update);
  /// Wakes the thread if it sleeps in the io_uring ring, which does not see asio's queue.
  void wake();

  // Threads: RO = set in the constructor (or bind(), before the thread starts), then read on
  // the shard's thread; shard-local = the shard's thread only (after bind()).
  std::uint16_t index_;                                   // RO
  ShardSet& shards_;                                      // RO; not owned
  std::shared_ptr<const policy::PolicySnapshot> policy_;  // shard-local copy of the pointer
  std::shared_ptr<const transport::TlsContexts> tls_;     // immutable, shared by all shards
  b2bua::TrunkUsage& trunk_usage_;                        // shared, thread-safe
  std::string version_;                                   // RO
  b2bua::CdrSink cdr_sink_;                   // RO; thread-safe (queues to the CDR writer)
  trace::TraceWriter* trace_writer_;          // RO; thread-safe; not owned; may be null
  asio::io_context io_{1};                    // post() from any thread
  std::unique_ptr<AsioTimerService> timers_;  // shard-local (and its media guests')
  std::unique_ptr<transport::ShardTransport> transport_;  // shard-local
  std::unique_ptr<trace::HepSender> hep_;                 // shard-local; HEP export; nullptr = off
  std::unique_ptr<trace::CallTraces> traces_;             // shard-local; Call-ID -> call trace
  std::unique_ptr<media::UringEngine> uring_;       // media I/O; nullptr = epoll path; its doorbell
                                                    // (wake) is rung by any thread
  std::unique_ptr<media::EpollSet> media_epoll_;    // the epoll path's set; nullptr = io_uring,
                                                    // or an asio wait per socket
  MediaHost media_host_;                            // RO after bind(); read by other shards' bind
  std::unique_ptr<b2bua::MediaPorts> media_ports_;  // shard-local; RTP port slices
  std::unique_ptr<b2bua::AnchoredMediaFactory> media_factory_;  // shard-local
  auth::DigestAuthenticator digest_;                 // shard-local; used by registrar and B2BUA
  std::unique_ptr<SipFrontDoor> front_door_;         // shard-local; owns the transaction layer
  registrar::BindingDirectory bindings_;             // shard-local copy of every shard's bindings
  std::unique_ptr<registrar::Registrar> registrar_;  // shard-local; the bindings it owns (AOR)
  std::unique_ptr<b2bua::B2bua> b2bua_;              // shard-local
  /// Portico's own registrations to trunks: shard 0 holds them all (a handful of REGISTERs an
  /// hour; one owner keeps their state and metric in one place); null on the other shards.
  std::unique_ptr<registrar::TrunkRegistrations> trunk_registrations_;  // shard-local
  std::thread thread_;
};

}  // namespace portico::runtime
