#include "portico/runtime/server.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "portico/common/log.hpp"
#include "portico/policy/loader.hpp"

namespace portico::runtime {
namespace {

bool same_listeners(const policy::PolicySnapshot& a, const policy::PolicySnapshot& b) {
  if (a.realms.size() != b.realms.size() || a.metrics.enabled != b.metrics.enabled ||
      a.metrics.address != b.metrics.address || a.metrics.port != b.metrics.port ||
      a.cdr.enabled != b.cdr.enabled || a.cdr.path != b.cdr.path) {
    return false;
  }
  for (std::size_t i = 0; i < a.realms.size(); ++i) {
    const auto& ra = a.realms[i];
    const auto& rb = b.realms[i];
    if (ra.name != rb.name || ra.listeners.size() != rb.listeners.size() ||
        ra.advertised_address != rb.advertised_address) {
      return false;
    }
    for (std::size_t j = 0; j < ra.listeners.size(); ++j) {
      if (ra.listeners[j].protocol != rb.listeners[j].protocol ||
          !(ra.listeners[j].bind == rb.listeners[j].bind)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::uint16_t shard_count(const policy::PolicySnapshot& policy) {
  int n = policy.server.shards;
  if (n <= 0) {
    n = static_cast<int>(std::thread::hardware_concurrency());
  }
  return static_cast<std::uint16_t>(std::clamp(n, 1, 64));
}

Server::Server(std::string policy_path, std::shared_ptr<const policy::PolicySnapshot> policy,
               std::string version)
    : policy_path_(std::move(policy_path)), policy_(std::move(policy)), version_(std::move(version)) {}

Server::~Server() = default;

int Server::run() {
  start_time_ = std::chrono::duration<double>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  policy_hash_.store(std::make_shared<const std::string>(policy_->hash));
  std::uint16_t n = shard_count(*policy_);
  b2bua::CdrSink sink;
  if (policy_->cdr.enabled) {
    try {
      cdr_ = std::make_unique<cdr::CdrWriter>(policy_->cdr.path);
    } catch (const std::exception& e) {
      throw std::system_error(std::make_error_code(std::errc::io_error), e.what());
    }
    cdr::CdrWriter* writer = cdr_.get();
    sink = [writer](cdr::CallRecord&& r) { writer->submit(std::move(r)); };
    log::info("cdr.writing", {{"path", policy_->cdr.path}});
  }
  for (std::uint16_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, shards_, policy_, trunk_usage_, version_, sink));
  }
  for (auto& s : shards_) {
    s->start();  // throws std::system_error if a listener cannot be bound
  }
  std::string listeners;
  for (const auto& r : policy_->realms) {
    for (const auto& l : r.listeners) {
      listeners += (listeners.empty() ? "" : ",") + r.name + "=" +
                   std::string(transport::to_string(l.protocol)) + "://" + l.bind.to_string();
    }
  }
  std::unique_ptr<metrics::Exposer> exposer;
  if (policy_->metrics.enabled) {
    const auto& m = policy_->metrics;
    try {
      exposer = std::make_unique<metrics::Exposer>(m.address.to_string(), m.port,
                                                   [this] { return collect_samples(); });
    } catch (const std::exception& e) {
      for (auto& s : shards_) {
        s->stop();
      }
      throw std::system_error(std::make_error_code(std::errc::address_in_use),
                              "metrics listener " + m.address.to_string() + ":" +
                                  std::to_string(m.port) + ": " + e.what());
    }
    log::info("metrics.listening", {{"address", m.address.to_string()}, {"port", exposer->port()}});
  }
  log::info("portico.ready", {{"version", version_}, {"shards", n}, {"listeners", listeners},
                              {"policy", policy_->hash.substr(0, 12)}});

  asio::io_context control;
  asio::signal_set signals(control, SIGTERM, SIGINT, SIGHUP);
  signals.add(SIGUSR1);
  bool stopping = false;
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                   int sig) {
    if (ec) {
      return;
    }
    if (sig == SIGHUP) {
      reload();
    } else if (sig == SIGUSR1) {
      for (auto& s : shards_) {
        Shard* sp = s.get();
        sp->post([sp] { sp->log_status(); });
      }
    } else {
      log::info("portico.stopping", {{"signal", sig}});
      stopping = true;
      return;
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  while (!stopping) {
    control.run_one();
  }
  drain(control, signals);

  exposer.reset();  // no scrape may reach a stopping shard
  // End calls with BYE/CANCEL and give those requests a moment to leave before closing.
  for (auto& s : shards_) {
    Shard* sp = s.get();
    sp->post([sp] { sp->end_all_calls("shutdown"); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (auto& s : shards_) {
    s->stop();
  }
  shards_.clear();
  cdr_.reset();  // drains what the shards submitted last
  log::info("portico.stopped", {});
  return 0;
}

void Server::drain(asio::io_context& control, asio::signal_set& signals) {
  const Millis timeout = policy_->timers.drain_timeout;
  std::size_t calls = active_calls();
  if (timeout.count() <= 0 || calls == 0) {
    return;
  }
  log::info("portico.draining", {{"calls", calls}, {"timeout_ms", timeout.count()},
                                 {"detail", "new calls get 503; send SIGTERM again to stop now"}});
  for (auto& s : shards_) {
    Shard* sp = s.get();
    sp->post([sp] { sp->drain(); });
  }
  bool again = false;
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                   int sig) {
    if (ec) {
      return;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      again = true;
      return;
    }
    signals.async_wait(on_signal);  // SIGHUP/SIGUSR1 mean nothing while draining
  };
  signals.async_wait(on_signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!again && calls > 0 && std::chrono::steady_clock::now() < deadline) {
    control.run_for(std::chrono::milliseconds(200));
    calls = active_calls();
  }
  signals.cancel();
  log::info("portico.drained", {{"calls_left", calls},
                                {"reason", again ? "signal" : calls == 0 ? "done" : "timeout"}});
}

std::size_t Server::active_calls() {
  struct Count {
    std::mutex mu;  // control thread and shards, at shutdown only
    std::condition_variable cv;
    std::size_t total = 0;
    std::size_t answered = 0;
  };
  auto c = std::make_shared<Count>();
  for (auto& s : shards_) {
    Shard* sp = s.get();
    sp->post([c, sp] {
      const std::size_t n = sp->call_count();
      std::lock_guard<std::mutex> lock(c->mu);
      c->total += n;
      ++c->answered;
      c->cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(c->mu);
  const bool all = c->cv.wait_for(lock, std::chrono::seconds(1),
                                  [&] { return c->answered == shards_.size(); });
  return all ? c->total : c->total + 1;  // a silent shard counts as busy
}

void Server::reload() {
  if (cdr_) {
    cdr_->reopen();  // SIGHUP after logrotate renamed the file
  }
  try {
    auto next = policy::load_policy(policy_path_);
    if (!same_listeners(*policy_, *next) || shard_count(*next) != shards_.size()) {
      ++reloads_failed_;
      log::error("policy.reload_failed",
                 {{"reason", "listeners_changed"},
                  {"detail", "listeners, advertised addresses, the metrics endpoint, the CDR path and the shard count need a restart"}});
      return;
    }
    policy_ = next;
    ++reloads_ok_;
    policy_hash_.store(std::make_shared<const std::string>(next->hash));
    for (auto& s : shards_) {
      Shard* sp = s.get();
      sp->post([sp, next] { sp->set_policy(next); });
    }
    log::info("policy.reloaded", {{"policy", next->hash.substr(0, 12)}});
  } catch (const policy::ConfigError& e) {
    ++reloads_failed_;
    for (const auto& d : e.diagnostics()) {
      log::error("policy.reload_failed", {{"reason", "invalid"}, {"diagnostic", d.to_string()}});
    }
  } catch (const std::exception& e) {
    ++reloads_failed_;
    log::error("policy.reload_failed", {{"reason", "error"}, {"detail", e.what()}});
  }
}

}  // namespace portico::runtime
