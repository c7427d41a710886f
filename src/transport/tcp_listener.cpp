// TCP (and TLS over TCP) accept loop. Accept errors other than "closed" (EMFILE, ENOBUFS, ...) are retried after a
// short pause instead of immediately, so descriptor exhaustion cannot spin the shard.

#include "tcp_listener.hpp"

#include "portico/common/log.hpp"
#include "socket_setup.hpp"
#include "tcp_connection.hpp"

namespace portico::transport {

namespace {
constexpr Millis kAcceptRetryDelay{100};
}  // namespace

TcpListener::TcpListener(ShardState& state, ListenerConfig config)
    : state_(state),
      config_(std::move(config)),
      acceptor_(state.io()),
      retry_timer_(state.timers()) {
  open_tcp_acceptor(acceptor_, config_.bind, config_.realm);
}

void TcpListener::start() { accept(); }

void TcpListener::accept() {
  acceptor_.async_accept([this, guard = state_.guard()](const std::error_code& ec,
                                                        asio::ip::tcp::socket socket) {
    if (!guard.expired()) {
      on_accept(ec, std::move(socket));
    }
  });
}

void TcpListener::on_accept(const std::error_code& ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted || state_.closed() || !acceptor_.is_open()) {
    return;
  }
  if (ec) {
    if (state_.should_log()) {
      log::warn("transport.accept_error", {{"realm", config_.realm},
                                           {"local", config_.bind.to_string()},
                                           {"error", ec.message()}});
    }
    retry_timer_.start(kAcceptRetryDelay, [this] {
      retry_timer_.fired();
      if (!state_.closed() && acceptor_.is_open()) {
        accept();
      }
    });
    return;
  }
  std::error_code rec;
  auto remote = socket.remote_endpoint(rec);
  if (!rec && state_.refuse_accepted(remote.address()) != nullptr) {
    // Over a connection cap (policy ingress): closed at once, before any byte is read.
    std::error_code ignored;
    socket.close(ignored);
  } else if (!rec) {  // else the peer already went away: drop the socket
    TcpConnection::Tls tls;
    if (config_.protocol == Protocol::Tls) {
      // The contexts of the policy in force now; the connection keeps them for its life.
      tls.owner = state_.tls();
      tls.context = tls.owner ? tls.owner->server(config_.realm) : nullptr;
    }
    if (config_.protocol == Protocol::Tls && tls.context == nullptr) {
      std::error_code ignored;  // no certificate to present (cannot happen with a valid policy)
      socket.close(ignored);
      accept();
      return;
    }
    std::uint64_t id = state_.next_connection_id();
    auto connection = std::make_unique<TcpConnection>(state_, id, config_.realm, config_.bind,
                                                      from_asio(remote), std::move(socket),
                                                      /*outbound=*/false, std::move(tls));
    state_.add_connection(std::move(connection)).start_accepted();
  }
  accept();
}

void TcpListener::close() {
  retry_timer_.cancel();
  std::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace portico::transport
