// Metrics of Portico as a digest client of its trunks: the state of each trunk registration
// (1 registered, 0 not), REGISTER attempts by result, and challenges on calls answered or
// failed. Labels are trunk names (policy) and fixed result tokens.

#include "metric_tables.hpp"

namespace portico::runtime::metric_tables {

void sum_trunks(ShardSnapshot& total, const ShardSnapshot& shard) {
  for (const auto& [trunk, up] : shard.trunk_registration.registered) {
    total.trunk_registration.registered[trunk] = up;  // one shard holds them
  }
  for (const auto& [key, n] : shard.trunk_registration.attempts) {
    total.trunk_registration.attempts[key] += n;
  }
  for (const auto& [key, n] : shard.calls.trunk_auth) {
    total.calls.trunk_auth[key] += n;
  }
}

void trunk_samples(std::vector<Sample>& out, const ShardSnapshot& total) {
  for (const auto& [trunk, up] : total.trunk_registration.registered) {
    out.push_back(Sample{"portico_trunk_registration_state",
                         "Portico's registration to a trunk: 1 registered, 0 not (yet, or failed)",
                         Type::Gauge,
                         {{"trunk", trunk}},
                         up ? 1.0 : 0.0,
                         {}});
  }
  for (const auto& [key, n] : total.trunk_registration.attempts) {
    out.push_back(Sample{"portico_trunk_registration_attempts_total",
                         "REGISTER answers from trunks to Portico's own registrations, by result",
                         Type::Counter,
                         {{"trunk", key.first}, {"result", registrar::to_string(key.second)}},
                         static_cast<double>(n),
                         {}});
  }
  for (const auto& [key, n] : total.calls.trunk_auth) {
    out.push_back(Sample{"portico_trunk_auth_challenges_total",
                         "Digest challenges (401/407) from trunks to requests of calls: answered "
                         "with credentials, or failed (challenged again: wrong credentials)",
                         Type::Counter,
                         {{"trunk", key.first}, {"result", key.second}},
                         static_cast<double>(n),
                         {}});
  }
}

}  // namespace portico::runtime::metric_tables
