#include "portico/sip/extensions.hpp"

#include <string_view>

#include "portico/common/strings.hpp"

namespace portico::sip {

std::string unsupported_options(const Message& req) {
  std::string out;
  for (const auto& value : req.header_values("Require")) {
    std::string_view rest = value;
    for (bool more = true; more;) {
      const auto comma = rest.find(',');
      more = comma != std::string_view::npos;
      const std::string_view opt = trim(rest.substr(0, comma));
      if (!opt.empty() && !iequals(opt, "100rel") && !iequals(opt, "timer")) {
        out += out.empty() ? "" : ", ";
        out += opt;
      }
      rest = more ? rest.substr(comma + 1) : std::string_view{};
    }
  }
  return out;
}

}  // namespace portico::sip
