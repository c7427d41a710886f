#pragma once
// The way down for every SIP message a shard sends: counts it (realm, method, status), logs it
// in full when the policy's `server.trace` is on, shows it to the shard's call traces (pcap,
// HEP) with the address it leaves from, then passes it to the real transport. The transaction
// layer, the B2BUA and the registrar send through it as a plain transport::Transport, so sends
// never go back up into the runtime (docs/style.md, "Layers"). Inbound messages are counted and
// traced by the runtime's SipFrontDoor with the same functions, so the log and the trace files
// hold both directions in order.
//
// Shard thread only: every field is the shard's own.

#include <string_view>

#include "portico/trace/call_traces.hpp"
#include "portico/trace/message_counts.hpp"
#include "portico/transport/transport.hpp"

namespace portico::trace {

class TracingTransport final : public transport::Transport {
 public:
  /// Finds the Call-ID in a raw message (sip::find_call_id): the trace module sits below sip,
  /// so the owner of this object supplies the one scanner instead of a second one here.
  using CallIdOf = std::string_view (*)(std::string_view bytes);

  /// `inner`, `counts` and `traces` outlive this object.
  TracingTransport(transport::Transport& inner, MessageCounts& counts, CallTraces& traces,
                   CallIdOf call_id_of)
      : inner_(inner), counts_(counts), traces_(traces), call_id_of_(call_id_of) {}

  /// Logs every message sent in full (the policy's `server.trace`). Off by default.
  void set_log_messages(bool on) { log_messages_ = on; }

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
  std::shared_ptr<const transport::TlsInfo> tls_info(
      const transport::Destination& dst) const override {
    return inner_.tls_info(dst);
  }

 private:
  bool send_traced(const transport::Destination& dst, std::string data,
                   transport::SendFailure on_failure);

  transport::Transport& inner_;  // RO; the shard's transport, shard-local
  MessageCounts& counts_;        // shard-local (the front door's; it counts inbound ones)
  CallTraces& traces_;           // shard-local
  CallIdOf call_id_of_;          // RO
  bool log_messages_ = false;    // shard-local; follows the policy on reload
};

/// Logs one message as a `sip.trace` block. Shard thread.
void log_message(std::string_view dir, const std::string& realm, transport::Protocol protocol,
                 const transport::Endpoint& remote, std::string_view data);

}  // namespace portico::trace
