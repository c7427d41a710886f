// ShardTransport: composition of one shard's listeners and connections, and send routing.
//
// send() for streams follows RFC 3261 §18.2.2 / §18.1.1: answer on the connection the request
// came in on when it is still open; otherwise reuse an open connection to the same peer; only
// then open a new one (from the realm's listener address). Connections belong to one shard, so
// a send for another shard's connection is posted there (docs/style.md, "Threading").

#include "portico/transport/shard_transport.hpp"

#include <algorithm>
#include <system_error>

#include "portico/common/log.hpp"
#include "shard_state.hpp"
#include "tcp_connection.hpp"
#include "tcp_listener.hpp"
#include "tls_contexts.hpp"
#include "udp_listener.hpp"

namespace portico::transport {

struct ShardTransport::Impl {
  Impl(std::uint16_t shard, asio::io_context& io, TimerService& timers, TransportLimits limits,
       InboundSink sink, PostToShard post)
      : state(shard, io, timers, limits, std::move(sink)), post_to_shard(std::move(post)) {}

  void add_listener(ListenerConfig config);
  /// Binds one listener into `prepared_*` (reload step 1); throws std::system_error.
  void prepare_listener(const ListenerConfig& config);
  bool has_socket(const ListenerConfig& config) const;
  template <class Listener>
  std::size_t retire_unwanted(std::vector<std::unique_ptr<Listener>>& live,
                              std::vector<std::unique_ptr<Listener>>& retired,
                              const std::vector<ListenerConfig>& wanted);
  template <class Listener>
  static Listener* find(const std::vector<std::unique_ptr<Listener>>& listeners,
                        const std::string& realm, bool v6, Protocol protocol);
  bool send_udp(const Destination& dst, std::string data, SendFailure on_failure);
  bool send_stream(const Destination& dst, std::string data, SendFailure on_failure);
  void post_to_owner(const Destination& dst, std::string data);
  bool open_connection(const Destination& dst, std::string data, SendFailure on_failure);

  // Declared first so it is destroyed last: listeners and connections refer to it.
  ShardState state;
  PostToShard post_to_shard;
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<TcpListener>> tcp;  // tcp:// and tls:// listeners
  // Reload: bound but not yet receiving (step 1), and closed ones kept until one reload later,
  // because their cancelled receive/accept handlers still refer to them.
  std::vector<std::unique_ptr<UdpListener>> prepared_udp;
  std::vector<std::unique_ptr<TcpListener>> prepared_tcp;
  std::vector<std::unique_ptr<UdpListener>> retired_udp;
  std::vector<std::unique_ptr<TcpListener>> retired_tcp;
};

bool same_socket(const ListenerConfig& a, const ListenerConfig& b) {
  return a.realm == b.realm && a.protocol == b.protocol && a.bind == b.bind;
}

void ShardTransport::Impl::add_listener(ListenerConfig config) {
  switch (config.protocol) {
    case Protocol::Udp:
      udp.push_back(std::make_unique<UdpListener>(state, std::move(config)));
      return;
    case Protocol::Tcp:
    case Protocol::Tls:
      tcp.push_back(std::make_unique<TcpListener>(state, std::move(config)));
      return;
  }
}

void ShardTransport::Impl::prepare_listener(const ListenerConfig& config) {
  if (config.protocol == Protocol::Udp) {
    prepared_udp.push_back(std::make_unique<UdpListener>(state, config));
  } else {
    prepared_tcp.push_back(std::make_unique<TcpListener>(state, config));
  }
}

bool ShardTransport::Impl::has_socket(const ListenerConfig& config) const {
  auto match = [&config](const auto& l) { return same_socket(l->config(), config); };
  return std::any_of(udp.begin(), udp.end(), match) || std::any_of(tcp.begin(), tcp.end(), match);
}

template <class Listener>
std::size_t ShardTransport::Impl::retire_unwanted(std::vector<std::unique_ptr<Listener>>& live,
                                                  std::vector<std::unique_ptr<Listener>>& retired,
                                                  const std::vector<ListenerConfig>& wanted) {
  retired.clear();  // closed one reload ago: their cancelled handlers have long run
  std::size_t closed = 0;
  for (auto it = live.begin(); it != live.end();) {
    auto kept = std::find_if(wanted.begin(), wanted.end(),
                             [&it](const ListenerConfig& c) { return same_socket((*it)->config(), c); });
    if (kept != wanted.end()) {
      (*it)->update_advertised(*kept);
      ++it;
      continue;
    }
    (*it)->close();
    retired.push_back(std::move(*it));
    it = live.erase(it);
    ++closed;
  }
  return closed;
}

template <class Listener>
Listener* ShardTransport::Impl::find(const std::vector<std::unique_ptr<Listener>>& listeners,
                                     const std::string& realm, bool v6, Protocol protocol) {
  for (const auto& l : listeners) {
    if (l->config().realm == realm && l->is_v6() == v6 && l->config().protocol == protocol) {
      return l.get();
    }
  }
  return nullptr;
}

bool ShardTransport::Impl::send_udp(const Destination& dst, std::string data,
                                    SendFailure on_failure) {
  UdpListener* l = find(udp, dst.realm, dst.remote.address.is_v6(), Protocol::Udp);
  if (l == nullptr) {
    return false;
  }
  l->send_to(dst.remote, data, std::move(on_failure));
  return true;
}

bool ShardTransport::Impl::send_stream(const Destination& dst, std::string data,
                                       SendFailure on_failure) {
  const ConnectionRef& ref = dst.connection;
  if (ref.valid() && ref.shard != state.shard() && post_to_shard) {
    post_to_owner(dst, std::move(data));
    return true;
  }
  TcpConnection* c = nullptr;
  if (ref.valid() && ref.shard == state.shard()) {
    c = state.find_connection(ref.id);
  }
  if (c == nullptr) {
    c = state.find_reusable(dst.realm, dst.remote, dst.protocol);
  }
  if (c != nullptr) {
    c->send(std::move(data), std::move(on_failure));
    return true;
  }
  return open_connection(dst, std::move(data), std::move(on_failure));
}

// The owning shard sends; SendFailure callbacks are bound to the caller's thread and cannot
// travel, so a failure over there is counted and logged there only.
void ShardTransport::Impl::post_to_owner(const Destination& dst, std::string data) {
  std::uint16_t from = state.shard();
  auto task = [dst, data = std::move(data), from](ShardTransport& t) mutable {
    auto report = [dst, from] {
      log::warn("transport.forwarded_send_failed",
                {{"realm", dst.realm}, {"remote", dst.remote.to_string()}, {"from_shard", from},
                 {"connection", dst.connection.id}});
    };
    if (!t.send(dst, std::move(data), report)) {
      report();
    }
  };
  post_to_shard(dst.connection.shard, std::move(task));
}

bool ShardTransport::Impl::open_connection(const Destination& dst, std::string data,
                                           SendFailure on_failure) {
  TcpListener* l = find(tcp, dst.realm, dst.remote.address.is_v6(), dst.protocol);
  if (l == nullptr || state.closed()) {
    return false;
  }
  TcpConnection::Tls tls;
  if (dst.protocol == Protocol::Tls) {
    // One context per TLS trunk (SNI, verification, client certificate): a destination that
    // is no TLS trunk of the realm cannot be reached over TLS.
    tls.owner = state.tls();
    tls.context = tls.owner ? tls.owner->client(dst.realm, dst.remote) : nullptr;
    if (tls.context == nullptr) {
      if (state.should_log()) {
        log::warn("transport.tls_no_context",
                  {{"realm", dst.realm}, {"remote", dst.remote.to_string()}});
      }
      return false;
    }
  }
  std::uint64_t id = state.next_connection_id();
  auto fresh = std::make_unique<TcpConnection>(state, id, dst.realm, l->config().bind, dst.remote,
                                               asio::ip::tcp::socket(state.io()),
                                               /*outbound=*/true, std::move(tls));
  TcpConnection& c = state.add_connection(std::move(fresh));
  c.send(std::move(data), std::move(on_failure));  // queued until connected
  if (std::error_code ec = c.start_connect(l->config().bind.address)) {
    if (state.should_log()) {
      log::warn("transport.connect_error", {{"realm", dst.realm},
                                            {"remote", dst.remote.to_string()},
                                            {"error", ec.message()}});
    }
    c.close(TcpConnection::CloseReason::ConnectFailed);  // posts on_failure
  }
  return true;
}

ShardTransport::ShardTransport(std::uint16_t shard, asio::io_context& io, TimerService& timers,
                               std::vector<ListenerConfig> listeners, TransportLimits limits,
                               InboundSink sink, PostToShard post_to_shard)
    : impl_(std::make_unique<Impl>(shard, io, timers, limits, std::move(sink),
                                   std::move(post_to_shard))) {
  // Bind everything before any receive starts, so a throw leaves no operation pending.
  for (ListenerConfig& config : listeners) {
    impl_->add_listener(std::move(config));
  }
  for (auto& l : impl_->udp) {
    l->start();
  }
  for (auto& l : impl_->tcp) {
    l->start();
  }
}

ShardTransport::~ShardTransport() { close(); }

bool ShardTransport::send(const Destination& dst, std::string data, SendFailure on_failure) {
  if (impl_->state.closed()) {
    return false;
  }
  if (dst.protocol == Protocol::Udp) {
    return impl_->send_udp(dst, std::move(data), std::move(on_failure));
  }
  return impl_->send_stream(dst, std::move(data), std::move(on_failure));
}

bool ShardTransport::local_address(const std::string& realm, Protocol protocol, bool ipv6,
                                   std::string& host, std::uint16_t& port) const {
  const ListenerConfig* config = nullptr;
  if (protocol == Protocol::Udp) {
    if (const UdpListener* l = Impl::find(impl_->udp, realm, ipv6, protocol)) {
      config = &l->config();
    }
  } else if (const TcpListener* l = Impl::find(impl_->tcp, realm, ipv6, protocol)) {
    config = &l->config();
  }
  if (config == nullptr) {
    return false;
  }
  // Plain address (IPv6 without brackets): callers add brackets where the grammar needs them.
  host = config->advertised_host.empty() ? config->bind.address.to_string()
                                         : config->advertised_host;
  port = config->advertised_port != 0 ? config->advertised_port : config->bind.port;
  return true;
}

const TransportStats& ShardTransport::stats() const { return impl_->state.stats(); }

bool ShardTransport::sending_endpoint(const Destination& dst, Endpoint& local) const {
  const bool v6 = dst.remote.address.is_v6();
  if (dst.protocol == Protocol::Udp) {
    const UdpListener* l = Impl::find(impl_->udp, dst.realm, v6, Protocol::Udp);
    if (l != nullptr) {
      local = l->config().bind;
    }
    return l != nullptr;
  }
  const ConnectionRef& ref = dst.connection;
  if (ref.valid() && ref.shard != impl_->state.shard()) {
    // Another shard's connection: its socket is not ours to ask; its listener is the best
    // this shard can say (the accepted side of a connection uses the listener's port anyway).
    const TcpListener* l = Impl::find(impl_->tcp, dst.realm, v6, dst.protocol);
    if (l != nullptr) {
      local = l->config().bind;
    }
    return l != nullptr;
  }
  const TcpConnection* c = ref.valid() ? impl_->state.find_connection(ref.id) : nullptr;
  if (c == nullptr) {
    c = impl_->state.find_reusable(dst.realm, dst.remote, dst.protocol);
  }
  if (c != nullptr) {
    local = c->local();
  }
  return c != nullptr;
}

std::shared_ptr<const TlsInfo> ShardTransport::tls_info(const Destination& dst) const {
  if (dst.protocol != Protocol::Tls) {
    return nullptr;
  }
  const ConnectionRef& ref = dst.connection;
  const TcpConnection* c = ref.valid() && ref.shard == impl_->state.shard()
                               ? impl_->state.find_connection(ref.id)
                               : nullptr;
  if (c == nullptr) {
    c = impl_->state.find_reusable(dst.realm, dst.remote, dst.protocol);
  }
  return c != nullptr ? c->tls_info() : nullptr;
}

void ShardTransport::close() {
  abort_listeners();
  for (auto& l : impl_->udp) {
    l->close();
  }
  for (auto& l : impl_->tcp) {
    l->close();
  }
  impl_->state.close();
}

std::string ShardTransport::prepare_listeners(const std::vector<ListenerConfig>& wanted) {
  abort_listeners();
  for (const ListenerConfig& config : wanted) {
    if (impl_->has_socket(config)) {
      continue;
    }
    try {
      impl_->prepare_listener(config);
    } catch (const std::system_error& e) {
      abort_listeners();  // never started: no handler refers to them yet
      return e.what();
    }
  }
  return {};
}

std::pair<std::size_t, std::size_t> ShardTransport::commit_listeners(
    const std::vector<ListenerConfig>& wanted) {
  std::size_t closed = impl_->retire_unwanted(impl_->udp, impl_->retired_udp, wanted) +
                       impl_->retire_unwanted(impl_->tcp, impl_->retired_tcp, wanted);
  std::size_t opened = impl_->prepared_udp.size() + impl_->prepared_tcp.size();
  for (auto& l : impl_->prepared_udp) {
    l->start();
    impl_->udp.push_back(std::move(l));
  }
  for (auto& l : impl_->prepared_tcp) {
    l->start();
    impl_->tcp.push_back(std::move(l));
  }
  impl_->prepared_udp.clear();
  impl_->prepared_tcp.clear();
  return {opened, closed};
}

void ShardTransport::abort_listeners() {
  impl_->prepared_udp.clear();
  impl_->prepared_tcp.clear();
}

void ShardTransport::on_connection_closed(std::function<void(const ConnectionRef&)> handler) {
  impl_->state.set_closed_handler(std::move(handler));
}

void ShardTransport::set_tls(std::shared_ptr<const TlsContexts> contexts) {
  impl_->state.set_tls(std::move(contexts));
}

std::size_t ShardTransport::connection_count() const { return impl_->state.connection_count(); }

}  // namespace portico::transport
