// ShardTransport: composition of one shard's listeners and connections, and send routing.
//
// send() for streams follows RFC 3261 §18.2.2 / §18.1.1: answer on the connection the request
// came in on when it is still open; otherwise reuse an open connection to the same peer; only
// then open a new one (from the realm's listener address). Connections belong to one shard, so
// a send for another shard's connection is posted there (ARCHITECTURE §2.3).

#include "portico/transport/shard_transport.hpp"

#include <system_error>

#include "portico/common/log.hpp"
#include "shard_state.hpp"
#include "tcp_connection.hpp"
#include "tcp_listener.hpp"
#include "udp_listener.hpp"

namespace portico::transport {

struct ShardTransport::Impl {
  Impl(std::uint16_t shard, asio::io_context& io, TimerService& timers, TransportLimits limits,
       InboundSink sink, PostToShard post)
      : state(shard, io, timers, limits, std::move(sink)), post_to_shard(std::move(post)) {}

  void add_listener(ListenerConfig config);
  template <class Listener>
  static Listener* find(const std::vector<std::unique_ptr<Listener>>& listeners,
                        const std::string& realm, bool v6);
  bool send_udp(const Destination& dst, std::string data, SendFailure on_failure);
  bool send_stream(const Destination& dst, std::string data, SendFailure on_failure);
  void post_to_owner(const Destination& dst, std::string data);
  bool open_connection(const Destination& dst, std::string data, SendFailure on_failure);

  // Declared first so it is destroyed last: listeners and connections refer to it.
  ShardState state;
  PostToShard post_to_shard;
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<TcpListener>> tcp;
};

void ShardTransport::Impl::add_listener(ListenerConfig config) {
  switch (config.protocol) {
    case Protocol::Udp:
      udp.push_back(std::make_unique<UdpListener>(state, std::move(config)));
      return;
    case Protocol::Tcp:
      tcp.push_back(std::make_unique<TcpListener>(state, std::move(config)));
      return;
    case Protocol::Tls:
      break;
  }
  // TLS listeners come with the OpenSSL adapter; refusing them loudly at start-up beats
  // silently serving a realm without the transport its policy asked for.
  throw std::system_error(std::make_error_code(std::errc::protocol_not_supported),
                          "tls listener " + config.bind.to_string() + " (realm " + config.realm +
                              "): TLS transport not available yet");
}

template <class Listener>
Listener* ShardTransport::Impl::find(const std::vector<std::unique_ptr<Listener>>& listeners,
                                     const std::string& realm, bool v6) {
  for (const auto& l : listeners) {
    if (l->config().realm == realm && l->is_v6() == v6) {
      return l.get();
    }
  }
  return nullptr;
}

bool ShardTransport::Impl::send_udp(const Destination& dst, std::string data,
                                    SendFailure on_failure) {
  UdpListener* l = find(udp, dst.realm, dst.remote.address.is_v6());
  if (l == nullptr) {
    return false;
  }
  l->send_to(dst.remote, data, std::move(on_failure));
  return true;
}

bool ShardTransport::Impl::send_stream(const Destination& dst, std::string data,
                                       SendFailure on_failure) {
  if (dst.protocol != Protocol::Tcp) {
    return false;  // no TLS listeners yet (see add_listener)
  }
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
    c = state.find_reusable(dst.realm, dst.remote);
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
  TcpListener* l = find(tcp, dst.realm, dst.remote.address.is_v6());
  if (l == nullptr || state.closed()) {
    return false;
  }
  std::uint64_t id = state.next_connection_id();
  auto fresh = std::make_unique<TcpConnection>(state, id, dst.realm, l->config().bind, dst.remote,
                                               asio::ip::tcp::socket(state.io()),
                                               /*outbound=*/true);
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
    if (const UdpListener* l = Impl::find(impl_->udp, realm, ipv6)) {
      config = &l->config();
    }
  } else if (protocol == Protocol::Tcp) {
    if (const TcpListener* l = Impl::find(impl_->tcp, realm, ipv6)) {
      config = &l->config();
    }
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

void ShardTransport::close() {
  for (auto& l : impl_->udp) {
    l->close();
  }
  for (auto& l : impl_->tcp) {
    l->close();
  }
  impl_->state.close();
}

std::size_t ShardTransport::connection_count() const { return impl_->state.connection_count(); }

}  // namespace portico::transport
