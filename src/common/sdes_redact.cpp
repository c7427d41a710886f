#include "portico/common/sdes_redact.hpp"

namespace portico {

bool has_crypto_keys(std::string_view text) {
  return text.find("inline:") != std::string_view::npos;
}

std::string redact_crypto_keys(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (true) {
    const auto at = text.find("inline:", pos);
    if (at == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    out.append(text.substr(pos, at + 7 - pos));
    out.append("<redacted>");
    // The key runs to the next '|' (lifetime/MKI kept), ';', space or line end.
    std::size_t end = at + 7;
    while (end < text.size() &&
           std::string_view("|; \t\r\n").find(text[end]) == std::string_view::npos) {
      ++end;
    }
    pos = end;
  }
}

}  // namespace portico
