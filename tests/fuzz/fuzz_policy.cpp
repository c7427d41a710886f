// libFuzzer target: the policy loader (policy::load_policy_texts), which an operator's files
// reach at start-up and on every reload. A bad policy must end in ConfigError with diagnostics
// (each naming file, line and field), never in a crash, a hang or another exception.
//
// The input is split at NUL bytes into up to four files, so a fuzzed policy spans files as a
// policy directory does (sections merged, references across files resolved).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portico/policy/loader.hpp"

namespace policy = portico::policy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) {
    return -1;
  }
  static const std::array<const char*, 4> kNames{"p/portico.yaml", "p/routes.yaml",
                                                 "p/trunks/a.yaml", "p/access_peers.yaml"};
  std::vector<std::pair<std::string, std::string>> files;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (files.size() < kNames.size()) {
    const auto nul = rest.find('\0');
    const bool last = nul == std::string_view::npos || files.size() + 1 == kNames.size();
    files.emplace_back(kNames[files.size()], std::string(last ? rest : rest.substr(0, nul)));
    if (last) {
      break;
    }
    rest.remove_prefix(nul + 1);
  }
  try {
    auto snapshot = policy::load_policy_texts(files);
    if (!snapshot) {
      std::abort();
    }
  } catch (const policy::ConfigError& e) {
    if (e.diagnostics().empty()) {
      std::abort();  // a refusal must say why
    }
    for (const auto& d : e.diagnostics()) {
      (void)d.to_string();
    }
  }
  // Any other exception escapes and libFuzzer reports it as a crash.
  return 0;
}
