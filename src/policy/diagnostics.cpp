// Diagnostics: formatting, collection, and the "did you mean" suggestion for misspelt keys.

#include <algorithm>
#include <sstream>
#include <tuple>

#include "portico/common/strings.hpp"
#include "yaml_reader.hpp"

namespace portico::policy {

std::string Diagnostic::to_string() const {
  std::string out;
  if (!loc.file.empty()) {
    out += loc.file;
    // A problem with the file as a whole (unreadable, no realms anywhere) has no line.
    if (loc.line > 0) {
      out += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
    }
    out += ": ";
  }
  if (!path.empty()) {
    out += path + ": ";
  }
  out += message;
  return out;
}

namespace {

std::string summarize(const std::vector<Diagnostic>& diags) {
  std::ostringstream os;
  os << diags.size() << (diags.size() == 1 ? " policy error" : " policy errors");
  for (const auto& d : diags) {
    os << "\n" << d.to_string();
  }
  return os.str();
}

}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diags)
    : std::runtime_error(summarize(diags)), diags_(std::move(diags)) {}

namespace detail {

void Diagnostics::add(SourceLoc loc, std::string path, std::string message) {
  diags_.push_back(Diagnostic{std::move(loc), std::move(path), std::move(message)});
}

std::vector<Diagnostic> Diagnostics::take_sorted() {
  std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.loc.file, a.loc.line, a.loc.column) <
           std::tie(b.loc.file, b.loc.line, b.loc.column);
  });
  return std::move(diags_);
}

namespace {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so the most
// common typo ("prot" for "port") costs 1, not 2.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= m; ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

}  // namespace

std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
  const std::string lower = to_lower(word);
  // Short words tolerate one edit, longer ones two; beyond that a suggestion is a guess.
  const std::size_t limit = lower.size() <= 3 ? 1 : 2;
  std::string best;
  std::size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    const std::size_t dist = edit_distance(lower, to_lower(c));
    if (dist < best_distance) {
      best_distance = dist;
      best = std::string(c);
    }
  }
  return best;
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) {
    return "none";
  }
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

std::string where(const SourceLoc& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

}  // namespace detail
}  // namespace portico::policy
