#include "recording_transport.hpp"

namespace portico::test {

bool RecordingTransport::send(const transport::Destination& dst, std::string data,
                              transport::SendFailure on_failure) {
  if (!accept_sends) {
    return false;
  }
  sent.push_back(Sent{dst, std::move(data), std::move(on_failure)});
  return true;
}

bool RecordingTransport::local_address(const std::string& realm, transport::Protocol, bool,
                                       std::string& h, std::uint16_t& p) const {
  auto it = realm_hosts.find(realm);
  h = it == realm_hosts.end() ? host : it->second;
  p = port;
  return true;
}

std::vector<RecordingTransport::Sent> RecordingTransport::take() {
  std::vector<Sent> out;
  out.swap(sent);
  return out;
}

}  // namespace portico::test
