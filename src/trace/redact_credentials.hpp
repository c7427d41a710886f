#pragma once
// Private to the trace module: digest responses taken out of SIP text before it is logged. A
// `response=` is a hash of the password, open to an offline dictionary attack, so the
// `sip.trace` log lines never show it (nor a `cnonce`-free RFC 2069 one): the value of each
// Authorization / Proxy-Authorization field's `response` parameter becomes "redacted".

#include <string>
#include <string_view>

namespace portico::trace {

/// `data` with every Authorization / Proxy-Authorization `response="..."` value replaced by
/// `redacted`; returns false and leaves `out` untouched when there is nothing to redact.
bool redact_credentials(std::string_view data, std::string& out);

}  // namespace portico::trace
