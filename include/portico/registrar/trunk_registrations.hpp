#pragma once
// Portico registering itself to carriers (RFC 3261 §10.2) as a trunk peer: one registration per
// trunk whose policy has a `register:` block, answering the carrier's digest challenge
// (auth/digest_client.hpp).
//
//   Unregistered/Failed --REGISTER--> (401/407: answered once per attempt; again only when the
//   new challenge says stale=true) --2xx--> Registered --refresh at min(granted/2,
//   granted-30 s), or granted/2 when granted-30 s falls in the first quarter--> ...
//   A failed refresh keeps Registered while the carrier's binding lasts (retried before it
//   lapses); a failure after that is Failed.   failure (wrong credentials, other error, timeout) --> Failed, retried
//   after a backoff doubling from retry_min to retry_max. 423 Interval Too Brief: asked again
//   at once with the registrar's Min-Expires. Reload: a changed block re-registers (the old
//   binding unregistered first), a removed one unregisters. Shutdown: Expires: 0 for each.
//
// Every state change is one log line (`trunk_registration.state`, with the trunk, the state
// and a reason token); the password and the digest response never appear. All registrations
// live on one shard (the runtime gives them to shard 0): they are a handful of transactions an
// hour, and one owner keeps the state and the metric in one place.
//
// Shard-local: every method runs on the owning shard's thread; it sends through that shard's
// transaction layer, whose users (the front door) hand it back its own responses.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/policy/model.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/transport/transport.hpp"

namespace portico::registrar {

/// What became of one REGISTER attempt (a metric label).
enum class TrunkRegisterResult : std::uint8_t {
  Registered,        // 2xx to a REGISTER
  Unregistered,      // 2xx to an Expires: 0
  Challenged,        // 401/407 answered with credentials
  AuthFailed,        // challenged again after our credentials: wrong username or password
  IntervalTooBrief,  // 423: asked again with Min-Expires
  Refused,           // another 3xx-6xx
  Timeout,           // no answer (408)
  TransportError,    // could not be sent (503), or no listener on the trunk's realm
};
inline constexpr std::size_t kTrunkRegisterResults = 8;
const char* to_string(TrunkRegisterResult r);

/// A snapshot of the registrations (for metrics): per trunk, registered or not, and attempts.
struct TrunkRegistrationStats {
  std::map<std::string, bool> registered;  // trunk -> registered now
  std::map<std::pair<std::string, TrunkRegisterResult>, std::uint64_t> attempts;
};

class TrunkRegistrations {
 public:
  /// A new Call-ID that dispatches back to this shard.
  using NewCallId = std::function<std::string()>;

  TrunkRegistrations(TimerService& timers, transport::Transport& transport,
                     sip::TransactionLayer& layer, NewCallId new_call_id, std::string version);
  ~TrunkRegistrations();
  TrunkRegistrations(const TrunkRegistrations&) = delete;
  TrunkRegistrations& operator=(const TrunkRegistrations&) = delete;

  /// Start-up and every reload: registers trunks that gained a `register` block, re-registers
  /// those whose block (or password) changed, unregisters those that lost it.
  void apply(const policy::PolicySnapshot& policy);
  /// Shutdown: Expires: 0 for every registered trunk; nothing is retried after this.
  void unregister_all();

  /// A response on one of its client transactions; false if `txn` is not its own.
  bool on_response(sip::TxnId txn, const sip::Message& resp);
  /// One of its client transactions ended without a final response (408 or 503).
  bool on_client_failure(sip::TxnId txn, int status);

  TrunkRegistrationStats stats() const;
  /// Whether `trunk` is registered now (tests, status).
  bool registered(const std::string& trunk) const;

  struct Entry;  // one trunk's registration (trunk_registrations.cpp)

 private:
  Entry* by_txn(sip::TxnId txn);
  void send(Entry& e, bool with_credentials);
  void answered(Entry& e, const sip::Message& resp);
  void failed(Entry& e, TrunkRegisterResult result, std::string reason, int status);
  void registered_ok(Entry& e, const sip::Message& resp);
  void set_state(Entry& e, int state, const std::string& reason, int status);
  void start_leaving(std::unique_ptr<Entry> e);
  void forget(Entry& e);
  void count(const Entry& e, TrunkRegisterResult r);

  TimerService& timers_;             // RO; the shard's
  transport::Transport& transport_;  // RO; the shard's
  sip::TransactionLayer& layer_;     // RO; the front door's
  NewCallId new_call_id_;            // RO
  std::string version_;              // RO
  std::string user_agent_;           // shard-local: from the policy, at apply()
  bool stopping_ = false;            // shard-local: unregister_all() was called
  std::map<std::string, std::unique_ptr<Entry>> active_;  // shard-local: by trunk name
  std::vector<std::unique_ptr<Entry>> leaving_;  // shard-local: unregistering after a reload
  std::map<std::pair<std::string, TrunkRegisterResult>, std::uint64_t> attempts_;  // shard-local
};

}  // namespace portico::registrar
