#pragma once
// The running Portico: N shards plus the control thread, which owns signals (SIGTERM/SIGINT
// drain then stop, SIGHUP reloads the policy all-or-nothing, SIGUSR1 logs every shard's state).

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "portico/b2bua/trunk_usage.hpp"
#include "portico/cdr/writer.hpp"
#include "portico/metrics/exposer.hpp"
#include "portico/policy/model.hpp"
#include "portico/runtime/shard.hpp"
#include "portico/runtime/shard_set.hpp"
#include "portico/trace/trace_writer.hpp"

namespace portico::runtime {

class Server {
 public:
  Server(std::string policy_path, std::shared_ptr<const policy::PolicySnapshot> policy,
         std::string version);
  ~Server();
  /// Starts the shards and blocks until SIGTERM/SIGINT. Returns the process exit code.
  int run();

 private:
  void reload();
  /// Graceful shutdown: new calls get 503 while the calls in progress may finish, until none is
  /// left, timers.drain_timeout passes, or a second SIGTERM/SIGINT arrives. Control thread.
  void drain(asio::io_context& control, asio::signal_set& signals);
  /// Stops and destroys the shards, highest index first (media shards last).
  void stop_shards();
  /// Calls in progress over all shards (asks each shard; bounded wait). Control thread.
  std::size_t active_calls();
  /// Runs `fn` on every shard's thread and returns the answers in shard order; a shard that
  /// does not answer within 2 s yields `fallback`. Control thread.
  template <class T>
  std::vector<T> ask_shards(std::function<T(Shard&)> fn, T fallback);
  /// Every shard's counters, summed, as metric samples. Runs on the exposer's HTTP thread:
  /// it posts to each shard and waits (bounded) for the copies.
  std::vector<metrics::Sample> collect_samples();
  std::string policy_path_;
  std::shared_ptr<const policy::PolicySnapshot> policy_;
  std::string version_;
  b2bua::TrunkUsage trunk_usage_;
  std::unique_ptr<cdr::CdrWriter> cdr_;  // outlives the shards that submit to it
  std::unique_ptr<trace::TraceWriter> traces_;  // per-call pcap files; outlives the shards
  bool hep_ = false;  // HEP export configured; set before the exposer starts, then read-only
  ShardSet shards_;   // owned; filled in run(), emptied by stop_shards()
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_failed_{0};
  std::atomic<std::shared_ptr<const std::string>> policy_hash_;  // read by the exposer thread
  double start_time_ = 0;  // seconds since the epoch
};

/// Number of shards the policy asks for (0 = one per CPU).
std::uint16_t shard_count(const policy::PolicySnapshot& policy);

/// How many shards relay media (policy server.media_shards; 0 = half the shards, rounded up).
/// Shard i's calls are relayed on shard i % media_shard_count.
std::uint16_t media_shard_count(const policy::PolicySnapshot& policy);

}  // namespace portico::runtime
