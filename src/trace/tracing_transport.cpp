#include "portico/trace/tracing_transport.hpp"

#include "portico/common/log.hpp"
#include "redact_credentials.hpp"

namespace portico::trace {

void log_message(std::string_view dir, const std::string& realm, transport::Protocol protocol,
                 const transport::Endpoint& remote, std::string_view data) {
  std::string redacted;  // a digest response never reaches the log (redact_credentials.hpp)
  if (redact_credentials(data, redacted)) {
    data = redacted;
  }
  log::write_block(log::Level::Info, "sip.trace",
                   {{"dir", dir},
                    {"realm", realm},
                    {"transport", transport::to_string(protocol)},
                    {"remote", remote.to_string()},
                    {"bytes", data.size()}},
                   data);
}

bool TracingTransport::send(const transport::Destination& dst, std::string data,
                            transport::SendFailure on_failure) {
  std::string_view method;
  int status = 0;
  classify_outbound(data, method, status);
  count_message(counts_, dst.realm, "out", method, status);
  if (log_messages_) {
    log_message("out", dst.realm, dst.protocol, dst.remote, data);
  }
  if (traces_.active()) {
    return send_traced(dst, std::move(data), std::move(on_failure));
  }
  return inner_.send(dst, std::move(data), std::move(on_failure));
}

bool TracingTransport::send_traced(const transport::Destination& dst, std::string data,
                                   transport::SendFailure on_failure) {
  transport::Endpoint local;
  if (inner_.sending_endpoint(dst, local)) {
    traces_.outbound(call_id_of_(data), dst.protocol, local, dst.remote, data);
    return inner_.send(dst, std::move(data), std::move(on_failure));
  }
  // A new connection: its local port exists once send() has bound it. The one copy per new
  // outbound connection keeps the message for the trace after send() took it.
  std::string copy = data;
  const bool ok = inner_.send(dst, std::move(data), std::move(on_failure));
  if (!inner_.sending_endpoint(dst, local)) {
    local = transport::Endpoint{};  // unknown: shown as 0.0.0.0:0 (or ::) in the trace
    if (dst.remote.address.is_v6()) {
      local.address = asio::ip::address_v6::any();
    }
  }
  traces_.outbound(call_id_of_(copy), dst.protocol, local, dst.remote, copy);
  return ok;
}

}  // namespace portico::trace
