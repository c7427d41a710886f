#include "portico/runtime/shard.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <stdexcept>

#include "portico/common/log.hpp"
#include "portico/registrar/aor.hpp"
#include "portico/sip/message.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/status_map.hpp"
#include "portico/runtime/cpu_affinity.hpp"
#include "portico/runtime/server.hpp"
#include "message_counts.hpp"
#include "tracing_transport.hpp"

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

}  // namespace

Shard::Shard(std::uint16_t index, std::vector<std::unique_ptr<Shard>>& shards,
             std::shared_ptr<const policy::PolicySnapshot> policy,
             b2bua::TrunkUsage& trunk_usage, std::string version, b2bua::CdrSink cdr_sink,
             trace::TraceWriter* trace_writer)
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
  auto post_to = [this](std::uint16_t shard, std::function<void(transport::ShardTransport&)> fn) {
    if (shard >= shards_.size()) {
      return;
    }
    Shard* s = shards_[shard].get();
    s->post([s, fn = std::move(fn)] { fn(s->transport()); });
  };
  transport_ = std::make_unique<transport::ShardTransport>(
      index_, io_, *timers_, listeners_of(*policy_), limits,
      [this](transport::Inbound&& in) { dispatch(std::move(in)); }, post_to);
  const auto& tc = policy_->traces;
  if (tc.hep) {
    hep_ = std::make_unique<trace::HepSender>(io_, tc.hep_address, tc.hep_id, tc.hep_password);
  }
  traces_ = std::make_unique<trace::CallTraces>(index_, *timers_, trace_writer_, hep_.get());
  traced_ =
      std::make_unique<TracingTransport>(*transport_, policy_, message_counts_, *traces_);
  open_media_io();
  media_ports_ = std::make_unique<b2bua::MediaPorts>(io_, *timers_, index_,
                                                     static_cast<std::uint16_t>(shards_.size()));
  media_ports_->update(*policy_);
  media_factory_ =
      std::make_unique<b2bua::AnchoredMediaFactory>(io_, *timers_, *media_ports_, uring_.get(),
                                                     media_epoll_.get());
  // Shards bind in index order, so the media shard (a lower index) is ready.
  std::uint16_t host = index_ % media_shard_count(*policy_);
  Shard& h = *shards_[host];
  if (host != index_ && (h.uring_ || h.media_epoll_)) {
    media_factory_->relay_on(h.io_, *h.timers_, h.uring_.get(), h.media_epoll_.get());
  } else {
    host = index_;  // its own, also when the media shard waits through asio (per io_context)
  }
  log::info("media.shard", {{"calls_of", index_}, {"relayed_on", host}});
  b2bua_ = std::make_unique<b2bua::B2bua>(
      index_, static_cast<std::uint16_t>(shards_.size()), *timers_, *traced_, trunk_usage_,
      *media_factory_, [this] { return policy_; }, version_);
  b2bua_->set_cdr_sink(cdr_sink_);
  b2bua_->set_call_traces(traces_.get());
  registrar_ = std::make_unique<registrar::Registrar>(
      index_, static_cast<std::uint16_t>(shards_.size()), *timers_, *traced_, b2bua_->layer(),
      [this] { return policy_; }, [this] { return b2bua::make_call_id(index_); },
      [this](registrar::BindingUpdate u) { publish_binding(std::move(u)); }, version_);
  b2bua_->set_registrar(registrar_.get(), &bindings_);
  // A connection lives on this shard; the bindings over it may be owned by any shard.
  transport_->on_connection_closed([this](const transport::ConnectionRef& ref) {
    for (auto& other : shards_) {
      Shard* s = other.get();
      s->post([s, ref] {
        if (s->registrar_) {
          s->registrar_->on_connection_closed(ref);
        }
      });
    }
  });
}

void Shard::publish_binding(registrar::BindingUpdate update) {
  // The owner's change reaches every shard's copy by message, in the order it was made.
  auto shared = std::make_shared<const registrar::BindingUpdate>(std::move(update));
  for (auto& other : shards_) {
    Shard* s = other.get();
    if (s == this) {
      bindings_.apply(*shared);
    } else {
      s->post([s, shared] { s->bindings_.apply(*shared); });
    }
  }
}

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
  b2bua_.reset();
  registrar_.reset();
  media_factory_.reset();
  media_ports_.reset();
  // uring_ stays until the destructor: other shards, still running, may ring its doorbell.
  media_epoll_.reset();
  traced_.reset();
  traces_.reset();
  hep_.reset();
  transport_.reset();
  timers_.reset();
}

void Shard::post(std::function<void()> fn) {
  asio::post(io_, std::move(fn));
  if (uring_) {
    uring_->wake();  // a thread sleeping in the ring does not see asio's queue
  }
}

void Shard::dispatch(transport::Inbound&& in) {
  // Every message of a call goes to the shard that owns the call, found from the Call-ID
  // alone (Portico's own Call-IDs name their shard), so a call never needs a lock.
  std::string_view cid = sip::find_call_id(in.data);
  std::uint16_t owner =
      cid.empty() ? index_
                  : b2bua::shard_for_call_id(cid, static_cast<std::uint16_t>(shards_.size()));
  // A REGISTER the policy takes goes to the shard that owns its AOR's binding, whatever its
  // Call-ID (any other REGISTER is answered 405 wherever its Call-ID lands).
  const auto& reg = policy_->registration;
  if (reg.enabled && in.flow.realm == reg.realm) {
    if (auto aor = registrar::register_aor(in.data)) {
      owner = registrar::shard_for_aor(*aor, static_cast<std::uint16_t>(shards_.size()));
    }
  }
  if (owner == index_) {
    deliver(std::move(in));
    return;
  }
  Shard* s = shards_[owner].get();
  auto payload = std::make_shared<transport::Inbound>(std::move(in));
  s->post([s, payload] { s->deliver(std::move(*payload)); });
}

void Shard::deliver(transport::Inbound&& in) {
  ++stats_.messages;
  const auto& flow = in.flow;
  if (policy_->server.trace) {
    trace_message("in", flow.realm, flow.protocol, flow.remote, in.data);
  }
  // Shown to the call traces before it is handled, so the file keeps the wire order; what the
  // handling sends is batched until the end of the delivery.
  struct DeliveryEnd {
    trace::CallTraces& traces;
    ~DeliveryEnd() { traces.end_delivery(); }
  } delivery_end{*traces_};
  if (traces_->active()) {
    traces_->inbound(sip::find_call_id(in.data), flow, in.data);
  }
  auto parsed = sip::Message::parse(in.data);
  if (!parsed.ok()) {
    ++stats_.unparseable;
    std::string reason = parsed.error().reason;
    auto answer = sip::reject_unparseable(in.data, reason);
    log::warn("sip.unparseable", {{"reason", reason}, {"detail", parsed.error().detail},
                                  {"action", answer ? answer->substr(8, 3) : "drop"},
                                  {"realm", flow.realm},
                                  {"transport", transport::to_string(flow.protocol)},
                                  {"remote", flow.remote.to_string()}, {"bytes", in.data.size()}});
    if (answer) {
      ++stats_.answered_400;
      // Straight back to where it came from: the Via could not be trusted to say otherwise.
      traced_->send(transport::Destination{flow.realm, flow.protocol, flow.remote, flow.connection},
                    std::move(*answer));
    } else {
      ++stats_.dropped;
    }
    return;
  }
  sip::Message msg = std::move(parsed.value());
  count_message(message_counts_, flow.realm, "in",
                method_label(msg.is_request() ? msg.method() : msg.cseq_method()), msg.status());
  if (auto err = msg.validate()) {
    ++stats_.invalid;
    bool answer = msg.is_request() && msg.method() != "ACK" && !msg.vias().empty();
    int status = sip::rejection_status(err->reason);
    log::warn("sip.invalid", {{"reason", err->reason}, {"detail", err->detail},
                              {"action", answer ? std::to_string(status) : "drop"},
                              {"realm", flow.realm}, {"remote", flow.remote.to_string()}});
    if (answer) {
      ++stats_.answered_400;
      sip::ResponseParts parts;
      parts.status = status;
      parts.reason = status == 400 ? err->detail : "";
      b2bua_->layer().respond_stateless(msg, flow, parts);
    } else {
      ++stats_.dropped;
    }
    return;
  }
  b2bua_->layer().receive(std::move(msg), flow);
}

void Shard::set_policy(std::shared_ptr<const policy::PolicySnapshot> policy) {
  policy_ = std::move(policy);
  media_ports_->update(*policy_);  // new calls take ports from the new ranges
  const auto& t = policy_->timers;
  b2bua_->layer().set_config(sip::TimerConfig{t.t1, t.t2, t.t4});
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
  const auto& xs = b2bua_->layer().stats();
  log::info("shard.status",
            {{"calls", b2bua_->call_count()},
             {"server_txns", b2bua_->layer().server_count()},
             {"client_txns", b2bua_->layer().client_count()},
             {"connections", transport_->connection_count()},
             {"bindings", registrar_->binding_count()},
             {"media_streams", media_factory_->stats().streams_active},
             {"timers", timers_->armed()},
             {"messages_in", stats_.messages},
             {"unparseable", stats_.unparseable},
             {"invalid", stats_.invalid},
             {"answered_400", stats_.answered_400},
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
  s.inbound = stats_;
  s.transport = transport_->stats();
  s.transactions = b2bua_->layer().stats();
  s.calls = b2bua_->stats();
  s.registration = registrar_->stats();
  s.calls_active = b2bua_->call_count();
  s.active_by_route = b2bua_->active_calls();
  s.server_txns = b2bua_->layer().server_count();
  s.client_txns = b2bua_->layer().client_count();
  s.connections = transport_->connection_count();
  s.messages = message_counts_;
  s.media = media_factory_->stats();
  if (hep_) {
    s.hep = hep_->stats();
  }
  s.traces_active = traces_->active_traces();
  return s;
}

void Shard::end_all_calls(const std::string& reason) { b2bua_->end_all_calls(reason); }

void Shard::drain() { b2bua_->set_draining(true); }

std::size_t Shard::call_count() const { return b2bua_ ? b2bua_->call_count() : 0; }

}  // namespace portico::runtime
