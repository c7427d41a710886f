#pragma once
// The registrar front of one shard (RFC 3261 §10, RFC 3581, RFC 5626 ideas): REGISTERs from
// endpoints on the policy's registration realm, usually behind NAT, for the AORs this shard
// owns (see sip/shard_routing.hpp).
//
//   client (access)               Portico                          registrar (carrier)
//   REGISTER Contact: private --> binding := observed flow
//                                 REGISTER Contact: <sip:user@Portico> Expires: upstream ->
//            <-- 401 (relayed) <------------------------------------------------ 401
//   REGISTER + Authorization ---> (relayed unchanged, same Request-URI) ------------------>
//            <-- 200 Contact: <private>;expires=client_expires <----------------- 200
//   REGISTER (refresh) ---------> upstream fresh: 200 locally
//   (no refresh)                  client_expiry + grace: binding removed, REGISTER Expires: 0 ->
//
// The registrar never sees the client's addresses: Portico writes the upstream REGISTER itself
// (own Via, Call-ID, tag, CSeq and Contact); only the To/From AOR, the Request-URI and the
// credentials cross. Calls for the user go to the binding's flow: see BindingDirectory.
//
// Shard-local: every method runs on the owning shard's thread. The shard's SipFrontDoor (the
// transaction user) hands it REGISTER requests on the registration realm, and the responses
// and failures of the registrar's own client transactions; it sends through the front door's
// transaction layer. Binding changes leave only through `publish` (docs/style.md, "Threading").

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "portico/auth/digest_authenticator.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/policy/model.hpp"
#include "portico/registrar/binding_directory.hpp"
#include "portico/registrar/binding_table.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/transport/transport.hpp"

namespace portico::registrar {

/// What became of a client's REGISTER (a metric label).
enum class RegisterOutcome : std::uint8_t {
  Registered,        // relayed upstream, 2xx: binding active
  RefreshedLocally,  // answered 200 by Portico, upstream still fresh
  Unregistered,      // Expires: 0 / Contact: * honoured
  Queried,           // no Contact: the current binding listed
  Challenged,        // 401/407 relayed to the client
  Refused,           // another final error from the registrar
  UpstreamFailed,    // the registrar did not answer (408) or could not be reached (503)
  UnknownSource,     // 403: not a known access peer of the realm
  BadRequest,        // 400: no user in To, unusable Contact
  Busy,              // 500 + Retry-After: a REGISTER for this AOR is already upstream
  DomainNotServed,   // 404: the To host is not a domain in registration.domains
  TooManyBindings,   // 503 + Retry-After: max_bindings or max_bindings_per_source reached
  Forbidden,         // 403: authenticated, but as another user than the AOR's
};
inline constexpr std::size_t kRegisterOutcomes = 13;
const char* to_string(RegisterOutcome o);

/// Counters of one shard's registrar (plain fields, summed at scrape time).
struct RegistrarStats {
  std::array<std::uint64_t, kRegisterOutcomes> outcomes{};
  std::uint64_t expired = 0;          // bindings removed because the client stopped refreshing
  std::uint64_t pings_answered = 0;
  std::uint64_t pings_missed = 0;
  std::map<std::string, std::uint64_t> active;       // realm -> Active bindings (snapshot)
  std::map<std::string, std::uint64_t> unreachable;  // realm -> Active but unreachable
};

class Registrar {
 public:
  using PolicyView = std::function<std::shared_ptr<const policy::PolicySnapshot>()>;
  /// Hands a binding change to every shard's BindingDirectory (this one's included).
  using Publish = std::function<void(BindingUpdate)>;
  /// A new Call-ID that dispatches back to this shard.
  using NewCallId = std::function<std::string()>;

  Registrar(std::uint16_t shard, std::uint16_t shard_count, TimerService& timers,
            transport::Transport& transport, sip::TransactionLayer& layer, PolicyView policy,
            NewCallId new_call_id, Publish publish, std::string version);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  /// A REGISTER outside any dialog on server transaction `txn`. False (nothing done) when the
  /// policy accepts no REGISTER on `flow`'s realm: the caller answers it as before (405).
  bool on_register(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow);
  /// A response on one of the registrar's client transactions; false if `txn` is not its own.
  bool on_response(sip::TxnId txn, const sip::Message& resp);
  /// One of its client transactions ended without a final response (408 or 503).
  bool on_client_failure(sip::TxnId txn, int status);
  /// A stream connection closed (on any shard): bindings registered over it are unreachable
  /// until the client registers again on a new one, so calls skip them at once instead of
  /// trying a flow that no longer exists (RFC 5626 §5.3: a dead flow is not used).
  void on_connection_closed(const transport::ConnectionRef& connection);

  /// The shard's binding directory, for the binding caps (every shard's active bindings);
  /// not owned, outlives the registrar. Null: caps count this shard's bindings only.
  void set_directory(const BindingDirectory* directory) { directory_ = directory; }
  /// The shard's digest authenticator, used when Portico is the registrar and the policy names
  /// a users file; not owned, outlives the registrar. Null: such REGISTERs are refused (500).
  void set_authenticator(auth::DigestAuthenticator* authenticator) { auth_ = authenticator; }

  /// Counters, with the active/unreachable gauges filled in (for the metrics snapshot); the
  /// gauge maps are empty when the policy has no registration section.
  RegistrarStats stats() const;
  std::size_t binding_count() const { return table_.size(); }

 private:
  // What an open client transaction of the registrar is for.
  /// What Portico sends upstream for a binding: taken from the client's REGISTER, and kept
  /// from the last accepted one while a later REGISTER waits for the registrar's answer.
  struct UpstreamIdentity {
    std::string request_uri;
    std::string aor_uri;
    std::string credentials;
  };
  struct Pending {
    enum class Kind { Register, Unregister, Query, Ping };
    Kind kind = Kind::Register;
    std::string aor;
    sip::TxnId server_txn = 0;        // the client's REGISTER to answer, or 0 (Portico's own)
    std::string contact_uri;          // Register: the client's contact and flow, applied on 2xx
    transport::Destination flow;
    Millis client_granted{0};
    bool fresh = false;               // Register: a new binding (for the log)
    std::string client_call_id;       // Register: the client's Call-ID and CSeq, kept on 2xx
    std::uint32_t client_cseq = 0;
    /// Register on an active binding: its accepted identity, put back unless the registrar
    /// answers 2xx (a REGISTER from someone else must not change what Portico sends upstream).
    std::optional<UpstreamIdentity> kept;
  };

  // registrar.cpp: the client side
  void count(RegisterOutcome o) { ++stats_.outcomes[static_cast<std::size_t>(o)]; }
  void respond(sip::TxnId txn, int status, const std::string& extra = {},
               const std::string& reason = {});
  void answer_ok(sip::TxnId txn, const std::string& contact_uri, Millis granted);
  void register_binding(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow,
                        const std::string& aor, const std::string& user, const std::string& domain,
                        const std::string& contact_uri, Millis requested);
  void unregister_binding(sip::TxnId txn, const sip::Message& req, const std::string& aor);
  void query_binding(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow,
                     const std::string& aor);
  /// Portico as the registrar with a users file: true when `req` carries valid credentials
  /// of the AOR's own user; otherwise answered here (401 with a challenge, or 403).
  bool authenticated(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow,
                     const std::string& user, const std::string& domain);
  /// True when one more binding from `source` stays within the policy's caps; otherwise the
  /// REGISTER is answered 503 here (registrar_caps.cpp).
  bool within_caps(sip::TxnId txn, const asio::ip::address& source);
  /// Takes the client's request URI, To and credentials for the next upstream REGISTER,
  /// returning what the binding had (put back unless the registrar answers 2xx).
  static UpstreamIdentity take_identity(Binding& b, const sip::Message& req);
  void publish(const Binding& b);
  void publish_removal(const Binding& b);

  // registrar_upstream.cpp: the registrar side
  bool has_registrar() const;
  sip::TxnId send_upstream(Binding& b, Millis expires, Pending pending);
  Pending take_pending(sip::TxnId txn);  // removes an open transaction's record (it exists)
  void upstream_answered(const Pending& p, const sip::Message& resp);
  void upstream_failed(const Pending& p, int status);
  /// The registrar's answer to a relayed query (b: the binding, or null).
  void query_answered(const Pending& p, const sip::Message& resp, Binding* b);
  void relay_to_client(sip::TxnId server_txn, const sip::Message& resp);
  /// Puts back the identity of the registration the registrar last accepted.
  static void restore(Binding& b, const UpstreamIdentity& kept);

  // registrar_upkeep.cpp: expiry and keepalive pings
  void arm_sweep();
  void sweep();
  void expire(const std::string& aor);
  void ping(Binding& b);
  void ping_answered(const std::string& aor, bool answered);

  std::string server_header(const policy::PolicySnapshot& p) const;

  // Who may touch each field: RO = set in the constructor, then only read (shard thread);
  // shard-local = read and written on this shard's thread only.
  std::uint16_t shard_;                                 // RO
  std::uint16_t shard_count_;                           // RO
  TimerService& timers_;                                // RO; the shard's, shard-local
  transport::Transport& transport_;                     // RO; the shard's, shard-local
  sip::TransactionLayer& layer_;                        // RO; the front door's, shard-local
  PolicyView policy_;                                   // RO; returns the shard's current policy
  NewCallId new_call_id_;                               // RO
  Publish publish_;                                     // RO; posts to the other shards itself
  std::string version_;                                 // RO
  BindingTable table_;                                  // shard-local: the only owner's copy
  std::unordered_map<sip::TxnId, Pending> pending_;     // shard-local
  RegistrarStats stats_;                                // shard-local (copied by stats())
  const BindingDirectory* directory_ = nullptr;         // shard-local; not owned; may be null
  auth::DigestAuthenticator* auth_ = nullptr;           // shard-local; not owned; may be null
  bool refusing_bindings_ = false;                      // shard-local: a cap is refusing
  Timer sweep_timer_;                                   // shard-local
};

}  // namespace portico::registrar
