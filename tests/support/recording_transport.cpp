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

std::vector<RecordingTransport::Sent> RecordingTransport::take_to(const transport::Endpoint& to) {
  std::vector<Sent> out;
  std::vector<Sent> keep;
  for (auto& s : sent) {
    (s.dst.remote == to ? out : keep).push_back(std::move(s));
  }
  sent = std::move(keep);
  return out;
}

}  // namespace portico::test
