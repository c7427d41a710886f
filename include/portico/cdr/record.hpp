#pragma once
// Call Detail Records: one record per ended call, enough to answer "what happened to this
// call?" without the logs, and to join with them when needed (`call` matches `call=` there).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::cdr {

/// Everything Portico knows about one call when it ends. A plain value: the B2BUA fills it on
/// the call's shard and moves it into `CdrWriter::submit()`; no thread shares it after that.
struct CallRecord {
  using Clock = std::chrono::system_clock;
  using TimePoint = Clock::time_point;

  std::string call;         ///< Portico's per-call log id (`call=` in the logs).
  std::string a_call_id;    ///< Call-ID of the caller-facing leg.
  std::string b_call_id;    ///< Call-ID of the last callee-facing leg; empty if none was sent.
  std::string realm_in;     ///< Realm the INVITE arrived on.
  std::string source_peer;  ///< Peer the INVITE was classified as coming from.
  std::string route;        ///< Route selected by policy.
  std::string target;       ///< Trunk/peer name that was tried last.
  std::string realm_out;    ///< Realm the B leg left on.
  std::string caller;       ///< Calling user.
  std::string callee;       ///< Called user after rewrite.
  int attempts = 0;         ///< Number of targets tried.
  TimePoint start{};        ///< INVITE received.
  std::optional<TimePoint> answer;  ///< 200 OK sent to the caller; empty if never answered.
  TimePoint end{};                  ///< Call torn down (BYE, final failure, cancel...).
  int final_status = 0;  ///< Final SIP status sent to the caller; 200 for answered calls.
  /// Stable token: "a_bye", "b_bye", "caller_cancelled", "status_486", "max_call_duration",
  /// "no_ack", "shutdown", "timeout", "transport_error", "no_target_available", ...
  std::string end_reason;
  std::string disconnect;  ///< Who ended it: "caller" | "callee" | "portico".
  bool media_anchored = false;  ///< RTP went through Portico (both realms have media).
  std::string codec;            ///< First codec of the answered audio stream ("PCMA"); may be empty.
  std::uint64_t packets_a_to_b = 0;  ///< RTP/RTCP packets relayed caller -> callee.
  std::uint64_t packets_b_to_a = 0;  ///< RTP/RTCP packets relayed callee -> caller.
  /// Media quality as the receiving end reported it by RTCP (first stream); empty (JSON null)
  /// when that end sent no reception report. Lost: cumulative packets; jitter: the highest.
  std::optional<std::uint32_t> lost_a_to_b;
  std::optional<std::uint32_t> lost_b_to_a;
  std::optional<double> jitter_ms_a_to_b;
  std::optional<double> jitter_ms_b_to_a;
  std::string trace;  ///< The call's pcap file (full path); empty when traces are off.
  /// Per leg, when its signalling was SIP over TLS: the negotiated version ("TLSv1.3") and
  /// cipher ("TLS_AES_256_GCM_SHA384"); empty for UDP and TCP legs.
  std::string a_tls_version;
  std::string a_tls_cipher;
  std::string b_tls_version;
  std::string b_tls_cipher;

  /// Talk time, answer to end; zero for an unanswered call. Never negative (the wall clock
  /// may step backwards between two time points).
  std::chrono::milliseconds duration() const;
  /// Post-dial delay: INVITE to answer, or INVITE to end when unanswered. Never negative.
  std::chrono::milliseconds setup_time() const;
};

/// Serialises `record` as one JSON object followed by '\n'. Pure; any thread.
///
/// Keys, always present and always in this order (consumers may rely on it):
///   call, a_call_id, b_call_id, realm_in, source_peer, route, target, realm_out, caller,
///   callee, attempts, start, answer, end, duration_ms, setup_ms, final_status, end_reason,
///   disconnect, media_anchored, codec, packets_a_to_b, packets_b_to_a, lost_a_to_b,
///   lost_b_to_a, jitter_ms_a_to_b, jitter_ms_b_to_a, trace, a_tls_version, a_tls_cipher,
///   b_tls_version, b_tls_cipher
/// Timestamps are ISO-8601 UTC with milliseconds ("2026-11-24T22:00:00.123Z"); `answer` is
/// null when the call was never answered. Durations are integer milliseconds. Strings are
/// escaped per RFC 8259; valid UTF-8 passes through, invalid bytes become U+FFFD so a
/// hostile header cannot make the line unparseable.
std::string to_json_line(const CallRecord& record);

/// "2026-11-24T22:00:00.123Z": UTC, milliseconds truncated towards the past. Any thread.
std::string format_utc_ms(CallRecord::TimePoint t);

/// Appends `text` to `out` as a quoted JSON string (escaping as described above). Any thread.
void append_json_string(std::string& out, std::string_view text);

}  // namespace portico::cdr
