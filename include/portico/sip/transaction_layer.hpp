#pragma once
// RFC 3261 §17 transactions for one shard, with RFC 6026's Accepted states.
//
//   server INVITE:     Proceeding --1xx--> Proceeding --2xx--> Accepted --ACK/Timer L--> gone
//                                          \--3xx-6xx--> Completed --ACK--> Confirmed --I--> gone
//   server non-INVITE: Trying --1xx--> Proceeding --final--> Completed --Timer J--> gone
//   client INVITE:     Calling --A (UDP)--> Calling --1xx--> Proceeding --2xx--> Accepted --M-->
//                      gone; 3xx-6xx --> Completed (ACK sent here) --Timer D--> gone; B --> gone
//   client non-INVITE: Trying --E--> Trying --1xx--> Proceeding --final--> Completed --K--> gone
//
// Retransmissions over UDP (A, E, G and 2xx in server Accepted state) double from T1 up to T2
// (INVITE requests: no cap). Retransmitted requests are absorbed and answered with the last
// response. The ACK for a non-2xx final is built and sent here (hop-by-hop); the ACK for a 2xx
// is the TU's, and stops the 2xx retransmission of the server INVITE transaction it matches.
// All timers run on the shard's TimerService, so tests drive them with ManualTimerService.
//
// A server transaction keeps only what its responses need (the request's ResponseBasis, its
// key and flow, the last response), never the request itself: the TU gets that.
// A response is matched by branch and method (§17.1.3) and also by the flow its request went
// to: UDP the destination address and port, TCP/TLS the connection (or the address and port
// it was opened to).

#include <cstdint>
#include <memory>
#include <string>

#include "portico/common/timer_service.hpp"
#include "portico/sip/message.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/transport/transport.hpp"

namespace portico::sip {

struct TimerConfig {
  Millis t1{500};
  Millis t2{4000};
  Millis t4{5000};
};

/// Transaction handle, unique on its shard; 0 is none. Dangling ids are ignored, never a crash.
using TxnId = std::uint64_t;

struct TransactionStats {
  std::uint64_t retransmissions_sent = 0;     // requests and responses re-sent on a timer
  std::uint64_t retransmissions_absorbed = 0; // duplicate requests/responses received
  std::uint64_t client_timeouts = 0;          // Timer B / F fired
  std::uint64_t server_timeouts = 0;          // Timer H / L fired without an ACK
  std::uint64_t transport_errors = 0;
  std::uint64_t responses_wrong_source = 0;  // matched a branch but came from another flow
  // Requests answered 503 statelessly because a ServerLimits cap was reached, by cap.
  std::uint64_t refused_transactions = 0;
  std::uint64_t refused_source_transactions = 0;
  std::uint64_t refused_invites = 0;
  std::uint64_t refused_source_invites = 0;
};

/// Caps on what inbound requests make one shard's layer hold (0 = no cap). Over a cap a new
/// request gets one stateless 503 with Retry-After, sent back to its source address and port
/// only, and no transaction is kept. A "source" is the remote IP address (every port).
/// Pending INVITEs are server INVITE transactions with no final response yet.
struct ServerLimits {
  std::size_t max_transactions = 0;
  std::size_t max_transactions_per_source = 0;
  std::size_t max_pending_invites = 0;
  std::size_t max_pending_invites_per_source = 0;
  int retry_after_seconds = 5;
};

/// Implemented by the B2BUA. Every callback runs on the shard thread; the layer never calls
/// back re-entrantly from inside a TransactionLayer method called by the TU.
class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  /// A new request other than ACK (and other than a CANCEL matching a server INVITE
  /// transaction). For INVITE, 100 Trying has already been sent.
  virtual void on_request(TxnId txn, Message&& req, const transport::Flow& flow) = 0;
  /// An ACK that is not for a non-2xx final (those are absorbed): an ACK for a 2xx, matched to
  /// the Accepted server transaction (which stops retransmitting) or not.
  virtual void on_ack(Message&& ack, const transport::Flow& flow) = 0;
  /// A CANCEL matching a server INVITE transaction that has not sent a final response. The
  /// layer has already answered the CANCEL with 200; the TU should answer the INVITE (487).
  virtual void on_cancel(TxnId invite_txn, Message&& cancel) = 0;
  /// A provisional or final response of a client transaction, and for a client INVITE in
  /// Accepted state each retransmitted 2xx too (the TU re-sends its ACK).
  virtual void on_response(TxnId txn, Message&& resp) = 0;
  /// A client transaction ended with no final response: `status` is 408 (Timer B/F) or 503
  /// (transport error).
  virtual void on_client_failure(TxnId txn, int status) = 0;
  /// A server INVITE transaction sent a 2xx and no ACK came before Timer L/H.
  virtual void on_server_timeout(TxnId txn) = 0;
  /// A response that matches no client transaction (e.g. a 2xx after Timer M). A response
  /// that matches one by branch but arrives from another flow than the request was sent on is
  /// dropped and counted (responses_wrong_source), never reported.
  virtual void on_stray_response(Message&& resp, const transport::Flow& flow) = 0;
};

class TransactionLayer {
 public:
  TransactionLayer(TimerService& timers, transport::Transport& transport, TimerConfig config,
                   TransactionUser& tu);
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  /// Feeds one parsed, validated inbound message.
  void receive(Message&& msg, const transport::Flow& flow);

  /// Sends a response on server transaction `txn` (RFC 3261 §18.2.2 routing: the request's
  /// connection if it is open, else received/rport or sent-by). Ignored for unknown ids.
  void respond(TxnId txn, const ResponseParts& parts);
  /// The flow server transaction `txn` arrived on, or nullptr.
  const transport::Flow* flow(TxnId txn) const;

  /// Starts a client transaction for a request the TU built. `bytes` must carry a top Via with
  /// `branch` (z9hG4bK...). Returns its id.
  TxnId send_request(std::string bytes, const transport::Destination& dst);

  /// Sends bytes outside any transaction (the ACK for a 2xx, stateless replies).
  void send_stateless(std::string bytes, const transport::Destination& dst);
  /// Stateless response to an inbound request that has no transaction (400 for invalid
  /// requests, 481 for stray CANCEL...), routed like any response.
  void respond_stateless(const Message& req, const transport::Flow& flow,
                         const ResponseParts& parts);

  std::size_t server_count() const;
  std::size_t client_count() const;
  const TransactionStats& stats() const;
  const TimerConfig& config() const;
  void set_config(TimerConfig config);  // new transactions use it (policy reload)
  void set_limits(const ServerLimits& limits);  // applies to the next request

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Where a response to a request received on `flow` with top Via `via` goes (§18.2.2 + RFC
/// 3581): same connection if reliable; else received (or source) address and rport (or source
/// port) when rport was requested, else the sent-by port (default 5060).
transport::Destination response_destination(const Via& via, const transport::Flow& flow);

}  // namespace portico::sip
