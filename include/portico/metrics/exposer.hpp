#pragma once
// Prometheus exposition. This module is the only one that includes prometheus-cpp: the rest of
// Portico hands it plain Samples, gathered at scrape time by a SampleSource (the runtime asks
// every shard for its counters by posting to it, so shard counters stay single-writer and
// unlocked). Metric names follow portico_<module>_<thing>_<unit>; labels come from bounded
// sets only (realm, direction, reason, side), never a Call-ID or an address.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace portico::metrics {

enum class Type { Counter, Gauge, Histogram };

/// A histogram's state: bucket upper bounds (ascending, +Inf implied) with cumulative counts.
struct HistogramValue {
  std::vector<std::pair<double, std::uint64_t>> buckets;  // (upper bound, cumulative count)
  std::uint64_t count = 0;
  double sum = 0;
};

/// One value of one metric.
struct Sample {
  std::string name;                                          // "portico_calls_active"
  std::string help;                                          // one line
  Type type = Type::Counter;
  std::vector<std::pair<std::string, std::string>> labels;   // bounded label values only
  double value = 0;
  HistogramValue histogram;                                  // Type::Histogram only
};

/// Produces every sample, on the exposer's HTTP thread. Must be thread-safe and bounded in time.
using SampleSource = std::function<std::vector<Sample>()>;

/// Serves /metrics over HTTP. Control thread builds and destroys it; `source` runs on
/// prometheus-cpp's own HTTP threads.
class Exposer {
 public:
  /// Binds `address:port` ("127.0.0.1", 9090; port 0 picks a free one). Throws
  /// std::runtime_error at start-up if it cannot bind.
  Exposer(const std::string& address, std::uint16_t port, SampleSource source);
  ~Exposer();
  Exposer(const Exposer&) = delete;
  Exposer& operator=(const Exposer&) = delete;

  /// The port actually bound (useful with port 0).
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Renders samples in the Prometheus text format (what /metrics returns). For tests and logs.
std::string render_text(const std::vector<Sample>& samples);

}  // namespace portico::metrics
