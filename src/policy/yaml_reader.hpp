#pragma once
// Private to the policy module. Reading YAML into typed values without ever throwing at the
// first problem: every helper reports what is wrong (with file:line:col and the field path) to
// a Diagnostics collector and returns an empty optional, so the loader carries on and the user
// sees every mistake in one run.
//
// yaml-cpp marks are 0-based; SourceLoc is 1-based, like every editor and compiler.

#include <yaml-cpp/yaml.h>

#include <asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portico/policy/loader.hpp"
#include "portico/policy/model.hpp"

namespace portico::policy::detail {

/// Collects diagnostics during one load. Control thread only.
class Diagnostics {
 public:
  void add(SourceLoc loc, std::string path, std::string message);
  bool empty() const { return diags_.empty(); }
  std::size_t size() const { return diags_.size(); }
  /// Ordered by file, line, column (stable for equal positions), as a compiler would print them.
  std::vector<Diagnostic> take_sorted();

 private:
  std::vector<Diagnostic> diags_;
};

/// One value read from a YAML mapping or list, with what is needed to report on it.
struct Field {
  YAML::Node value;
  std::string path;   // "trunks.demo.port", "routes[2].targets[0]"
  SourceLoc key_loc;  // the key (or list item) that introduced the value
  SourceLoc loc;      // the value itself; the key's position when the value is empty
};

using FieldMap = std::map<std::string, Field>;
using KeyList = std::vector<std::string_view>;

/// Reading context for one file: its name and where problems go.
class Reader {
 public:
  Reader(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  const std::string& file() const { return file_; }
  SourceLoc loc_of(const YAML::Node& node, const SourceLoc& fallback) const;
  void error(const SourceLoc& loc, const std::string& path, std::string message) const;
  void error(const Field& f, std::string message) const {
    error(f.loc, f.path, std::move(message));
  }

  /// The top-level document as a field with an empty path.
  Field root(const YAML::Node& doc) const;

  /// Entries of a mapping; unknown keys are reported with a did-you-mean suggestion. An empty
  /// `allowed` accepts any key (maps keyed by name).
  std::optional<FieldMap> map(const Field& f, const KeyList& allowed) const;
  std::optional<std::vector<Field>> list(const Field& f) const;

  std::optional<std::string> string(const Field& f) const;
  std::optional<std::int64_t> integer(const Field& f) const;
  /// An integer within [lo, hi]; outside it reports "<value> <what>" ("70000 is not a port").
  std::optional<std::int64_t> integer_in(const Field& f, std::int64_t lo, std::int64_t hi,
                                         std::string_view what) const;
  std::optional<bool> boolean(const Field& f) const;
  std::optional<Millis> duration(const Field& f) const;
  std::optional<std::uint16_t> port(const Field& f) const;
  std::optional<asio::ip::address> ip(const Field& f) const;
  std::optional<Protocol> protocol(const Field& f) const;
  std::optional<Cidr> cidr(const Field& f) const;
  /// A list of CIDRs; std::nullopt if any item is bad.
  std::optional<std::vector<Cidr>> cidrs(const Field& f) const;
  /// A name usable as a map key and a metric label; reported at `loc` under `path` if not.
  bool check_name(const std::string& name, const SourceLoc& loc, const std::string& path) const;

  /// The field `key` of `fields`, or nullptr after reporting it missing at `parent`.
  const Field* require(const FieldMap& fields, const std::string& key, const Field& parent) const;

 private:
  std::string file_;
  Diagnostics& diags_;
};

/// The field `key` of `fields`, or nullptr when it is absent.
const Field* find(const FieldMap& fields, const std::string& key);

/// The closest of `candidates` to `word` by edit distance, or empty when none is close.
std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates);

/// `"x"` with the quotes, for messages.
std::string quote(std::string_view s);
/// "a, b, c" (or "none").
std::string join(const std::vector<std::string>& names);
/// "file:line:col" for "first defined at ..." messages.
std::string where(const SourceLoc& loc);

/// "udp://127.0.0.1:5060", "tcp://[::1]:5060".
std::string listener_uri(const Listener& l);

}  // namespace portico::policy::detail
