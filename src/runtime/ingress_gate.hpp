#pragma once
// IngressGate: what the front door checks before a message is parsed or a transaction exists
// (policy `ingress`, docs/policies.md#ingress). The checks read only the raw bytes and the
// flow, so refusing a message costs a bounded scan of its header section:
//   1. header fields and Via values over ingress.max_headers / max_vias -> a stateless 513 with
//      the top Via only (a request), else dropped;
//   2. a request from no trunk or access peer of its realm (ingress.unknown_source) -> one
//      stateless 403 (reject), or nothing (drop); ACKs are dropped either way.
// Refusals are counted in InboundStats; each cap logs one `ingress.refusing` line when it
// starts refusing after a quiet spell (one for the process: the shards' gates share the
// episodes), never one per message. An answer always goes straight
// back to the request's source address and port (or its connection), never where a Via says.
//
// Shard-local: one per front door, on its shard's thread.

#include <optional>
#include <string>

#include "portico/common/log.hpp"
#include "portico/policy/model.hpp"
#include "portico/runtime/sip_front_door.hpp"
#include "portico/transport/transport.hpp"

namespace portico::runtime {

class IngressGate {
 public:
  struct Refusal {
    std::optional<std::string> answer;  // send to the source; nullopt: nothing is sent
  };

  /// nullopt: the message goes on to the parse. Counts each refusal in `stats`.
  std::optional<Refusal> check(const transport::Inbound& in, const policy::PolicySnapshot& p,
                               InboundStats& stats);

 private:
  std::optional<Refusal> check_size(const transport::Inbound& in, const policy::Ingress& limits,
                                    InboundStats& stats);
  std::optional<Refusal> check_source(const transport::Inbound& in, const policy::PolicySnapshot& p,
                                      InboundStats& stats);
};

}  // namespace portico::runtime
