#pragma once
// The B2BUA: the calls of one shard. It gets requests and responses from the shard's
// SipFrontDoor (the transaction user), asks the policy for a CallPlan, and runs each call as two
// independent dialogs: everything sent on one leg is built fresh from that leg's own dialog
// state, so nothing of one realm's topology reaches the other (topology hiding by
// construction).
//
//   A (access)            Portico                    B (carrier)
//   INVITE ------------>  match policy -> plan
//          <------------ 100                 INVITE ------------->
//          <------------ 18x  (relayed)      <------------------ 18x
//          <------------ 200  (relayed)      <------------------ 200
//   ACK  -------------->                     ACK  --------------->
//   BYE  --------------> 200                 BYE  --------------->
//
// Shard-local: every method runs on the owning shard's thread.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>

#include "portico/auth/digest_authenticator.hpp"
#include "portico/b2bua/call.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/trunk_usage.hpp"
#include "portico/cdr/record.hpp"
#include "portico/common/histogram.hpp"
#include "portico/common/refusal_log.hpp"
#include "portico/policy/model.hpp"
#include "portico/sip/shard_routing.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/trace/call_traces.hpp"
#include "portico/transport/transport.hpp"

namespace portico::registrar {
class BindingDirectory;
}  // namespace portico::registrar

namespace portico::b2bua {

/// Call set-up latency buckets (shard-local, summed at scrape time).
struct SetupBoundsMs {
  static constexpr std::array<double, 11> kUpper = {10,   25,   50,    100,   250,  500,
                                                    1000, 2500, 5000, 10000, 30000};
};
/// Call set-up times, in milliseconds.
using SetupHistogram = Histogram<SetupBoundsMs>;

/// Label values of one ended call attempt; all come from bounded sets (policy names, "2xx").
struct AttemptKey {
  std::string realm;         // where the call came from
  std::string route;         // policy route ("" when refused before routing)
  std::string target;        // last trunk/peer tried ("" when none)
  std::string status_class;  // "2xx".."6xx" of the final status the caller got
  auto operator<=>(const AttemptKey&) const = default;
};

struct B2buaStats {
  std::uint64_t calls_attempted = 0;
  std::uint64_t calls_answered = 0;
  std::uint64_t calls_failed = 0;
  std::uint64_t calls_rejected = 0;      // policy reject / limits, before any B leg
  std::uint64_t failovers = 0;
  std::uint64_t calls_timed_out = 0;     // max call duration reached
  std::uint64_t unknown_dialog = 0;      // 481 sent
  // Session limits of trunks and access peers (admission_limits.cpp, b2bua_pacing.cpp).
  std::uint64_t limited_in_calls = 0;   // INVITEs refused 503: the peer's max_calls_in
  std::uint64_t limited_in_cps = 0;     // INVITEs refused 503: the peer's cps_in
  std::uint64_t limited_out_calls = 0;  // targets skipped: their max_calls_out
  std::uint64_t limited_out_cps = 0;    // targets skipped: cps_out queue full or wait too long
  std::uint64_t calls_paced = 0;        // INVITEs held for their turn on a target's cps_out
  // Caps and checks of the limits section (each refusal is also in calls_rejected, with its reason).
  std::uint64_t refused_max_calls = 0;         // limits.max_calls reached: 503
  std::uint64_t refused_peer_max_calls = 0;    // the source peer's max_calls reached: 503
  std::uint64_t refused_source_max_calls = 0;  // limits.max_calls_per_source reached: 503
  std::uint64_t refused_media_streams = 0;     // more m= lines than limits.max_media_streams: 488
  std::uint64_t in_dialog_wrong_source = 0;    // in-dialog request from outside the leg's peer: 403
  std::uint64_t timer_c_expired = 0;           // B's INVITE CANCELled by Timer C, A got 408
  std::uint64_t ringing_expired = 0;           // unanswered past timers.max_ringing, A got 408
  std::uint64_t identity_removed = 0;          // identity headers from untrusted peers, removed
  std::uint64_t too_long_truncated = 0;        // From display names cut to max_display_name
  std::uint64_t too_long_dropped = 0;          // passed headers over max_header_value, dropped
  std::uint64_t too_long_refused = 0;          // INVITEs refused for a length limit
  SetupHistogram to_progress;            // INVITE received -> first 18x relayed
  SetupHistogram to_answer;              // INVITE received -> 2xx relayed
  std::map<AttemptKey, std::uint64_t> attempts;  // ended calls by labels (bounded keys)
  /// Digest challenges from trunks on calls, by (trunk, "answered" | "failed").
  std::map<std::pair<std::string, std::string>, std::uint64_t> trunk_auth;
};

/// When each call cap (max_calls, a peer's max_calls, max_media_streams) logs. Shard-local.
using CallCapLogs = std::array<RefusalLog, 4>;

/// Receives the record of every call that ended (and of every call refused by policy). Called on
/// the shard thread; must not block (the CDR writer queues it for its own thread).
using CdrSink = std::function<void(cdr::CallRecord&&)>;

/// The current policy as the shard sees it; swapped on reload by the runtime.
using PolicyView = std::function<std::shared_ptr<const policy::PolicySnapshot>()>;

/// Portico's Call-IDs name the shard that owns the call (sip/shard_routing.hpp).
using sip::make_call_id;

class B2bua final : public sip::TransactionUser {
 public:
  /// `layer` is the shard's transaction layer (the front door's; it outlives this object);
  /// `shard` shapes the Call-IDs Portico generates so responses and in-dialog requests for a B
  /// leg are dispatched back to the shard that owns the call.
  B2bua(sip::TransactionLayer& layer, std::uint16_t shard, TimerService& timers,
        transport::Transport& transport, TrunkUsage& trunk_usage,
        SessionMediaFactory& media_factory, PolicyView policy, std::string version);
  ~B2bua() override;

  // sip::TransactionUser, called by the front door
  void on_request(sip::TxnId txn, sip::Message&& req, const transport::Flow& flow) override;
  void on_ack(sip::Message&& ack, const transport::Flow& flow) override;
  void on_cancel(sip::TxnId invite_txn, sip::Message&& cancel) override;
  void on_response(sip::TxnId txn, sip::Message&& resp) override;
  void on_client_failure(sip::TxnId txn, int status) override;
  void on_server_timeout(sip::TxnId txn) override;
  void on_stray_response(sip::Message&& resp, const transport::Flow& flow) override;

  /// Where call records go; none by default. Set before traffic flows.
  void set_cdr_sink(CdrSink sink) { cdr_sink_ = std::move(sink); }
  /// The shard's call traces (owned by the runtime, shard-local): every call's Call-IDs are
  /// registered there so its messages reach its pcap file and HEP correlation. None by default.
  void set_call_traces(trace::CallTraces* traces) { traces_ = traces; }
  /// The bindings `registered` route targets are looked up in (shard-local, owned by the
  /// runtime). Without them a `registered` target finds nobody. Set before traffic flows.
  void set_bindings(const registrar::BindingDirectory* bindings) { bindings_ = bindings; }
  /// The shard's digest authenticator (owned by the runtime, shard-local), for calls from
  /// access peers marked `auth: digest`; without it they are refused (500).
  void set_authenticator(auth::DigestAuthenticator* digest) { digest_ = digest; }

  /// Ends every call (BYE on confirmed legs, CANCEL/487 on early ones). Shutdown.
  void end_all_calls(const std::string& reason);
  /// Graceful shutdown: new calls get 503 with Retry-After; calls in progress carry on.
  void set_draining(bool draining) { draining_ = draining; }

  std::size_t call_count() const { return calls_.size(); }
  /// Calls in progress by (realm in, route, current target): label values from policy names.
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> active_calls() const;
  const B2buaStats& stats() const { return stats_; }

  struct Impl;  // private helpers, split across b2bua_*.cpp by concern

 private:
  friend struct Impl;
  sip::TransactionLayer& layer_;  // not owned: the front door's; outlives this object
  std::uint16_t shard_;
  TimerService& timers_;
  transport::Transport& transport_;
  TrunkUsage& trunk_usage_;
  SessionMediaFactory& media_factory_;
  PolicyView policy_;
  std::string version_;

  CallHandle next_handle_ = 1;
  bool draining_ = false;
  std::unordered_map<CallHandle, std::unique_ptr<Call>> calls_;   // shard-local
  std::unordered_map<std::string, CallHandle> by_call_id_;        // both legs' Call-IDs
  std::unordered_map<sip::TxnId, std::pair<CallHandle, PendingRequest>> pending_;
  std::unordered_map<sip::TxnId, CallHandle> server_txns_;        // server txn -> call
  B2buaStats stats_;
  CallCapLogs cap_logs_;  // when each call cap logs (call_limits.cpp)
  CdrSink cdr_sink_;
  trace::CallTraces* traces_ = nullptr;                       // not owned; shard-local
  const registrar::BindingDirectory* bindings_ = nullptr;     // not owned; shard-local
  auth::DigestAuthenticator* digest_ = nullptr;               // not owned; shard-local
};

}  // namespace portico::b2bua
