#pragma once
// A call: two independent SIP dialogs (legs) joined by Portico, plus the call's media session.
// Everything here is shard-local and owned by the shard's CallTable.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "portico/b2bua/session_media.hpp"
#include "portico/b2bua/trunk_usage.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/policy/matcher.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::b2bua {

/// Handle to a call: unique for the life of the shard, never reused, so a stale handle fails
/// its lookup instead of reaching another call.
using CallHandle = std::uint64_t;

/// One dialog, seen from Portico's side of it (RFC 3261 §12).
struct Leg {
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
  std::string contact;                 // our Contact header value on this leg
  std::string local_host;              // our address on this leg (Via, Contact, hidden URIs)
  bool peer_supports_100rel = false;
  bool peer_requires_100rel = false;
  bool invite_pending = false;         // an INVITE transaction is open in either direction
  std::uint32_t next_rseq = 1;         // reliable provisionals we send on this leg
  std::optional<std::uint32_t> unacked_rseq;  // RSeq of our last unPRACKed reliable 18x
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
};

struct Call {
  CallHandle handle = 0;
  std::string log_id;          // short id on every log line about this call
  std::uint64_t trace = 0;     // the call's trace in the shard's CallTraces (0: not traced)
  std::string trace_file;      // its pcap file (full path); empty without a pcap directory
  CallState state = CallState::Routing;
  policy::CallPlan plan;       // holds the policy snapshot for the life of the call
  std::size_t target_index = 0;
  TrunkUsage::Slot slot;       // concurrent-call slot on the current target
  TimePoint started{};
  TimePoint answered{};
  std::chrono::system_clock::time_point wall_started{};   // for the CDR
  std::chrono::system_clock::time_point wall_answered{};
  int a_final_status = 0;       // final status sent to the caller (0: none yet)
  bool progress_seen = false;   // first 18x relayed (set-up time to progress recorded)
  int attempts = 0;             // route targets tried

  Leg a;                       // caller side (UAS role for the initial INVITE)
  Leg b;                       // callee side (UAC role)
  SessionMediaPtr media;

  // Initial INVITE bookkeeping
  sip::TxnId a_invite_txn = 0;  // server INVITE transaction on A
  sip::TxnId b_invite_txn = 0;  // client INVITE transaction on B (current target)
  std::string a_invite_body;    // A's offer, re-sent to the next target on failover
  std::string a_invite_content_type;
  std::string invite_headers;   // A's headers allowed across, re-used on every target
  std::string caller_display;   // A's From display name and user (calling number)
  std::string caller_user;
  int max_forwards = 70;
  std::string b_invite_ruri;    // for CANCEL (RFC 3261 §9.1: same R-URI, Call-ID, From, CSeq)
  std::string b_invite_via;
  std::string b_invite_to;
  std::uint32_t b_last_rseq = 0;  // last reliable provisional PRACKed on B
  /// Late offer: B's reliable 18x carried the offer, relayed to A reliably; B's PRACK must carry
  /// the answer (RFC 3262 §5), so it waits for A's PRACK. The RAck value to send.
  std::optional<std::string> b_prack_rack;
  bool b_provisional = false;   // B sent a 1xx>100 (CANCEL allowed; no more failover with SDP)
  bool b_early_sdp = false;
  bool cancel_pending = false;  // A cancelled before B sent a provisional
  bool a_cancelled = false;

  // ACK for a 2xx on each leg, kept to answer retransmitted 2xx (RFC 3261 §13.2.2.4).
  std::map<std::uint32_t, std::string> b_acks;  // CSeq -> ACK bytes sent on B
  std::map<std::uint32_t, std::string> a_acks;  // CSeq -> ACK bytes sent on A
  /// 2xx to a re-INVITE relayed to leg X waits for X's ACK before we ACK the other leg:
  /// CSeq on X -> CSeq on the other leg.
  std::uint32_t a_invite_cseq = 0;  // the initial INVITE's CSeq: its ACK carries the same
  std::map<std::uint32_t, std::uint32_t> ack_map_a;  // ACK from A (cseq) -> ACK on B
  std::map<std::uint32_t, std::uint32_t> ack_map_b;  // ACK from B (cseq) -> ACK on A

  int open_client_txns = 0;     // the call is freed only when this is 0 and it is Ending
  std::vector<sip::TxnId> server_txn_ids;  // server transactions mapped to this call
  Timer max_duration;
  Timer reliable_retransmit;    // RFC 3262 §3: our reliable 18x to A until PRACKed
  sip::ResponseParts reliable_parts;
  /// B's 2xx toward A, held until A PRACKs our reliable 18x that carried SDP (RFC 3262 §3:
  /// the 2xx MUST NOT be sent before such a provisional is acknowledged).
  std::optional<sip::ResponseParts> held_answer;
  Millis reliable_interval{0};
  TimePoint reliable_deadline{};
  std::string end_reason;
  std::optional<Error> media_error;  // why the media layer refused the offer toward B

  Leg& leg(Side s) { return s == Side::A ? a : b; }
};

}  // namespace portico::b2bua
