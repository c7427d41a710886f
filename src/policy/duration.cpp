// Durations in policy files always carry a unit. A bare "500" could mean milliseconds (SIP
// timers) or seconds (call limits); guessing wrong by a factor of 1000 is the kind of mistake
// that only shows in production, so it is an error instead.

#include <cctype>

#include "portico/common/strings.hpp"
#include "portico/policy/model.hpp"

namespace portico::policy {

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// "ms" before "m" and "s": the longest suffix must win.
constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000},
                            {"d", 86'400'000}};

// Large enough for any sensible timer, small enough that value * 8.64e7 cannot overflow.
constexpr std::uint64_t kMaxValue = 1'000'000'000;

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  const std::string_view t = trim(text);
  if (parse_uint(t)) {
    return make_error("bad_duration", quoted + " has no unit (write e.g. \"" + std::string(t) +
                                          "ms\" or \"" + std::string(t) +
                                          "s\"; units: ms, s, m, h, d)");
  }
  std::size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) {
    ++digits;
  }
  const auto value = parse_uint(t.substr(0, digits));
  const std::string_view suffix = t.substr(digits);
  for (const Unit& u : kUnits) {
    if (suffix == u.suffix && value) {
      if (*value > kMaxValue) {
        return make_error("bad_duration", quoted + " is too long");
      }
      return Millis{static_cast<std::int64_t>(*value) * u.millis};
    }
  }
  return make_error("bad_duration", quoted +
                                        " is not a duration (expected a whole number and a unit: "
                                        "\"500ms\", \"4s\", \"2m\", \"4h\", \"7d\")");
}

}  // namespace portico::policy
