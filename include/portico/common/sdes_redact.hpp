#pragma once
// Keeping SRTP keys out of logs, traces and pcaps: SDES (RFC 4568) puts the master key in the
// SDP itself (a=crypto:... inline:<base64 key||salt>), so any copy of a SIP message or SDP
// body that leaves Portico's memory goes through redact_crypto_keys first. In common (not sdp)
// because the trace writer, which knows nothing of SDP, applies it. Pure; any thread.

#include <string>
#include <string_view>

namespace portico {

/// `text` with every `inline:` key replaced by "<redacted>" (a following |lifetime|MKI is kept),
/// so SDP can be logged, traced or written to a pcap without its keys. Any text, a whole SIP
/// message too.
std::string redact_crypto_keys(std::string_view text);
/// Whether `text` holds an `inline:` key that redact_crypto_keys would replace (a cheap check).
bool has_crypto_keys(std::string_view text);

}  // namespace portico
