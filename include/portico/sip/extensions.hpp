#pragma once
// The SIP extensions Portico implements, and the RFC 3261 §8.2.2.3 check of a request's
// Require header against them. One list for every transaction user (B2BUA and registrar), so
// a request is refused with the same 420 wherever it lands.

#include <string>

#include "portico/sip/message.hpp"

namespace portico::sip {

/// The option tags in `req`'s Require headers that Portico does not support (it supports
/// 100rel and timer), comma-separated in the order received; "" when every one is supported.
/// The caller answers 420 with `Unsupported: <result>`.
std::string unsupported_options(const Message& req);

}  // namespace portico::sip
