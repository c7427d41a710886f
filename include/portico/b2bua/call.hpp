#pragma once
// A call: two independent SIP dialogs (legs) joined by Portico, plus the call's media session.
// Owned by the shard's B2bua (its map of calls by CallHandle).
//
// Threading (docs/style.md, "Threading"): a Call and its Legs are shard-local. Every field is
// read and written only on the thread of the shard that owns the call. What they point to may
// be shared, and says so where it is held: `plan.policy` (immutable), `slot` (a TrunkUsage
// counter), `media` (relay counters the media shard writes).

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/trunk_usage.hpp"
#include "portico/common/side.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/policy/matcher.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::b2bua {

/// Handle to a call: unique for the life of the shard, never reused, so a stale handle fails
/// its lookup instead of reaching another call.
using CallHandle = std::uint64_t;

/// One dialog, seen from Portico's side of it (RFC 3261 §12), and the initial INVITE that
/// created it. Portico is the UAS of A's INVITE and the UAC of B's, so a few fields are used
/// on one side only: they say which, and they live here because they describe that leg's
/// INVITE transaction, not the call. A new target (failover) gets a fresh B Leg.
/// Shard-local, like its Call.
struct Leg {
  // The dialog.
  std::string realm;
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_uri;      // our From/To URI on this leg, as a header value without tag
  std::string remote_uri;     // the peer's URI, header value without tag
  std::string remote_target;  // the peer's Contact URI (Request-URI of our requests)
  std::vector<std::string> route_set;  // Route header values for our requests
  std::uint32_t local_cseq = 0;        // last CSeq we sent
  std::uint32_t remote_cseq = 0;       // last CSeq received
  transport::Destination dst;          // where requests on this leg go
  std::shared_ptr<const transport::TlsInfo> tls;  // A only: the INVITE's TLS connection, if any
  std::string contact;                 // our Contact header value on this leg
  std::string local_host;              // our address on this leg (Via, Contact, hidden URIs)

  // The initial INVITE on this leg.
  sip::TxnId invite_txn = 0;           // A: our server transaction; B: our client one
  std::uint32_t invite_cseq = 0;       // its CSeq: the ACK of its 2xx carries the same
  bool invite_pending = false;         // an INVITE transaction is open in either direction
  int final_status = 0;                // A only: final status sent to the caller (0: none yet)
  bool peer_supports_100rel = false;   // A only: read from A's INVITE
  bool peer_requires_100rel = false;   // A only
  // B only: what a CANCEL must repeat of our INVITE (RFC 3261 §9.1: same Request-URI, Via,
  // To, Call-ID, From and CSeq number).
  std::string invite_ruri;
  std::string invite_via;
  std::string invite_to;
  bool cancel_pending = false;  // B only: to CANCEL as soon as B sends a provisional
  bool provisional = false;     // B only: B sent a 1xx>100 (CANCEL now allowed)
  bool early_sdp = false;       // B only: an 18x with SDP was relayed (no more failover)

  // RFC 3262 as UAS: reliable provisionals Portico sends on this leg (A only).
  std::uint32_t next_rseq = 1;
  std::optional<std::uint32_t> unacked_rseq;  // RSeq of our last unPRACKed reliable 18x
  sip::ResponseParts reliable_parts;          // that 18x, retransmitted until PRACKed (§3)
  Millis reliable_interval{0};
  TimePoint reliable_deadline{};  // 64*T1 after the first send
  Timer reliable_retransmit;
  /// The 2xx toward this leg, held until it PRACKs our reliable 18x that carried SDP (§3: the
  /// 2xx MUST NOT be sent before such a provisional is acknowledged).
  std::optional<sip::ResponseParts> held_answer;
  // RFC 3262 as UAC: reliable provisionals the peer sends on this leg (B only).
  std::uint32_t last_rseq = 0;  // last one PRACKed
  /// Late offer: B's reliable 18x carried the offer, relayed to A reliably; B's PRACK must
  /// carry the answer (§5), so it waits for A's PRACK. The RAck value to send.
  std::optional<std::string> prack_rack;

  // ACKs for 2xx on this leg.
  std::map<std::uint32_t, std::string> acks;  // CSeq -> ACK bytes sent on this leg, kept to
                                              // answer a retransmitted 2xx (§13.2.2.4)
  /// A 2xx relayed to this leg waits for its ACK before Portico ACKs the other leg: CSeq of
  /// the ACK expected from this leg's peer -> CSeq of the ACK to send on the other leg.
  std::map<std::uint32_t, std::uint32_t> ack_relay;
};

/// Call states, in the order a call normally goes through them.
enum class CallState {
  Routing,     // A's INVITE accepted, B's INVITE sent (to the current target), no answer yet
  Early,       // a provisional (18x) came back and was relayed to A
  Confirmed,   // 2xx relayed; both dialogs established
  Ending,      // BYE/CANCEL/failure under way; waiting for open transactions to finish
};
const char* to_string(CallState s);

/// A client transaction Portico opened on one leg, and what its responses mean.
struct PendingRequest {
  enum class Kind { InitialInvite, ReInvite, Relay, Bye, Cancel, Prack };
  Kind kind = Kind::Relay;
  Side leg = Side::B;          // the leg the request was sent on
  sip::TxnId server_txn = 0;   // the server transaction on the other leg to answer, or 0
  std::uint32_t cseq = 0;      // CSeq of the request we sent
  std::uint32_t server_cseq = 0;  // CSeq of the request on the other leg it relays
  bool offer_in_request = false;  // the request carried a body (SDP offer)
  /// A request to a trunk Portico has credentials for: its bytes, resent once with them on a
  /// 401/407 (trunk_auth.cpp). Empty otherwise (and for CANCEL, never challenged).
  std::string resend;
  int challenges = 0;  // 401/407 answered for this request so far
};

/// Shard-local (see the file comment).
struct Call {
  CallHandle handle = 0;
  std::string log_id;          // short id on every log line about this call
  std::uint64_t trace = 0;     // the call's trace in the shard's CallTraces (0: not traced)
  std::string trace_file;      // its pcap file (full path); empty without a pcap directory
  CallState state = CallState::Routing;
  /// Its `policy` is the immutable snapshot (shared by every shard that holds it) the call
  /// keeps for its life.
  policy::CallPlan plan;
  std::size_t target_index = 0;
  /// One unit of a TrunkUsage counter all shards share: written by: any shard (acquire and
  /// release, relaxed read-modify-write); read by: any shard's acquire.
  TrunkUsage::Slot slot;       // concurrent-call slot on the current target
  // Session limits, TrunkUsage counters like `slot`: one of the source peer's max_calls_in,
  // one of the current target's max_calls_out, a place in its pacing queue while waiting.
  TrunkUsage::Slot in_slot;
  TrunkUsage::Slot out_slot;
  TrunkUsage::Slot queue_place;
  Timer pacing;                   // armed while the call waits for its turn on cps_out
  std::uint32_t retry_after = 0;  // seconds: a target refused the call on cps_out
  TrunkUsage::Slot source_slot;   // the same kind of slot on the peer the call came from
  TrunkUsage::Slot total_slot;    // one of limits.max_calls, all peers together
  TrunkUsage::Slot address_slot;  // one of limits.max_calls_per_source, for its source address
  TimePoint started{};
  TimePoint answered{};
  std::chrono::system_clock::time_point wall_started{};   // for the CDR
  std::chrono::system_clock::time_point wall_answered{};
  bool progress_seen = false;   // first 18x relayed (set-up time to progress recorded)
  int attempts = 0;             // route targets tried

  std::array<Leg, 2> legs;  // index_of(Side): A the caller side, B the callee side
  /// Its relay streams' counters and last-receive times: written by: the media shard; read
  /// by: this shard (relaxed atomics, see portico/media/relay.hpp). The rest is this shard's.
  SessionMediaPtr media;

  // The caller's INVITE, re-used on every target.
  std::string caller_body;  // A's offer (empty: late offer)
  std::string caller_content_type;
  std::string invite_headers;   // A's headers allowed across
  std::string caller_display;   // A's From display name and user (calling number)
  std::string caller_user;
  int max_forwards = 70;

  int open_client_txns = 0;     // the call is freed only when this is 0 and it is Ending
  std::vector<sip::TxnId> server_txn_ids;  // server transactions mapped to this call
  Timer max_duration;
  Timer timer_c;      // RFC 3261 §16.6: B's INVITE without a final (call_timers.cpp)
  Timer max_ringing;  // the call unanswered for timers.max_ringing
  bool wrong_source_logged = false;  // one call.wrong_source line per call
  std::string end_reason;
  std::optional<Error> media_error;  // why the media layer refused the offer toward B

  Leg& leg(Side s) { return legs[index_of(s)]; }
  const Leg& leg(Side s) const { return legs[index_of(s)]; }
};

}  // namespace portico::b2bua
