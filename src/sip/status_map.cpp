#include "portico/sip/status_map.hpp"

namespace portico::sip {

int rejection_status(std::string_view reason) {
  if (reason == "unsupported_uri_scheme") {
    return 416;  // RFC 3261 §8.2.2.1
  }
  if (reason == "bad_sip_version") {
    return 505;  // RFC 3261 §21.5.7, RFC 4475 §3.1.2.16
  }
  if (reason == "auth_failed") {
    return 403;  // a trunk refused Portico's credentials: the caller may not call through it
  }
  return 400;
}

}  // namespace portico::sip
