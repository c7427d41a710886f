#include "portico/runtime/shard.hpp"

#include <asio/executor_work_guard.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <vector>

#include "portico/common/log.hpp"
#include "portico/media/epoll_set.hpp"
#include "portico/media/uring_engine.hpp"
#include "portico/runtime/cpu_affinity.hpp"
#include "portico/runtime/server.hpp"
#include "portico/runtime/shard_set.hpp"
#include "portico/sip/shard_routing.hpp"

namespace portico::runtime {
namespace {

std::vector<transport::ListenerConfig> listeners_of(const policy::PolicySnapshot& p) {
  std::vector<transport::ListenerConfig> out;
  for (const auto& realm : p.realms) {
    for (const auto& l : realm.listeners) {
      transport::ListenerConfig c;
      c.realm = realm.name;
      c.protocol = l.protocol;
      c.bind = l.bind;
      c.advertised_host = realm.advertised_address;
      out.push_back(std::move(c));
    }
  }
  return out;
}

// Each shard holds its share of the connection caps (shards share nothing); the kernel spreads
// accepted connections evenly over the shards' SO_REUSEPORT acceptors.
void set_ingress_limits(const policy::Ingress& in, std::size_t shards,
                        transport::TransportLimits& out) {
  const auto share = [shards](std::size_t n) {
    return (n + shards - 1) / std::max<std::size_t>(shards, 1);
  };
  out.max_connections = share(in.max_tcp_connections);
  out.max_connections_per_source = share(in.max_tcp_connections_per_source);
  out.message_deadline = in.tcp_message_deadline;
  out.max_queued_output = in.tcp_max_queued_output;
}

}  // namespace

Shard::Shard(std::uint16_t index, ShardSet& shards,
             std::shared_ptr<const policy::PolicySnapshot> policy, b2bua::TrunkUsage& trunk_usage,
             std::string version, b2bua::CdrSink cdr_sink, trace::TraceWriter* trace_writer)
    : index_(index),
      shards_(shards),
      policy_(std::move(policy)),
      trunk_usage_(trunk_usage),
      version_(std::move(version)),
      cdr_sink_(std::move(cdr_sink)),
      trace_writer_(trace_writer) {}

Shard::~Shard() {
  if (thread_.joinable()) {
    io_.stop();
    if (uring_) {
      uring_->wake();
    }
    thread_.join();
  }
}

void Shard::bind() {
  timers_ = std::make_unique<AsioTimerService>(io_);
  transport::TransportLimits limits;
  limits.max_message_size = policy_->server.max_message_size;
  limits.tcp_idle_timeout = policy_->timers.tcp_idle_timeout;
  set_ingress_limits(policy_->ingress, shards_.size(), limits);
  // A connection lives on one shard; a send to it from another is run there.
  auto post_to = [this](std::uint16_t shard, std::function<void(transport::ShardTransport&)> fn) {
    if (shard < shards_.size()) {
      shards_.invoke_on(shard, [fn = std::move(fn)](Shard& s) { fn(s.transport()); });
    }
  };
  transport_ = std::make_unique<transport::ShardTransport>(
      index_, io_, *timers_, listeners_of(*policy_), limits,
      [this](transport::Inbound&& in) { front_door_->dispatch(std::move(in)); }, post_to);
  transport_->set_tls(tls_);
  const auto& tc = policy_->traces;
  if (tc.hep) {
    hep_ = std::make_unique<trace::HepSender>(io_, tc.hep_address, tc.hep_id, tc.hep_password);
  }
  traces_ = std::make_unique<trace::CallTraces>(index_, *timers_, trace_writer_, hep_.get());
  open_media_io();
  media_host_ = MediaHost{&io_, timers_.get(), uring_.get(), media_epoll_.get()};
  media_ports_ = std::make_unique<b2bua::MediaPorts>(io_, *timers_, index_, shards_.size());
  media_ports_->update(*policy_);
  media_factory_ =
      std::make_unique<b2bua::AnchoredMediaFactory>(io_, *timers_, *media_ports_, uring_.get(),
                                                     media_epoll_.get());
  choose_media_host();
  open_sip();
  // A connection lives on this shard; the bindings over it may be owned by any shard.
  transport_->on_connection_closed([this](const transport::ConnectionRef& ref) {
    shards_.invoke_on_all([ref](Shard& s) { s.connection_closed(ref); });
  });
}

void Shard::open_sip() {
  front_door_ = std::make_unique<SipFrontDoor>(
      index_, shards_.size(), *timers_, *transport_, *traces_, policy_,
      [this](std::uint16_t owner, transport::Inbound&& in) {
        shards_.invoke_on(owner,
                          [in = std::move(in)](Shard& s) mutable { s.deliver(std::move(in)); });
      });
  b2bua_ = std::make_unique<b2bua::B2bua>(
      front_door_->layer(), index_, *timers_, front_door_->transport(), trunk_usage_,
      *media_factory_, [this] { return policy_; }, version_);
  b2bua_->set_cdr_sink(cdr_sink_);
  b2bua_->set_call_traces(traces_.get());
  b2bua_->set_bindings(&bindings_);
  b2bua_->set_authenticator(&digest_);
  registrar_ = std::make_unique<registrar::Registrar>(
      index_, shards_.size(), *timers_, front_door_->transport(), front_door_->layer(),
      [this] { return policy_; }, [this] { return sip::make_call_id(index_); },
      [this](registrar::BindingUpdate u) { publish_binding(std::move(u)); }, version_);
  registrar_->set_directory(&bindings_);
  registrar_->set_authenticator(&digest_);
  front_door_->connect(*b2bua_, *registrar_);
  if (index_ == 0) {
    trunk_registrations_ = std::make_unique<registrar::TrunkRegistrations>(
        *timers_, front_door_->transport(), front_door_->layer(),
        [this] { return sip::make_call_id(index_); }, version_);
    front_door_->set_trunk_registrations(trunk_registrations_.get());
    // The first REGISTERs leave once the shard's loop runs.
    asio::post(io_, [this] { trunk_registrations_->apply(*policy_); });
  }
  // A source's packets may land on any shard (SO_REUSEPORT): a ban holds on all of them. Bans
  // are rare (one per source per ban_time), so a post each is cheap and keeps shards lock-free.
  front_door_->source_guard().set_ban_sink(
      [this](const asio::ip::address& source, TimePoint until) {
        for (std::uint16_t i = 0; i < shards_.size(); ++i) {
          if (i != index_) {
            shards_.invoke_on(i, [source, until](Shard& s) { s.apply_ban(source, until); });
          }
        }
      });
  // A failed digest check counts against its source: past rate_limits.auth_failures it is banned
  // (svcrack and password guessing), on this shard and, through the ban sink, on the others.
  digest_.set_failure_hook(
      [this](const asio::ip::address& source) { front_door_->source_guard().auth_failed(source); });
}

void Shard::choose_media_host() {
  // Shards bind in index order, so the media shard (a lower index) has published its host.
  std::uint16_t host = index_ % media_shard_count(*policy_);
  const MediaHost& h = host == index_ ? media_host_ : shards_.at(host).media_host();
  if (host != index_ && h.shareable()) {
    media_factory_->relay_on(*h.io, *h.timers, h.uring, h.epoll);
  } else {
    host = index_;  // its own, also when the media shard waits through asio (per io_context)
  }
  log::info("media.shard", {{"calls_of", index_}, {"relayed_on", host}});
}

void Shard::publish_binding(registrar::BindingUpdate update) {
  // The owner's change reaches every shard's copy by message, in the order it was made.
  auto shared = std::make_shared<const registrar::BindingUpdate>(std::move(update));
  for (std::uint16_t i = 0; i < shards_.size(); ++i) {
    if (i == index_) {
      bindings_.apply(*shared);
    } else {
      shards_.invoke_on(i, [shared](Shard& s) { s.apply_binding(*shared); });
    }
  }
}

void Shard::apply_binding(const registrar::BindingUpdate& update) { bindings_.apply(update); }

void Shard::connection_closed(const transport::ConnectionRef& ref) {
  if (registrar_) {
    registrar_->on_connection_closed(ref);
  }
}

void Shard::apply_ban(const asio::ip::address& source, TimePoint until) {
  front_door_->source_guard().apply_ban(source, until);
}

void Shard::deliver(transport::Inbound&& in) { front_door_->deliver(std::move(in)); }

void Shard::open_media_io() {
  const std::string& wanted = policy_->server.media_io;
  std::string why;
  if (wanted != "epoll") {
    uring_ = media::UringEngine::create(io_, why);
    if (uring_) {
      log::info("media.io", {{"method", "io_uring"}});
      return;
    }
    if (wanted == "io_uring") {
      throw std::runtime_error("server.media_io is io_uring, but io_uring cannot be used here: " +
                               why);
    }
    log::warn("media.io",
              {{"method", "epoll"}, {"reason", "io_uring unavailable"}, {"detail", why}});
  }
  std::string set_why;
  media_epoll_ = media::EpollSet::create(io_, set_why);
  if (media_epoll_) {
    log::info("media.io",
              {{"method", "epoll"}, {"reason", wanted == "epoll" ? "policy" : "fallback"}});
    return;
  }
  // Still correct, only dearer: every socket then waits through asio on its own.
  log::warn("media.io", {{"method", "epoll"}, {"set", "unavailable"}, {"detail", set_why}});
}

void Shard::start() {
  bind();
  int cpu = -1;  // none: the scheduler places the thread
  if (policy_->server.pin_shards) {
    const std::vector<int> cpus = usable_cpus();
    if (!cpus.empty()) {
      cpu = cpus[index_ % cpus.size()];
    }
  }
  thread_ = std::thread([this, cpu] {
    log::set_thread_shard(index_);
    name_current_thread("portico-shard" + std::to_string(index_));
    std::string why;
    if (cpu >= 0 && !pin_current_thread(cpu, why)) {
      log::warn("shard.cpu", {{"cpu", cpu}, {"pinned", "false"}, {"reason", why}});
    }
    log::info("shard.cpu",
              {{"cpus", current_thread_cpus()}, {"pinned", cpu >= 0 && why.empty() ? "true" : "false"}});
    auto guard = asio::make_work_guard(io_);
    for (;;) {
      try {
        // With io_uring the thread sleeps in the ring (media, asio's readiness, posts alike).
        if (uring_) {
          uring_->run();
        } else {
          io_.run();
        }
        break;
      } catch (const std::exception& e) {
        // A bug detector, not a control path: log it and keep the shard serving.
        log::error("shard.exception", {{"what", e.what()}});
      }
    }
  });
}

void Shard::stop() {
  post([this] {
    traces_->close();  // files of calls still lingering are closed and kept
    transport_->close();
    io_.stop();
  });
  if (thread_.joinable()) {
    thread_.join();
  }
  // The layer's users first, then the layer (the front door), then what they all used.
  b2bua_.reset();
  trunk_registrations_.reset();
  registrar_.reset();
  front_door_.reset();
  media_factory_.reset();
  media_ports_.reset();
  // uring_ stays until the destructor: other shards, still running, may ring its doorbell.
  media_epoll_.reset();
  traces_.reset();
  hep_.reset();
  transport_.reset();
  timers_.reset();
}

void Shard::wake() {
  if (uring_) {
    uring_->wake();  // a thread sleeping in the ring does not see asio's queue
  }
}

void Shard::set_policy(std::shared_ptr<const policy::PolicySnapshot> policy) {
  policy_ = std::move(policy);
  media_ports_->update(*policy_);  // new calls take ports from the new ranges
  front_door_->set_policy(policy_);
  if (trunk_registrations_) {
    trunk_registrations_->apply(*policy_);  // a changed `register` block re-registers
  }
}

void Shard::set_tls(std::shared_ptr<const transport::TlsContexts> tls) {
  tls_ = std::move(tls);
  if (transport_) {
    transport_->set_tls(tls_);
  }
}

std::string Shard::prepare_listeners(const policy::PolicySnapshot& next) {
  return transport_->prepare_listeners(listeners_of(next));
}

std::pair<std::size_t, std::size_t> Shard::apply_policy(
    std::shared_ptr<const policy::PolicySnapshot> next) {
  auto changed = transport_->commit_listeners(listeners_of(*next));
  set_policy(std::move(next));
  return changed;
}

void Shard::log_status() {
  const auto& ts = transport_->stats();
  const auto& bs = b2bua_->stats();
  const auto& layer = front_door_->layer();
  const auto& xs = layer.stats();
  const auto& in = front_door_->stats();
  log::info("shard.status", {{"calls", b2bua_->call_count()},
                             {"server_txns", layer.server_count()},
                             {"client_txns", layer.client_count()},
                             {"connections", transport_->connection_count()},
                             {"bindings", registrar_->binding_count()},
                             {"media_streams", media_factory_->stats().streams_active},
                             {"timers", timers_->armed()},
                             {"messages_in", in.messages},
                             {"unparseable", in.unparseable},
                             {"invalid", in.invalid},
                             {"answered_400", in.answered_400},
                             {"oversize", ts.oversize_dropped},
                             {"framing_errors", ts.framing_errors},
                             {"calls_attempted", bs.calls_attempted},
                             {"calls_answered", bs.calls_answered},
                             {"calls_failed", bs.calls_failed},
                             {"calls_rejected", bs.calls_rejected},
                             {"failovers", bs.failovers},
                             {"retransmissions", xs.retransmissions_sent},
                             {"txn_timeouts", xs.client_timeouts + xs.server_timeouts},
                             {"policy", policy_->hash.substr(0, 12)}});
}

ShardSnapshot Shard::snapshot() const {
  ShardSnapshot s;
  const auto& layer = front_door_->layer();
  s.inbound = front_door_->stats();
  s.transport = transport_->stats();
  s.transactions = layer.stats();
  s.calls = b2bua_->stats();
  s.registration = registrar_->stats();
  if (trunk_registrations_) {
    s.trunk_registration = trunk_registrations_->stats();
  }
  s.auth = digest_.stats();
  s.calls_active = b2bua_->call_count();
  s.active_by_route = b2bua_->active_calls();
  s.server_txns = layer.server_count();
  s.client_txns = layer.client_count();
  s.connections = transport_->connection_count();
  s.messages = front_door_->message_counts();
  s.media = media_factory_->stats();
  if (hep_) {
    s.hep = hep_->stats();
  }
  s.traces_active = traces_->active_traces();
  s.edge = front_door_->source_guard().stats();
  s.log_suppressed = log::suppressed_lines();  // this thread's: the shard's own lines
  return s;
}

void Shard::end_all_calls(const std::string& reason) { b2bua_->end_all_calls(reason); }

void Shard::unregister_trunks() {
  if (trunk_registrations_) {
    trunk_registrations_->unregister_all();
  }
}

void Shard::drain() { b2bua_->set_draining(true); }

std::size_t Shard::call_count() const { return b2bua_ ? b2bua_->call_count() : 0; }

}  // namespace portico::runtime
