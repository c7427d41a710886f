#pragma once
// Counts every outbound SIP message (realm, method, status), logs it in full when the policy's
// `server.trace` is on, shows it to the shard's call traces (pcap, HEP) with the address it
// leaves from, then passes it to the real transport. Inbound messages are counted and traced in
// Shard::deliver, so the log and the trace files hold both directions in order.

#include <memory>

#include "portico/policy/model.hpp"
#include "portico/trace/call_traces.hpp"
#include "message_counts.hpp"
#include "portico/transport/transport.hpp"

namespace portico::runtime {

class TracingTransport final : public transport::Transport {
 public:
  /// `inner`, `policy` and `traces` are owned by the shard and outlive this object.
  TracingTransport(transport::Transport& inner,
                   const std::shared_ptr<const policy::PolicySnapshot>& policy,
                   MessageCounts& counts, trace::CallTraces& traces)
      : inner_(inner), policy_(policy), counts_(counts), traces_(traces) {}

  bool send(const transport::Destination& dst, std::string data,
            transport::SendFailure on_failure = {}) override;
  bool local_address(const std::string& realm, transport::Protocol protocol, bool ipv6,
                     std::string& host, std::uint16_t& port) const override {
    return inner_.local_address(realm, protocol, ipv6, host, port);
  }
  const transport::TransportStats& stats() const override { return inner_.stats(); }
  bool sending_endpoint(const transport::Destination& dst,
                        transport::Endpoint& local) const override {
    return inner_.sending_endpoint(dst, local);
  }

 private:
  bool send_traced(const transport::Destination& dst, std::string data,
                   transport::SendFailure on_failure);

  transport::Transport& inner_;
  const std::shared_ptr<const policy::PolicySnapshot>& policy_;
  MessageCounts& counts_;  // the shard's; shard-local
  trace::CallTraces& traces_;  // the shard's; shard-local
};

/// Logs one message as a trace block. Shard thread.
void trace_message(std::string_view dir, const std::string& realm, transport::Protocol protocol,
                   const transport::Endpoint& remote, std::string_view data);

}  // namespace portico::runtime
