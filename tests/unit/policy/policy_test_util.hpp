#pragma once
// Helpers shared by the policy tests: load texts and get the diagnostics as strings.

#include <string>
#include <utility>
#include <vector>

#include "portico/policy/loader.hpp"

namespace portico::policy::test {

using Files = std::vector<std::pair<std::string, std::string>>;

/// Loads `files`; returns every diagnostic as text, or an empty list when the policy is valid.
inline std::vector<std::string> diagnostics_of(const Files& files) {
  try {
    load_policy_texts(files);
  } catch (const ConfigError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) {
      out.push_back(d.to_string());
    }
    return out;
  }
  return {};
}

/// Two realms, a trunk and an access peer: the smallest valid policy the tests extend.
inline const char* const kBaseRealms = R"(realms:
  access:
    listeners: [udp://127.0.0.1:5060]
  carrier:
    listeners: [udp://127.0.0.2:5060, tcp://127.0.0.2:5060]
)";

}  // namespace portico::policy::test
