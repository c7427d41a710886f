#pragma once
// A fixed-bucket histogram for shard-local statistics: no allocation, no lock, summed across
// shards with +=, exported as a Prometheus histogram. `Bounds::kUpper` lists the ascending
// bucket upper bounds in the unit observe() takes (+Inf is implied).

#include <array>
#include <cstdint>

namespace portico {

template <class Bounds>
struct Histogram {
  static constexpr auto kUpper = Bounds::kUpper;
  std::array<std::uint64_t, kUpper.size()> buckets{};  // non-cumulative, per bound
  std::uint64_t count = 0;                             // includes those above the last bound
  double sum = 0;

  void observe(double v) {
    ++count;
    sum += v;
    for (std::size_t i = 0; i < kUpper.size(); ++i) {
      if (v <= kUpper[i]) {
        ++buckets[i];
        return;
      }
    }
  }
  Histogram& operator+=(const Histogram& o) {
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] += o.buckets[i];
    }
    count += o.count;
    sum += o.sum;
    return *this;
  }
};

}  // namespace portico
