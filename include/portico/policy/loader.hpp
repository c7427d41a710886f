#pragma once
// Loading a policy directory: every *.yaml file under it (recursively, sorted by path) is parsed
// with yaml-cpp, its sections merged, every field checked, references resolved. All problems are
// collected, each as `file:line:col: field.path: message`, and thrown together in ConfigError.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "portico/policy/model.hpp"

namespace portico::policy {

struct Diagnostic {
  SourceLoc loc;
  std::string path;     // "trunks.acme.port", "routes[2].targets[0].trunk"
  std::string message;  // "70000 is not a port"
  /// "policies/trunks/acme.yaml:12:7: trunks.acme.port: 70000 is not a port"
  std::string to_string() const;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diags);
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

/// Loads and validates the directory (or a single file). Throws ConfigError. Control thread.
std::shared_ptr<const PolicySnapshot> load_policy(const std::string& path);

/// Same, from in-memory (file name, text) pairs: for tests.
std::shared_ptr<const PolicySnapshot> load_policy_texts(
    const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace portico::policy
