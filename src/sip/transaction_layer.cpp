// TransactionLayer: the RFC 3261 §17 transaction layer of one shard (RFC 6026 Accepted states).
//
// This file holds the plumbing: the public API, matching of inbound messages to transactions
// (§17.1.3 for responses, §17.2.3 for requests), sends, and response routing (§18.2.2 +
// RFC 3581). The state machines live in server_transaction_{invite,non_invite}.cpp and
// client_transaction_{invite,non_invite}.cpp.
//
// Re-entrancy: TU callbacks are made only from receive() and from timer/transport callbacks,
// never from a method the TU calls. A failure discovered inside such a method (send() refused)
// is reported from a zero-delay timer instead. After any TU callback the code re-finds its
// transaction by id, because the TU may have started or ended others.

#include "transaction_internal.hpp"

#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

constexpr std::string_view kMagicCookie = "z9hG4bK";  // RFC 3261 §8.1.1.7

struct DepthGuard {
  explicit DepthGuard(int& d) : depth(d) { ++depth; }
  ~DepthGuard() { --depth; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  int& depth;
};

std::uint16_t default_port(transport::Protocol p) {
  return p == transport::Protocol::Tls ? 5061 : 5060;
}

}  // namespace

std::string server_key(const Message& req, std::string_view method, std::string_view to_tag,
                       const transport::Flow& flow) {
  const Via& via = req.top_via();
  // §17.2.3: ACK matches the INVITE transaction it acknowledges.
  std::string m(method == "ACK" ? std::string_view("INVITE") : method);
  // Every field below is the sender's to choose, so the source address is part of the key:
  // another host cannot CANCEL, ACK or pose as a retransmission of someone else's request.
  const std::string source = flow.remote.address.to_string();
  if (via.branch.starts_with(kMagicCookie)) {
    return "3|" + via.branch + "|" + to_lower(via.host) + ":" +
           std::to_string(via.port.value_or(0)) + "|" + m + "|" + source;
  }
  // RFC 2543 peers (no magic cookie): §17.2.3 falls back to the request's identifying fields.
  return "2|" + req.request_uri() + "|" + std::string(to_tag) + "|" + req.from().tag + "|" +
         req.call_id() + "|" + std::to_string(req.cseq()) + "|" + via.raw + "|" + m + "|" + source;
}

transport::Destination response_destination(const Via& via, const transport::Flow& flow) {
  transport::Destination d;
  d.realm = flow.realm;
  d.protocol = flow.protocol;
  // §18.2.2 sends to the `received` address, which is the address the request came from
  // (Portico writes it from the socket). A `received` already present in the incoming Via is
  // some earlier hop's claim and is never used as a destination.
  d.remote.address = flow.remote.address;
  if (transport::is_reliable(flow.protocol)) {
    d.remote.port = flow.remote.port;
    d.connection = flow.connection;  // §18.2.2: reuse the request's connection while open
    return d;
  }
  // RFC 3581 §4: with rport, answer to the port the request came from. Otherwise §18.2.2:
  // the sent-by port, or the protocol's default.
  if (via.has_rport) {
    d.remote.port = flow.remote.port;
  } else {
    d.remote.port = via.port.value_or(default_port(flow.protocol));
  }
  return d;
}

// ---- Impl plumbing ----

ServerTxn* TransactionLayer::Impl::server(TxnId id) {
  auto it = servers.find(id);
  return it == servers.end() ? nullptr : it->second.get();
}

ClientTxn* TransactionLayer::Impl::client(TxnId id) {
  auto it = clients.find(id);
  return it == clients.end() ? nullptr : it->second.get();
}

void TransactionLayer::Impl::erase_server(TxnId id) {
  auto it = servers.find(id);
  if (it == servers.end()) {
    return;
  }
  if (auto k = server_index.find(it->second->key); k != server_index.end() && k->second == id) {
    server_index.erase(k);
  }
  if (auto k = accepted_index.find(it->second->ack_key);
      k != accepted_index.end() && k->second == id) {
    accepted_index.erase(k);
  }
  count_server(*it->second, -1);
  servers.erase(it);  // its Timers cancel themselves
}

void TransactionLayer::Impl::erase_client(TxnId id) {
  auto it = clients.find(id);
  if (it == clients.end()) {
    return;
  }
  if (auto k = client_index.find(it->second->key); k != client_index.end() && k->second == id) {
    client_index.erase(k);
  }
  clients.erase(it);
}

Millis TransactionLayer::Impl::lifetime_for(bool reliable, Millis unreliable) const {
  return reliable ? Millis{0} : unreliable;
}

void TransactionLayer::Impl::send(const transport::Destination& dst, const std::string& bytes) {
  auto on_failure = guarded(*this, [](Impl& self) { ++self.stats.transport_errors; });
  if (!transport.send(dst, bytes, on_failure)) {
    ++stats.transport_errors;
  }
}

void TransactionLayer::Impl::absorb_retransmission(ServerTxn& t) {
  // §17.2.1 / §17.2.2: a retransmitted request gets the last response again; none has been
  // sent yet in non-INVITE Trying, and Confirmed (or Accepted after the ACK) absorbs silently.
  ++stats.retransmissions_absorbed;
  if (t.state == ServerState::Trying || t.state == ServerState::Confirmed ||
      (t.state == ServerState::Accepted && t.acked) || t.last_response.empty()) {
    return;
  }
  send(t.dst, t.last_response);
}

void TransactionLayer::Impl::receive_request(Message&& msg, const transport::Flow& flow) {
  if (msg.vias().empty()) {
    return;  // validate() rejects it; without a Via there is nowhere to answer
  }
  const std::string method = msg.method();
  if (method == "ACK") {
    on_ack_for_server(std::move(msg), flow);
    return;
  }
  std::string key = server_key(msg, method, msg.to().tag, flow);
  if (auto it = server_index.find(key); it != server_index.end()) {
    if (ServerTxn* t = server(it->second)) {
      absorb_retransmission(*t);
      return;
    }
  }
  if (method == "CANCEL") {
    handle_cancel(std::move(msg), flow, std::move(key));
  } else if (method == "INVITE") {
    create_server_invite(std::move(msg), flow, std::move(key));
  } else {
    create_server_non_invite(std::move(msg), flow, std::move(key));
  }
}

void TransactionLayer::Impl::receive_response(Message&& msg, const transport::Flow& flow) {
  // §17.1.3: branch of the top Via plus the CSeq method (CANCEL shares the INVITE's branch).
  std::string key = msg.top_via().branch + "|" + msg.cseq_method();
  auto it = client_index.find(key);
  ClientTxn* t = (it == client_index.end() || msg.vias().empty()) ? nullptr : client(it->second);
  if (t == nullptr) {
    tu.on_stray_response(std::move(msg), flow);
    return;
  }
  if (!from_request_flow(*t, flow)) {
    // A forged or misrouted response (someone who learnt or guessed the branch): it must not
    // complete, or even touch, the transaction.
    ++stats.responses_wrong_source;
    return;
  }
  on_client_response(*t, std::move(msg));
}

bool TransactionLayer::Impl::from_request_flow(const ClientTxn& t,
                                               const transport::Flow& flow) const {
  // UDP peers answer from the address and port the request went to (§18.2.1 symmetric
  // response; sipp, Kamailio and phones behind NAT all do). A connection Portico opened has
  // that address and port as its remote end; a connection named in the destination (a
  // registered phone's own connection) is matched by its id.
  if (t.dst.connection.valid() && flow.connection == t.dst.connection) {
    return true;
  }
  return flow.remote == t.dst.remote;
}

// ---- public API ----

TransactionLayer::TransactionLayer(TimerService& timers, transport::Transport& transport,
                                   TimerConfig config, TransactionUser& tu)
    : impl_(std::make_unique<Impl>(timers, transport, config, tu)) {}

TransactionLayer::~TransactionLayer() = default;

void TransactionLayer::receive(Message&& msg, const transport::Flow& flow) {
  DepthGuard guard(impl_->api_depth);
  if (msg.is_request()) {
    impl_->receive_request(std::move(msg), flow);
  } else {
    impl_->receive_response(std::move(msg), flow);
  }
}

void TransactionLayer::respond(TxnId txn, const ResponseParts& parts) {
  DepthGuard guard(impl_->api_depth);
  if (ServerTxn* t = impl_->server(txn)) {
    impl_->respond_txn(*t, parts);
  }
}

const transport::Flow* TransactionLayer::flow(TxnId txn) const {
  const ServerTxn* t = impl_->server(txn);
  return t == nullptr ? nullptr : &t->flow;
}

TxnId TransactionLayer::send_request(std::string bytes, const transport::Destination& dst) {
  DepthGuard guard(impl_->api_depth);
  return impl_->start_client(std::move(bytes), dst);
}

void TransactionLayer::send_stateless(std::string bytes, const transport::Destination& dst) {
  DepthGuard guard(impl_->api_depth);
  impl_->send(dst, bytes);
}

void TransactionLayer::respond_stateless(const Message& req, const transport::Flow& flow,
                                         const ResponseParts& parts) {
  DepthGuard guard(impl_->api_depth);
  if (req.vias().empty() || !req.is_request()) {
    return;
  }
  std::string top = via_with_received(req.top_via(), flow.remote.address.to_string(),
                                      flow.remote.port);
  impl_->send(response_destination(req.top_via(), flow), build_response(req, top, parts));
}

std::size_t TransactionLayer::server_count() const { return impl_->servers.size(); }
std::size_t TransactionLayer::client_count() const { return impl_->clients.size(); }
const TransactionStats& TransactionLayer::stats() const { return impl_->stats; }
const TimerConfig& TransactionLayer::config() const { return impl_->config; }
void TransactionLayer::set_config(TimerConfig config) { impl_->config = config; }
void TransactionLayer::set_limits(const ServerLimits& limits) { impl_->limits = limits; }

}  // namespace portico::sip
