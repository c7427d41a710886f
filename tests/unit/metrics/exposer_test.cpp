// The exposer on a real loopback socket: what a Prometheus server would read from /metrics.

#include "portico/metrics/exposer.hpp"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <atomic>

namespace portico::metrics {
namespace {

std::string http_get(std::uint16_t port, const std::string& path) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  std::error_code ec;
  sock.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    return "connect failed: " + ec.message();
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  asio::write(sock, asio::buffer(req), ec);
  std::string out;
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {  // bounded: a response is a few KiB
    std::size_t n = sock.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) {
      break;
    }
  }
  return out;
}

TEST(MetricsText, SamplesBecomeOneFamilyPerNameWithLabels) {
  std::string text = render_text({
      {"portico_calls_active", "Calls in progress", Type::Gauge, {}, 3},
      {"portico_sip_parse_errors_total", "Rejected", Type::Counter, {{"reason", "invalid"}}, 2},
      {"portico_sip_parse_errors_total", "Rejected", Type::Counter, {{"reason", "unparseable"}}, 5},
  });
  EXPECT_NE(text.find("# TYPE portico_calls_active gauge\nportico_calls_active 3\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE portico_sip_parse_errors_total counter\n"
                      "portico_sip_parse_errors_total{reason=\"invalid\"} 2\n"
                      "portico_sip_parse_errors_total{reason=\"unparseable\"} 5\n"),
            std::string::npos) << text;
}

TEST(MetricsText, HistogramHasCumulativeBucketsInfSumAndCount) {
  Sample h{"portico_call_setup_seconds", "Set-up", Type::Histogram, {{"stage", "answer"}}, 0, {}};
  h.histogram.buckets = {{0.1, 1}, {0.5, 3}};
  h.histogram.count = 4;
  h.histogram.sum = 2.5;
  std::string text = render_text({h});
  for (const char* line :
       {"# TYPE portico_call_setup_seconds histogram\n",
        "portico_call_setup_seconds_bucket{stage=\"answer\",le=\"0.1\"} 1\n",
        "portico_call_setup_seconds_bucket{stage=\"answer\",le=\"0.5\"} 3\n",
        "portico_call_setup_seconds_bucket{stage=\"answer\",le=\"+Inf\"} 4\n",
        "portico_call_setup_seconds_sum{stage=\"answer\"} 2.5\n",
        "portico_call_setup_seconds_count{stage=\"answer\"} 4\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing " << line << "in\n" << text;
  }
}

TEST(MetricsExposer, ServesCurrentSamplesOverHttpOnEachScrape) {
  std::atomic<int> scrapes{0};
  Exposer exposer("127.0.0.1", 0, [&] {
    int n = ++scrapes;
    return std::vector<Sample>{{"portico_test_scrapes_total", "Scrapes", Type::Counter, {}, 
                                static_cast<double>(n)}};
  });
  ASSERT_NE(exposer.port(), 0);
  std::string first = http_get(exposer.port(), "/metrics");
  EXPECT_NE(first.find("200 OK"), std::string::npos) << first;
  EXPECT_NE(first.find("portico_test_scrapes_total 1"), std::string::npos) << first;
  std::string second = http_get(exposer.port(), "/metrics");
  EXPECT_NE(second.find("portico_test_scrapes_total 2"), std::string::npos) << second;
}

TEST(MetricsExposer, BusyPortIsAStartUpError) {
  Exposer first("127.0.0.1", 0, [] { return std::vector<Sample>{}; });
  EXPECT_ANY_THROW(Exposer("127.0.0.1", first.port(), [] { return std::vector<Sample>{}; }));
}

}  // namespace
}  // namespace portico::metrics
