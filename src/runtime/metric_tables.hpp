#pragma once
// The metric tables: one per stats struct, one row per plain counter or gauge, naming the field
// and how it is exposed. Both the sum over the shards and the samples come from the row, so a
// new counter is its struct field plus one row (src/runtime/metric_tables.cpp). Private to
// runtime; read on the exposer's HTTP thread only (the tables are immutable).

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "portico/metrics/exposer.hpp"
#include "portico/runtime/server.hpp"

namespace portico::runtime::metric_tables {

using metrics::Sample;
using metrics::Type;
using Labels = std::vector<std::pair<std::string, std::string>>;

// The snapshot's own counts are std::size_t; one field type serves every table.
static_assert(std::is_same_v<std::size_t, std::uint64_t>);

/// One counter or gauge of a stats struct `S`. Rows of one name form one metric family, one
/// series per label set. A row without a name is summed only (a derived metric shows it).
template <class S>
struct Row {
  const char* name;
  const char* help;
  Type type;
  Labels labels;
  std::uint64_t S::*field;
};
template <class S>
using Table = std::vector<Row<S>>;

extern const Table<b2bua::B2buaStats> kCallRows;
extern const Table<ShardSnapshot> kSnapshotRows;
extern const Table<InboundStats> kInboundRows;
extern const Table<sip::TransactionStats> kTransactionRows;
extern const Table<transport::TransportStats> kTransportRows;
extern const Table<b2bua::RealmMediaStats> kRealmMediaRows;
extern const Table<media::RelayStats> kRelayRows;
extern const Table<b2bua::MediaStats> kMediaRows;
extern const Table<registrar::RegistrarStats> kRegistrarRows;
extern const Table<auth::AuthStats> kAuthRows;
extern const Table<trace::HepStats> kHepRows;
extern const Table<trace::TraceWriterStats> kTraceWriterRows;
extern const Table<ShardSnapshot> kTracedRows;
extern const Table<cdr::CdrStats> kCdrRows;
extern const Table<edge::SourceGuardStats> kEdgeRows;

template <class S>
void sum_rows(S& total, const S& shard, const Table<S>& rows) {
  for (const auto& r : rows) {
    total.*r.field += shard.*r.field;
  }
}

/// `prefix`: labels of the key the struct is counted under (the realm), before the row's own.
template <class S>
void sample_rows(std::vector<Sample>& out, const S& s, const Table<S>& rows,
                 const Labels& prefix = {}) {
  for (const auto& r : rows) {
    if (r.name == nullptr) {
      continue;
    }
    Labels labels = prefix;
    labels.insert(labels.end(), r.labels.begin(), r.labels.end());
    out.push_back(
        Sample{r.name, r.help, r.type, std::move(labels), static_cast<double>(s.*r.field), {}});
  }
}

// ---------------------------------------------------------------------------------------------
// The shard tables, in exposition order: the one list that both the sum and the samples walk.

/// Trunk registrations and digest answers to trunks (trunk_metrics.cpp): the sum of one
/// shard's into `total`, and their samples.
void sum_trunks(ShardSnapshot& total, const ShardSnapshot& shard);
void trunk_samples(std::vector<Sample>& out, const ShardSnapshot& total);

/// Which tables appear only with a part of the policy (a missing series says "not configured").
enum class Shown { Always, WithRegistration, WithHep, WithTraces };

/// Calls `fn(rows, part, shown)` for every table of a shard snapshot; `part(snapshot)` is the
/// struct the table describes (works on a const and a mutable snapshot alike).
template <class Fn>
void for_each_table(Fn&& fn) {
  fn(
      kCallRows, [](auto& s) -> auto& { return s.calls; }, Shown::Always);
  fn(
      kSnapshotRows, [](auto& s) -> auto& { return s; }, Shown::Always);
  fn(
      kInboundRows, [](auto& s) -> auto& { return s.inbound; }, Shown::Always);
  fn(
      kTransactionRows, [](auto& s) -> auto& { return s.transactions; }, Shown::Always);
  fn(
      kTransportRows, [](auto& s) -> auto& { return s.transport; }, Shown::Always);
  fn(
      kRelayRows, [](auto& s) -> auto& { return s.media.relay; }, Shown::Always);
  fn(
      kMediaRows, [](auto& s) -> auto& { return s.media; }, Shown::Always);
  fn(
      kRegistrarRows, [](auto& s) -> auto& { return s.registration; }, Shown::WithRegistration);
  fn(
      kAuthRows, [](auto& s) -> auto& { return s.auth; }, Shown::WithRegistration);
  fn(
      kHepRows, [](auto& s) -> auto& { return s.hep; }, Shown::WithHep);
  fn(
      kTracedRows, [](auto& s) -> auto& { return s; }, Shown::WithTraces);
  fn(
      kEdgeRows, [](auto& s) -> auto& { return s.edge; }, Shown::Always);
}

}  // namespace portico::runtime::metric_tables
