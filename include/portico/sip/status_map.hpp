#pragma once
// One table from a message's rejection reason (the stable token Message::validate() returns)
// to the status Portico answers with. Everything malformed is 400 except where an RFC names
// a better code.

#include <string_view>

namespace portico::sip {

/// 416 for "unsupported_uri_scheme" (RFC 3261 §8.2.2.1), 505 for "bad_sip_version", 403 for
/// "auth_failed" (a trunk challenged Portico's credentials again), else 400.
int rejection_status(std::string_view reason);

}  // namespace portico::sip
