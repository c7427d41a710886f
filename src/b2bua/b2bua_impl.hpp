#pragma once
// Private helpers of B2bua, split by concern across files. Each is declared below under the
// file that defines it:
//   b2bua.cpp            dispatch of requests/responses to calls, out-of-dialog requests
//   b2bua_invite.cpp     initial INVITE: the call, the B leg towards each target, failover
//   admission.cpp        the admission chain a new INVITE passes first (admission.hpp)
//   b2bua_registered.cpp `registered` targets: the admission stage that resolves them
//   b2bua_answer.cpp     B's provisionals and answer relayed to A; reliable provisionals
//   b2bua_dialog.cpp     in-dialog requests (BYE, re-INVITE, UPDATE, INFO, PRACK, ACK) relay
//   b2bua_teardown.cpp   ending calls and freeing them
//   b2bua_cdr.cpp        call records and attempt counters
//   leg_messages.cpp     building requests and response parts from a leg's dialog state

#include <optional>
#include <string>

#include "portico/b2bua/b2bua.hpp"
#include "portico/sip/message_builder.hpp"

namespace portico::b2bua {

/// What relayed_headers removed from one message (edge_checks.cpp adds them to the stats).
struct PassedHeaderCounts {
  std::uint64_t identity_removed = 0;  // identity headers from an untrusted peer
  std::uint64_t too_long_dropped = 0;  // values over max_header_value
};

/// A new call's INVITE against the length limits (edge_checks.cpp).
struct CrossingCheck {
  int status = 0;       // 0: within the limits (display name maybe truncated); else refused
  std::string reason;   // stable token of a refusal: "uri_too_long", "body_too_long"...
  std::string display;  // the From display name to send on (truncated if it was too long)
};

/// Checks the Request-URI, From/To URIs, body, From display name and passed headers of an
/// initial INVITE against the headers rules; counts truncations and refusals in `stats`.
CrossingCheck check_crossing(const sip::Message& req, const policy::HeaderRules& rules,
                             B2buaStats& stats);

struct B2bua::Impl {
  // b2bua.cpp
  static Call* find_call(B2bua& self, CallHandle h);
  static Call* find_by_call_id(B2bua& self, const std::string& call_id, Side& side);
  static void out_of_dialog(B2bua& self, sip::TxnId txn, sip::Message&& req,
                            const transport::Flow& flow);
  static void respond(B2bua& self, sip::TxnId txn, int status, std::string reason = {},
                      std::string extra = {});
  static sip::TxnId send_on_leg(B2bua& self, Call& call, Side side, std::string bytes,
                                PendingRequest pending);
  /// "Server: Portico\r\n" (or User-Agent, per `header`); empty when server_name is empty.
  static std::string server_line(const B2bua& self, const policy::PolicySnapshot& p,
                                 std::string_view header);

  // edge_checks.cpp
  /// Whether side `s`'s peer (the call's source peer, or its current target) is `trusted`.
  static bool peer_trusted(const Call& call, Side s);
  /// relayed_headers for a message from side `from`'s peer, with that peer's trust; what was
  /// removed is counted in the shard's stats.
  static std::string passed_headers(B2bua& self, const Call& call, Side from,
                                    const sip::Message& msg, const std::string& local_host);

  // b2bua_invite.cpp
  /// Admission (admission.hpp), then the call and its first target; a refusal is answered,
  /// counted and recorded here.
  static void initial_invite(B2bua& self, sip::TxnId txn, sip::Message&& req,
                             const transport::Flow& flow);
  /// The call of an admitted INVITE, with its A leg, registered in the shard's maps.
  static Call& create_call(B2bua& self, sip::TxnId txn, const sip::Message& req,
                           const transport::Flow& flow, policy::CallPlan&& plan);
  static void arm_call_timers(B2bua& self, Call& call);
  /// A fresh B leg towards the next target that has room and a listener; false if none is
  /// left or the media layer refused the offer (call.media_error).
  static bool try_next_target(B2bua& self, Call& call);
  static bool send_initial_invite(B2bua& self, Call& call, const std::string& host,
                                  std::uint16_t port);
  /// Starts the B leg towards call.target_index (slot held): Sent, or why not.
  enum class Start { Sent, NoListener, MediaRefused };
  static Start start_target(B2bua& self, Call& call);
  /// No target took the call: the final answer to A (media refusal, 503 with Retry-After
  /// when only the targets' CPS refused it, else 503 no_target_available).
  static void no_target_left(B2bua& self, Call& call);

  // Outbound session limits and pacing (b2bua_pacing.cpp).
  enum class Pace { Go, Queued, Skip };
  /// max_calls_out and cps_out of the target: Go now, Queued (start_target runs at the call's
  /// turn, in at most pacing_wait), or Skip to the next target.
  static Pace pace_target(B2bua& self, Call& call, const policy::ResolvedTarget& t);
  static void paced_turn(B2bua& self, CallHandle h);
  /// Leaves the pacing queue (a call ending while it waits for its turn).
  static void leave_pacing(Call& call);
  /// Counts an admission refusal of the peer limits (by its reason).
  static void count_limited(B2bua& self, const std::string& reason);
  static void invite_response(B2bua& self, Call& call, sip::TxnId txn, sip::Message&& resp);
  static void invite_failed(B2bua& self, Call& call, int status, const std::string& reason,
                            const sip::Message* resp);
  static bool local_address(B2bua& self, const Leg& leg, std::string& host, std::uint16_t& port);

  // call_timers.cpp
  /// Binds the call's Timer C and max_ringing timers and starts max_ringing.
  static void arm_ringing_timers(B2bua& self, Call& call);
  /// (Re)starts Timer C for B's current INVITE.
  static void restart_timer_c(B2bua& self, Call& call);

  // b2bua_answer.cpp
  /// PRACKs B's reliable provisional (or keeps the RAck for A's answer, late offer). False
  /// for a retransmission, which is discarded.
  static bool send_prack(B2bua& self, Call& call, const sip::Message& resp);
  static void send_b_prack(B2bua& self, Call& call, const std::string& rack,
                           const std::string& content_type, const std::string& body);
  /// The response to A for B's `resp`: status, A's tag, allowed headers, Portico's Contact and
  /// Server, and the body once the media session has seen it (its error if it refused).
  static std::optional<Error> a_response_parts(B2bua& self, Call& call, const sip::Message& resp,
                                               sip::ResponseParts& parts);
  static void relay_provisional(B2bua& self, Call& call, const sip::Message& resp);
  static void retransmit_reliable(B2bua& self, CallHandle h);
  static void prack_from_a(B2bua& self, Call& call, sip::TxnId txn, const sip::Message& req);
  static void relay_answer(B2bua& self, Call& call, const sip::Message& resp);

  // b2bua_dialog.cpp
  static void in_dialog(B2bua& self, Call& call, Side from, sip::TxnId txn, sip::Message&& req,
                        const transport::Flow& flow);
  /// True if `flow` may carry in-dialog requests of leg `from` (b2bua_dialog.cpp).
  static bool from_leg_peer(const Call& call, Side from, const transport::Flow& flow);
  static void relay_request(B2bua& self, Call& call, Side from, sip::TxnId txn,
                            const sip::Message& req);
  static void relayed_response(B2bua& self, Call& call, const PendingRequest& p,
                               sip::Message&& resp);
  static void ack(B2bua& self, Call& call, Side from, const sip::Message& ack);
  static void send_ack(B2bua& self, Call& call, Side side, std::uint32_t cseq,
                       const std::string& content_type, const std::string& body);

  // b2bua_teardown.cpp
  static void end_call(B2bua& self, Call& call, const std::string& reason,
                       std::optional<Side> bye_from, int a_status = 0);
  static void send_bye(B2bua& self, Call& call, Side side);
  static void send_cancel(B2bua& self, Call& call);
  static void finish_if_done(B2bua& self, Call& call);
  static void destroy(B2bua& self, CallHandle h);
  static void client_done(B2bua& self, sip::TxnId txn);

  // trunk_auth.cpp
  /// What Portico answers the challenges of side `s`'s peer with: its trunk's `auth` block,
  /// else its `register` block's credentials; null when the peer is no such trunk. `trunk`
  /// gets the trunk's name.
  static const policy::DigestSecret* trunk_secret(const Call& call, Side s, std::string& trunk);
  /// A 401/407 to request `p` (already finished as a transaction): resent once with
  /// credentials, or, challenged again, logged `call.auth_failed` and counted, and for the
  /// initial INVITE the attempt ended (403, auth_failed). True when handled here; false: the
  /// caller handles `resp` as any failure.
  static bool answer_challenge(B2bua& self, Call& call, const PendingRequest& p,
                               const sip::Message& resp);

  // b2bua_cdr.cpp
  static void emit_cdr(B2bua& self, const Call& call);
  static void count_attempt(B2bua& self, const std::string& realm, const std::string& route,
                            const std::string& target, int final_status);
  static void emit_rejected_cdr(B2bua& self, const sip::Message& req, const transport::Flow& flow,
                                int status, const std::string& reason);
};

// b2bua_invite.cpp ---------------------------------------------------------------------------

/// The SIP status for an offer the media layer refused: 503 when Portico ran out of ports
/// (the caller may retry elsewhere), 488 Not Acceptable Here for the offer itself.
int media_failure_status(const std::string& reason);

// leg_messages.cpp ---------------------------------------------------------------------------

/// A request Portico built, to be sent again after a challenge (RFC 3261 §22.2): the top Via's
/// branch replaced by `branch`, the CSeq number by `cseq`, and `auth_line` ("Name: value\r\n")
/// added at the end of the headers. nullopt if `bytes` has no Via branch, CSeq or header end.
std::optional<std::string> with_credentials(std::string_view bytes, std::string_view branch,
                                            std::uint32_t cseq, std::string_view auth_line);

/// `"Display" <uri>` or `<uri>`.
std::string name_addr(const std::string& display, const std::string& uri);
/// Builds a request inside `leg`'s dialog (RFC 3261 §12.2.1.1): Request-URI = remote target,
/// From/To/Call-ID from the dialog, our own Via (new branch) and Contact, the route set.
/// `extra` holds complete header lines; `max_forwards` 70 unless relaying.
std::string leg_request(const Leg& leg, std::string_view method, std::uint32_t cseq,
                        const std::string& via_host, std::uint16_t via_port,
                        const std::string& branch, const std::string& extra,
                        const std::string& content_type, const std::string& body,
                        int max_forwards = 70);
/// Adds "Name: value\r\n" lines to a builder.
void add_header_lines(sip::MessageBuilder& b, std::string_view lines);
/// Via header value for a request Portico sends.
std::string via_value(transport::Protocol p, const std::string& host, std::uint16_t port,
                      const std::string& branch);
/// New Via branch with the RFC 3261 magic cookie.
std::string new_branch();
/// Header lines of `msg` that may cross to the other leg under `rules`, plus the protocol
/// headers a dialog needs end to end (Supported, Require without 100rel, Allow, Event...).
/// URI hosts in pass-listed headers (P-Asserted-Identity, Diversion...) become `local_host`,
/// Portico's address on the leg the header is sent on.
/// Identity headers cross only when `trusted`; values over max_header_value are dropped; both
/// counted in `counts`.
std::string relayed_headers(const sip::Message& msg, const policy::HeaderRules& rules,
                            const std::string& local_host, bool trusted,
                            PassedHeaderCounts& counts);
/// Replaces the host (IP literal or name) of every sip:/sips: URI in a header value.
std::string hide_hosts(std::string_view value, const std::string& local_host);
/// The Warning line of a media refusal (488): a fixed text per reason, no topology.
std::string media_warning(const std::string& reason, const std::string& host = "-");
/// The reason phrase for a relayed response: the other leg's only with relay_reason_phrases,
/// else empty (the standard phrase).
std::string relayed_reason(const sip::Message& resp, const policy::HeaderRules& rules);
/// Contact header value for Portico on a realm/protocol.
std::string contact_for(const std::string& host, std::uint16_t port, transport::Protocol p);
/// "sip:user@host:port;transport=tcp" for a target.
std::string target_uri(const std::string& user, const transport::Endpoint& ep,
                       transport::Protocol p);

}  // namespace portico::b2bua
