// Upkeep of the bindings, once a second while there are any: clients that stopped refreshing
// lose their binding (and Portico unregisters them upstream), half-done records are dropped,
// and with options_ping each registered contact gets an OPTIONS through its flow (RFC 3261
// §11; the answer, whatever its status, proves the NAT pinhole and the client are alive).

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/registrar/registrar.hpp"
#include "portico/sip/message_builder.hpp"

namespace portico::registrar {
namespace {

constexpr Millis kSweepInterval{1000};
// A challenged registration waits this long for the client's retry with credentials (64*T1 at
// the default T1, as long as a non-INVITE transaction may run).
constexpr Millis kLinger{32000};

}  // namespace

void Registrar::arm_sweep() {
  if (sweep_timer_.armed() || table_.size() == 0) {
    return;
  }
  sweep_timer_.start(kSweepInterval, [this] {
    sweep_timer_.fired();
    sweep();
  });
}

void Registrar::sweep() {
  const TimePoint now = timers_.now();
  for (const auto& aor : table_.expired(now)) {
    expire(aor);
  }
  for (const auto& aor : table_.stale(now, kLinger)) {
    table_.erase(aor);
  }
  const auto p = policy_();
  if (p->registration.enabled && p->registration.options_ping.count() > 0) {
    for (auto& [aor, b] : table_.all()) {
      if (b.state == BindingState::Active && b.ping_txn == 0 && b.next_ping <= now) {
        ping(b);
      }
    }
  }
  arm_sweep();
}

void Registrar::expire(const std::string& aor) {
  Binding* b = table_.find(aor);
  if (b == nullptr || b->upstream_txn != 0) {
    return;  // a refresh is upstream right now: its answer decides
  }
  ++stats_.expired;
  log::info("registration.expired", {{"aor", aor}, {"contact", b->route.contact_uri},
                                     {"remote", b->route.flow.remote.to_string()}});
  publish_removal(*b);
  if (!has_registrar() || b->upstream_expiry <= timers_.now()) {
    table_.erase(aor);
    return;
  }
  // Unregister upstream with the client's last credentials. A registrar that challenges this
  // lets the registration run out by itself at upstream_expires.
  b->state = BindingState::Removing;
  b->last_activity = timers_.now();
  Pending pending;
  pending.kind = Pending::Kind::Unregister;
  pending.aor = aor;
  send_upstream(*b, Millis{0}, std::move(pending));
}

void Registrar::ping(Binding& b) {
  const auto p = policy_();
  const auto& flow = b.route.flow;
  std::string host;
  std::uint16_t port = 0;
  if (!transport_.local_address(flow.realm, flow.protocol, flow.remote.address.is_v6(), host,
                                port)) {
    return;
  }
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  auto m = sip::MessageBuilder::request("OPTIONS", b.route.contact_uri);
  m.header("Via", "SIP/2.0/" + std::string(transport::via_token(flow.protocol)) + " " + h + ":" +
                      std::to_string(port) + ";branch=z9hG4bK" + random_token(20) + ";rport");
  m.header("Max-Forwards", "70");
  m.header("From", "<sip:" + h + ":" + std::to_string(port) + ">;tag=" + random_token(16));
  m.header("To", "<" + b.route.contact_uri + ">");
  m.header("Call-ID", new_call_id_());
  m.header("CSeq", "1 OPTIONS");
  if (const std::string product = server_header(*p); !product.empty()) {
    m.header("User-Agent", product);
  }
  const sip::TxnId id = layer_.send_request(m.build(), flow);
  b.ping_txn = id;
  b.next_ping = timers_.now() + p->registration.options_ping;
  Pending pending;
  pending.kind = Pending::Kind::Ping;
  pending.aor = b.route.aor;
  pending_[id] = std::move(pending);
}

void Registrar::ping_answered(const std::string& aor, bool answered) {
  Binding* b = table_.find(aor);
  if (b == nullptr) {
    return;
  }
  b->ping_txn = 0;
  const bool active = b->state == BindingState::Active;
  if (answered) {
    ++stats_.pings_answered;
    b->ping_misses = 0;
    if (!b->route.reachable) {
      b->route.reachable = true;
      log::info("registration.reachable", {{"aor", aor}, {"reason", "ping_answered"}});
      if (active) {
        publish(*b);
      }
    }
    return;
  }
  ++stats_.pings_missed;
  ++b->ping_misses;
  const int limit = policy_()->registration.ping_failures;
  if (b->route.reachable && b->ping_misses >= limit) {
    b->route.reachable = false;
    log::warn("registration.unreachable", {{"aor", aor}, {"missed_pings", b->ping_misses},
                                           {"contact", b->route.contact_uri},
                                           {"remote", b->route.flow.remote.to_string()}});
    if (active) {
      publish(*b);
    }
  }
}

void Registrar::on_connection_closed(const transport::ConnectionRef& connection) {
  for (auto& [aor, b] : table_.all()) {
    if (!(b.route.flow.connection == connection) || !b.route.reachable) {
      continue;
    }
    b.route.reachable = false;
    log::info("registration.unreachable", {{"aor", aor}, {"reason", "connection_closed"},
                                           {"remote", b.route.flow.remote.to_string()}});
    if (b.state == BindingState::Active) {
      publish(b);
    }
  }
}

}  // namespace portico::registrar
