#include "portico/runtime/server.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>

#include "portico/common/log.hpp"
#include "portico/policy/loader.hpp"
#include "portico/runtime/cpu_affinity.hpp"
#include "tls_settings.hpp"

namespace portico::runtime {
namespace {

bool same_traces(const policy::TraceConfig& a, const policy::TraceConfig& b) {
  return a.pcap == b.pcap && a.directory == b.directory && a.max_files == b.max_files &&
         a.max_age == b.max_age && a.hep == b.hep && a.hep_address == b.hep_address &&
         a.hep_id == b.hep_id && a.hep_password == b.hep_password;
}

// What a reload cannot change in a running process, named as the policy field; "" if nothing.
// Listeners and advertised addresses can change: reload opens and closes sockets.
std::string needs_restart(const policy::PolicySnapshot& a, const policy::PolicySnapshot& b) {
  if (shard_count(a) != shard_count(b)) {
    return "server.shards";
  }
  if (media_shard_count(a) != media_shard_count(b)) {
    return "server.media_shards";
  }
  if (a.metrics.enabled != b.metrics.enabled || a.metrics.address != b.metrics.address ||
      a.metrics.port != b.metrics.port) {
    return "metrics";
  }
  if (a.cdr.enabled != b.cdr.enabled || a.cdr.path != b.cdr.path ||
      a.cdr.max_size != b.cdr.max_size || a.cdr.keep != b.cdr.keep) {
    return "cdr";
  }
  if (a.server.media_io != b.server.media_io) {
    return "server.media_io";
  }
  if (a.server.pin_shards != b.server.pin_shards) {
    return "server.pin_shards";
  }
  if (!same_traces(a.traces, b.traces)) {
    return "traces";
  }
  return {};
}

}  // namespace

std::uint16_t shard_count(const policy::PolicySnapshot& policy) {
  int n = policy.server.shards;
  if (n <= 0) {
    // The CPUs this process may use (a container's cpuset), not every CPU of the machine.
    n = static_cast<int>(usable_cpus().size());
    if (n <= 0) {
      n = static_cast<int>(std::thread::hardware_concurrency());
    }
  }
  return static_cast<std::uint16_t>(std::clamp(n, 1, 64));
}

std::uint16_t media_shard_count(const policy::PolicySnapshot& policy) {
  const int n = shard_count(policy);
  const int m = policy.server.media_shards <= 0 ? (n + 1) / 2 : policy.server.media_shards;
  return static_cast<std::uint16_t>(std::clamp(m, 1, n));
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
      cdr_ = std::make_unique<cdr::CdrWriter>(
          policy_->cdr.path, cdr::CdrWriter::kDefaultCapacity,
          cdr::CdrRotation{policy_->cdr.max_size, policy_->cdr.keep});
    } catch (const std::exception& e) {
      throw std::system_error(std::make_error_code(std::errc::io_error), e.what());
    }
    cdr::CdrWriter* writer = cdr_.get();
    sink = [writer](cdr::CallRecord&& r) { writer->submit(std::move(r)); };
    log::info("cdr.writing", {{"path", policy_->cdr.path}});
  }
  const auto& tc = policy_->traces;
  if (tc.pcap) {
    try {
      traces_ = std::make_unique<trace::TraceWriter>(
          tc.directory, trace::Retention{tc.max_files, tc.max_age});
    } catch (const std::exception& e) {
      throw std::system_error(std::make_error_code(std::errc::io_error), e.what());
    }
    log::info("trace.writing", {{"directory", tc.directory}, {"max_files", tc.max_files},
                                {"max_age_ms", tc.max_age.count()}});
  }
  hep_ = tc.hep;
  if (tc.hep) {
    log::info("trace.hep", {{"collector", tc.hep_address.to_string()}, {"agent_id", tc.hep_id}});
  }
  std::shared_ptr<const transport::TlsContexts> tls;
  try {
    tls = build_tls(*policy_);
  } catch (const std::runtime_error& e) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument), e.what());
  }
  for (std::uint16_t i = 0; i < n; ++i) {
    shards_.add(
        std::make_unique<Shard>(i, shards_, policy_, trunk_usage_, version_, sink, traces_.get()));
    shards_.at(i).set_tls(tls);
  }
  for (std::uint16_t i = 0; i < n; ++i) {
    shards_.at(i).start();  // in index order; throws std::system_error if it cannot bind
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
      stop_shards();
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
      shards_.invoke_on_all([](Shard& s) { s.log_status(); });
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
  shards_.invoke_on_all([](Shard& s) {
    s.end_all_calls("shutdown");
    s.unregister_trunks();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop_shards();
  cdr_.reset();  // drains what the shards submitted last
  traces_.reset();
  log::info("portico.stopped", {});
  return 0;
}

void Server::stop_shards() { shards_.stop_all(); }

void Server::drain(asio::io_context& control, asio::signal_set& signals) {
  const Millis timeout = policy_->timers.drain_timeout;
  std::size_t calls = active_calls();
  if (timeout.count() <= 0 || calls == 0) {
    return;
  }
  log::info("portico.draining", {{"calls", calls}, {"timeout_ms", timeout.count()},
                                 {"detail", "new calls get 503; send SIGTERM again to stop now"}});
  shards_.invoke_on_all([](Shard& s) { s.drain(); });
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

template <class T>
std::vector<T> Server::ask_shards(std::function<T(Shard&)> fn, T fallback) {
  struct Answers {
    std::mutex mu;  // control thread and shards; reload and shutdown only
    std::condition_variable cv;
    std::vector<std::optional<T>> values;
    std::size_t answered = 0;
  };
  auto a = std::make_shared<Answers>();
  a->values.resize(shards_.size());
  for (std::uint16_t i = 0; i < shards_.size(); ++i) {
    shards_.invoke_on(i, [a, i, fn](Shard& s) {
      T value = fn(s);
      std::lock_guard<std::mutex> lock(a->mu);
      a->values[i] = std::move(value);
      ++a->answered;
      a->cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(a->mu);
  a->cv.wait_for(lock, std::chrono::seconds(2), [&] { return a->answered == shards_.size(); });
  std::vector<T> out;
  for (auto& v : a->values) {
    out.push_back(v ? *v : fallback);
  }
  return out;
}

std::size_t Server::active_calls() {
  // A silent shard counts as busy.
  std::size_t total = 0;
  for (std::size_t n : ask_shards<std::size_t>([](Shard& s) { return s.call_count(); }, 1)) {
    total += n;
  }
  return total;
}

void Server::reload() {
  if (cdr_) {
    cdr_->reopen();  // SIGHUP after logrotate renamed the file
  }
  std::shared_ptr<const policy::PolicySnapshot> next;
  try {
    next = policy::load_policy(policy_path_);
  } catch (const policy::ConfigError& e) {
    ++reloads_failed_;
    for (const auto& d : e.diagnostics()) {
      log::error("policy.reload_failed", {{"reason", "invalid"}, {"diagnostic", d.to_string()}});
    }
    return;
  } catch (const std::exception& e) {
    ++reloads_failed_;
    log::error("policy.reload_failed", {{"reason", "error"}, {"detail", e.what()}});
    return;
  }
  if (std::string field = needs_restart(*policy_, *next); !field.empty()) {
    ++reloads_failed_;
    log::error("policy.reload_failed",
               {{"reason", "restart_required"}, {"field", field},
                {"detail", "the running policy stays; restart Portico to change " + field}});
    return;
  }
  // Certificates and keys are read again on every reload (renewed files, same policy text).
  std::shared_ptr<const transport::TlsContexts> tls;
  try {
    tls = build_tls(*next);
  } catch (const std::runtime_error& e) {
    ++reloads_failed_;
    log::error("policy.reload_failed", {{"reason", "tls"}, {"detail", e.what()}});
    return;
  }
  // All or nothing: every shard binds the new listeners first; one failure undoes them all.
  std::vector<std::string> errors = ask_shards<std::string>(
      [next](Shard& s) { return s.prepare_listeners(*next); }, "shard did not answer");
  for (const std::string& error : errors) {
    if (error.empty()) {
      continue;
    }
    shards_.invoke_on_all([](Shard& s) { s.abort_listeners(); });
    ++reloads_failed_;
    log::error("policy.reload_failed", {{"reason", "listener_bind"}, {"detail", error}});
    return;
  }
  auto changed = ask_shards<std::pair<std::size_t, std::size_t>>(
      [next, tls](Shard& s) {
        s.set_tls(tls);  // new connections only: established ones keep their contexts
        return s.apply_policy(next);
      },
      {0, 0});
  policy_ = next;
  ++reloads_ok_;
  policy_hash_.store(std::make_shared<const std::string>(next->hash));
  log::info("policy.reloaded", {{"policy", next->hash.substr(0, 12)},
                                {"listeners_opened", changed.empty() ? 0 : changed[0].first},
                                {"listeners_closed", changed.empty() ? 0 : changed[0].second}});
}

}  // namespace portico::runtime
