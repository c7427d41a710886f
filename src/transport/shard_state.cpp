// The connection table and the shard-wide helpers of the transport.

#include "shard_state.hpp"

#include <algorithm>

#include <asio/post.hpp>

#include <string_view>

#include "tcp_connection.hpp"

namespace portico::transport {
namespace {

// One episode per protection for the whole process (every shard's transport shares it), so a
// cap logs one `transport.refusing` line when it starts refusing, however many shards see it.
log::RefusalEpisodes& episodes(std::string_view reason) {
  static log::RefusalEpisodes max_connections;
  static log::RefusalEpisodes per_source;
  static log::RefusalEpisodes deadline;
  static log::RefusalEpisodes output_queue;
  if (reason == "max_connections") {
    return max_connections;
  }
  if (reason == "max_connections_per_source") {
    return per_source;
  }
  return reason == "message_deadline" ? deadline : output_queue;
}

}  // namespace

ShardState::ShardState(std::uint16_t shard, asio::io_context& io, TimerService& timers,
                       TransportLimits limits, InboundSink sink)
    : shard_(shard), io_(io), timers_(timers), limits_(limits), sink_(std::move(sink)) {}

ShardState::~ShardState() {
  life_.reset();  // late handlers see an expired guard from here on
  close();
}

void ShardState::deliver(std::string data, Flow flow) {
  if (sink_) {
    sink_(Inbound{std::move(data), std::move(flow), timers_.now()});
  }
}

void ShardState::post_closed(std::uint64_t id) {
  if (!closed_handler_) {
    return;
  }
  asio::post(io_, [this, guard = guard(), ref = ConnectionRef{shard_, id}] {
    if (!guard.expired() && closed_handler_) {
      closed_handler_(ref);
    }
  });
}

void ShardState::post_failures(std::vector<SendFailure> failures) {
  if (failures.empty()) {
    return;
  }
  asio::post(io_, [guard = guard(), failures = std::move(failures)] {
    if (guard.expired()) {
      return;
    }
    for (const SendFailure& f : failures) {
      f();
    }
  });
}

const char* ShardState::refuse_accepted(const asio::ip::address& remote) {
  std::size_t limit = 0;
  const char* reason = nullptr;
  if (accepted_ >= limits_.max_connections) {
    ++stats_.refused_max_connections;
    limit = limits_.max_connections;
    reason = "max_connections";
  } else if (auto it = accepted_by_address_.find(remote);
             it != accepted_by_address_.end() && it->second >= limits_.max_connections_per_source) {
    ++stats_.refused_max_per_source;
    limit = limits_.max_connections_per_source;
    reason = "max_connections_per_source";
  }
  if (reason != nullptr && episodes(reason).refuse(timers_.now())) {
    log::warn("transport.refusing", {{"reason", reason},
                                     {"remote", remote.to_string()},
                                     {"limit", limit},
                                     {"open", accepted_}});
  }
  return reason;
}

void ShardState::note_protective_close(const char* what, const Endpoint& remote) {
  if (episodes(what).refuse(timers_.now())) {
    log::warn("transport.refusing", {{"reason", what}, {"remote", remote.to_string()}});
  }
}

TcpConnection& ShardState::add_connection(TcpConnectionPtr connection) {
  TcpConnection& c = *connection;
  if (!c.outbound()) {
    ++accepted_;
    ++accepted_by_address_[c.remote().address];
  }
  by_remote_.emplace(c.remote(), c.id());
  connections_.emplace(c.id(), std::move(connection));
  ++stats_.connections_opened;
  return c;
}

TcpConnection* ShardState::find_connection(std::uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

TcpConnection* ShardState::find_reusable(const std::string& realm, const Endpoint& remote,
                                         Protocol protocol) {
  auto [first, last] = by_remote_.equal_range(remote);
  for (auto it = first; it != last; ++it) {
    TcpConnection* c = find_connection(it->second);
    if (c != nullptr && c->is_open() && c->realm() == realm && c->protocol() == protocol) {
      return c;
    }
  }
  return nullptr;
}

void ShardState::note_tls_failure(const std::string& realm, const Endpoint& remote, bool outbound,
                                  TlsFailure reason, const std::string& detail) {
  switch (reason) {
    case TlsFailure::Expired:
      ++stats_.tls_failed_expired;
      break;
    case TlsFailure::UnknownCa:
      ++stats_.tls_failed_unknown_ca;
      break;
    case TlsFailure::NameMismatch:
      ++stats_.tls_failed_name_mismatch;
      break;
    case TlsFailure::NoClientCertificate:
      ++stats_.tls_failed_no_client_certificate;
      break;
    case TlsFailure::HandshakeTimeout:
      ++stats_.tls_failed_handshake_timeout;
      break;
    case TlsFailure::Protocol:
    case TlsFailure::Count:
      ++stats_.tls_failed_protocol;
      break;
  }
  constexpr std::size_t kMaxTlsLogged = 1024;
  const auto key = std::make_pair(remote.address, reason);
  if (std::find(tls_logged_.begin(), tls_logged_.end(), key) != tls_logged_.end()) {
    return;
  }
  if (tls_logged_.size() >= kMaxTlsLogged) {
    tls_logged_.clear();
  }
  tls_logged_.push_back(key);
  log::warn("transport.tls_handshake_failed", {{"realm", realm},
                                               {"remote", remote.to_string()},
                                               {"direction", outbound ? "out" : "in"},
                                               {"reason", to_string(reason)},
                                               {"error", detail}});
}

void ShardState::retire_connection(std::uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) {
    return;
  }
  auto [first, last] = by_remote_.equal_range(it->second->remote());
  for (auto r = first; r != last; ++r) {
    if (r->second == id) {
      by_remote_.erase(r);
      break;
    }
  }
  if (!it->second->outbound()) {
    --accepted_;
    auto a = accepted_by_address_.find(it->second->remote().address);
    if (a != accepted_by_address_.end() && --a->second == 0) {
      accepted_by_address_.erase(a);
    }
  }
  retired_.push_back(std::move(it->second));
  connections_.erase(it);
  // asio wants an operation's buffers to outlive its handler: the aborted completions of the
  // closed socket are already queued, so a handler posted now runs after them.
  if (!reap_posted_ && life_) {
    reap_posted_ = true;
    asio::post(io_, [this, guard = guard()] {
      if (guard.expired()) {
        return;
      }
      reap_posted_ = false;
      retired_.clear();
    });
  }
}

void ShardState::close() {
  closed_ = true;
  // Bounded by the table size; close() removes each entry from connections_.
  std::vector<std::uint64_t> ids;
  ids.reserve(connections_.size());
  for (const auto& [id, c] : connections_) {
    ids.push_back(id);
  }
  for (std::uint64_t id : ids) {
    if (TcpConnection* c = find_connection(id)) {
      c->close(TcpConnection::CloseReason::Shutdown);
    }
  }
}

}  // namespace portico::transport
