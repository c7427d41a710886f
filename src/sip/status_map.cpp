#include "portico/sip/status_map.hpp"

namespace portico::sip {

int rejection_status(std::string_view reason) {
  if (reason == "unsupported_uri_scheme") {
    return 416;
  }
  return 400;
}

}  // namespace portico::sip
