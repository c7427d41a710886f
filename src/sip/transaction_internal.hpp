#pragma once
// Private: transaction records and TransactionLayer::Impl, shared by transaction_layer.cpp and
// the four per-kind state machine files (server/client × INVITE/non-INVITE).
//
// Ownership: Impl owns every transaction through unique_ptr in an id-keyed map; the match
// indexes map keys to ids, never to pointers. Each transaction owns its Timers, so erasing it
// cancels them. Timer callbacks and transport failure callbacks capture the layer's liveness
// token and the transaction id, look the transaction up again, and do nothing if it is gone.

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "portico/common/refusal_log.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/transaction_layer.hpp"

namespace portico::sip {

/// Server transaction states (RFC 3261 §17.2 with RFC 6026 Accepted).
enum class ServerState {
  Trying,      // non-INVITE: request received, no response yet
  Proceeding,  // a provisional response was sent (INVITE starts here with 100 Trying)
  Accepted,    // INVITE: 2xx sent, retransmitted until the ACK / Timer L (RFC 6026 §7.1)
  Completed,   // final (INVITE: 3xx-6xx) sent; absorbing retransmissions
  Confirmed,   // INVITE: ACK for the non-2xx received; Timer I absorbs ACK retransmissions
};

/// Client transaction states (RFC 3261 §17.1 with RFC 6026 Accepted).
enum class ClientState {
  Calling,     // INVITE sent, Timer A/B running
  Trying,      // non-INVITE sent, Timer E/F running
  Proceeding,  // a provisional response arrived
  Accepted,    // INVITE: 2xx arrived; later 2xx retransmissions go to the TU until Timer M
  Completed,   // final arrived (INVITE: non-2xx, ACK sent); Timer D/K absorbs retransmissions
};

/// The parts of a client INVITE that its non-2xx ACK repeats (RFC 3261 §17.1.1.3).
struct AckFields {
  std::string request_uri;          // as written in the INVITE's start line
  std::string via;                  // the INVITE's top Via (same branch)
  std::vector<std::string> routes;  // the INVITE's Route values, in order
  std::string from;
  std::string call_id;
  std::uint32_t cseq = 0;
};

struct ServerTxn {
  TxnId id = 0;
  bool invite = false;
  bool pending_invite = false;  // INVITE without a final yet: counted in the pending caps
  TimerConfig cfg;              // the configuration when the transaction started
  std::string key;              // match key (see server_key())
  std::string ack_key;          // INVITE: Call-ID|CSeq|From tag of the 2xx ACK (indexed once
                                // Accepted)
  ResponseBasis basis;          // what every response copies from the request (not the request)
  transport::Flow flow;
  transport::Destination dst;   // where responses go (§18.2.2)
  std::string top_via;          // top Via with received/rport for every response
  ServerState state = ServerState::Proceeding;
  std::string last_response;    // re-sent on request retransmission
  bool acked = false;
  Millis interval{0};           // current Timer G / 2xx retransmission interval
  Timer retransmit;             // Timer G, or the 2xx retransmission
  Timer lifetime;               // Timer H, I, J or L

  explicit ServerTxn(TimerService& timers) : retransmit(timers), lifetime(timers) {}
};

struct ClientTxn {
  TxnId id = 0;
  bool invite = false;
  TimerConfig cfg;              // the configuration when the transaction started
  std::string key;              // branch|method
  std::string bytes;            // the request as sent
  transport::Destination dst;
  bool reliable = false;
  ClientState state = ClientState::Trying;
  AckFields ack_fields;         // what the ACK for a non-2xx copies from the request
  std::string ack;              // the ACK sent for the non-2xx final, re-sent on retransmits
  Millis interval{0};           // current Timer A / E interval
  Timer retransmit;             // Timer A / E
  Timer timeout;                // Timer B / F
  Timer lifetime;               // Timer D, K or M; also the deferred failure report

  explicit ClientTxn(TimerService& timers) : retransmit(timers), timeout(timers), lifetime(timers) {}
};

using ServerTxnPtr = std::unique_ptr<ServerTxn>;

/// How many ServerLimits caps there are (server_limits.cpp checks them in order).
inline constexpr std::size_t kCapCount = 4;
using ClientTxnPtr = std::unique_ptr<ClientTxn>;

struct TransactionLayer::Impl {
  Impl(TimerService& t, transport::Transport& tr, TimerConfig c, TransactionUser& u)
      : timers(t), transport(tr), config(c), tu(u), alive(std::make_shared<Impl*>(this)) {}

  TimerService& timers;            // not owned; outlives the layer
  transport::Transport& transport; // not owned; outlives the layer
  TimerConfig config;
  TransactionUser& tu;             // not owned
  TransactionStats stats;
  TxnId next_id = 1;
  int api_depth = 0;               // > 0 while a TransactionLayer method runs (no re-entry)
  // Liveness token for callbacks the transport may hold after the layer is gone: they keep a
  // weak_ptr and do nothing once it expires. Shard-local; never shared across threads.
  std::shared_ptr<Impl*> alive;

  std::unordered_map<TxnId, ServerTxnPtr> servers;
  std::unordered_map<std::string, TxnId> server_index;   // server_key() → id
  std::unordered_map<std::string, TxnId> accepted_index; // ack_key → id (INVITE Accepted)
  std::unordered_map<TxnId, ClientTxnPtr> clients;
  std::unordered_map<std::string, TxnId> client_index;   // branch|method → id

  // The ServerLimits caps (server_limits.cpp): open server transactions and pending INVITEs,
  // in all and per source address (entries erased at zero), and when each cap logs.
  struct SourceUse {
    std::size_t transactions = 0;
    std::size_t pending_invites = 0;
  };
  ServerLimits limits;
  std::size_t pending_invites = 0;
  std::unordered_map<transport::Endpoint, SourceUse, EndpointHash> sources;  // port 0
  std::array<RefusalLog, kCapCount> refusal_logs;

  // transaction_layer.cpp
  ServerTxn* server(TxnId id);
  ClientTxn* client(TxnId id);
  void erase_server(TxnId id);
  void erase_client(TxnId id);
  TxnId new_id() { return next_id++; }
  void send(const transport::Destination& dst, const std::string& bytes);
  void send_client(ClientTxn& t);
  void receive_request(Message&& msg, const transport::Flow& flow);
  void receive_response(Message&& msg, const transport::Flow& flow);
  bool from_request_flow(const ClientTxn& t, const transport::Flow& flow) const;
  void absorb_retransmission(ServerTxn& t);
  Millis lifetime_for(bool reliable, Millis unreliable) const;

  // server_limits.cpp
  /// True if a new server transaction for `req` may start; else it was answered 503.
  bool admit_server(const Message& req, const transport::Flow& flow, bool invite);
  void count_server(const ServerTxn& t, int delta);
  void invite_answered(ServerTxn& t);

  // server_transaction_invite.cpp
  void create_server_invite(Message&& req, const transport::Flow& flow, std::string key);
  void respond_invite(ServerTxn& t, std::string bytes, int status);
  void on_ack_for_server(Message&& ack, const transport::Flow& flow);
  void on_timer_g(TxnId id);
  void on_server_lifetime(TxnId id);

  // server_transaction_non_invite.cpp
  ServerTxn& add_server(const Message& req, const transport::Flow& flow, std::string key,
                        bool invite);
  void create_server_non_invite(Message&& req, const transport::Flow& flow, std::string key);
  void respond_non_invite(ServerTxn& t, std::string bytes, int status);
  void handle_cancel(Message&& cancel, const transport::Flow& flow, std::string key);
  void respond_txn(ServerTxn& t, const ResponseParts& parts);

  // client_transaction_invite.cpp / client_transaction_non_invite.cpp
  TxnId start_client(std::string bytes, const transport::Destination& dst);
  void on_client_response(ClientTxn& t, Message&& resp);
  void on_invite_response(ClientTxn& t, Message&& resp);
  void on_non_invite_response(ClientTxn& t, Message&& resp);
  void on_timer_retransmit(TxnId id);
  void on_timer_timeout(TxnId id);
  void on_client_lifetime(TxnId id);
  void on_send_failure(TxnId id);
  void fail_client(TxnId id, int status);
};

/// Server match key (RFC 3261 §17.2.3; RFC 2543 fallback) of a request received on `flow`:
/// see transaction_layer.cpp.
std::string server_key(const Message& req, std::string_view method, std::string_view to_tag,
                       const transport::Flow& flow);

/// Callback that runs `fn(impl)` only while the layer still exists.
template <class Fn>
auto guarded(const TransactionLayer::Impl& impl, Fn fn) {
  std::weak_ptr<TransactionLayer::Impl*> token = impl.alive;
  return [token, fn]() {
    if (auto p = token.lock()) {
      fn(**p);
    }
  };
}

}  // namespace portico::sip
