#include "portico/metrics/exposer.hpp"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <map>
#include <sstream>

namespace portico::metrics {
namespace {

// Groups samples into families in first-seen order (Prometheus wants one HELP/TYPE per name).
std::vector<prometheus::MetricFamily> to_families(const std::vector<Sample>& samples) {
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, std::size_t> index;
  for (const auto& s : samples) {
    auto [it, fresh] = index.emplace(s.name, families.size());
    if (fresh) {
      prometheus::MetricFamily f;
      f.name = s.name;
      f.help = s.help;
      f.type = s.type == Type::Counter   ? prometheus::MetricType::Counter
               : s.type == Type::Gauge ? prometheus::MetricType::Gauge
                                       : prometheus::MetricType::Histogram;
      families.push_back(std::move(f));
    }
    prometheus::ClientMetric m;
    for (const auto& [k, v] : s.labels) {
      m.label.push_back(prometheus::ClientMetric::Label{k, v});
    }
    if (s.type == Type::Counter) {
      m.counter.value = s.value;
    } else if (s.type == Type::Gauge) {
      m.gauge.value = s.value;
    } else {
      for (const auto& [bound, cumulative] : s.histogram.buckets) {
        m.histogram.bucket.push_back({cumulative, bound});
      }
      m.histogram.bucket.push_back({s.histogram.count, std::numeric_limits<double>::infinity()});
      m.histogram.sample_count = s.histogram.count;
      m.histogram.sample_sum = s.histogram.sum;
    }
    families[it->second].metric.push_back(std::move(m));
  }
  return families;
}

class SourceCollectable final : public prometheus::Collectable {
 public:
  explicit SourceCollectable(SampleSource source) : source_(std::move(source)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return to_families(source_());
  }

 private:
  SampleSource source_;
};

}  // namespace

struct Exposer::Impl {
  std::shared_ptr<SourceCollectable> collectable;
  std::unique_ptr<prometheus::Exposer> exposer;
};

Exposer::Exposer(const std::string& address, std::uint16_t port, SampleSource source)
    : impl_(std::make_unique<Impl>()) {
  std::string bind = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  impl_->exposer =
      std::make_unique<prometheus::Exposer>(bind + ":" + std::to_string(port), 2);
  impl_->collectable = std::make_shared<SourceCollectable>(std::move(source));
  impl_->exposer->RegisterCollectable(impl_->collectable);
}

Exposer::~Exposer() {
  // Stop serving before the source (and what it refers to) goes away.
  impl_->exposer.reset();
}

std::uint16_t Exposer::port() const {
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
}

std::string render_text(const std::vector<Sample>& samples) {
  return prometheus::TextSerializer().Serialize(to_families(samples));
}

}  // namespace portico::metrics
