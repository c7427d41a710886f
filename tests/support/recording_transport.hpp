#pragma once
// A Transport for unit tests of one class: records every send instead of touching a socket.

#include <map>
#include <string>
#include <vector>

#include "portico/transport/transport.hpp"

namespace portico::test {

class RecordingTransport final : public transport::Transport {
 public:
  struct Sent {
    transport::Destination dst;
    std::string data;
    transport::SendFailure on_failure;
  };

  bool send(const transport::Destination& dst, std::string data,
            transport::SendFailure on_failure = {}) override;
  bool local_address(const std::string& realm, transport::Protocol protocol, bool ipv6,
                     std::string& host, std::uint16_t& port) const override;
  const transport::TransportStats& stats() const override { return stats_; }

  std::vector<Sent> sent;
  std::string host = "192.0.2.10";   // what local_address() reports for unlisted realms
  std::map<std::string, std::string> realm_hosts;  // realm -> host local_address() reports
  std::uint16_t port = 5060;
  bool accept_sends = true;          // false: send() returns false

  /// Removes and returns everything sent so far.
  std::vector<Sent> take();
  /// Removes and returns what was sent to `to`, keeping the rest in order.
  std::vector<Sent> take_to(const transport::Endpoint& to);

 private:
  transport::TransportStats stats_;
};

}  // namespace portico::test
