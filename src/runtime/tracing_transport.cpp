#include "tracing_transport.hpp"

#include "portico/common/log.hpp"

namespace portico::runtime {

void trace_message(std::string_view dir, const std::string& realm, transport::Protocol protocol,
                   const transport::Endpoint& remote, std::string_view data) {
  log::write_block(log::Level::Info, "sip.trace",
                   {{"dir", dir}, {"realm", realm}, {"transport", transport::to_string(protocol)},
                    {"remote", remote.to_string()}, {"bytes", data.size()}},
                   data);
}

bool TracingTransport::send(const transport::Destination& dst, std::string data,
                            transport::SendFailure on_failure) {
  std::string_view method;
  int status = 0;
  classify_outbound(data, method, status);
  count_message(counts_, dst.realm, "out", method, status);
  if (policy_->server.trace) {
    trace_message("out", dst.realm, dst.protocol, dst.remote, data);
  }
  return inner_.send(dst, std::move(data), std::move(on_failure));
}

}  // namespace portico::runtime
