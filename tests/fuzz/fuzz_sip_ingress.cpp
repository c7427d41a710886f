// libFuzzer target: what an unauthenticated sender reaches on the SIP front door.
//
// The input is used twice, as the two transports deliver it:
//  - as one UDP datagram, through the checks SipFrontDoor::dispatch/deliver make on it: shard
//    routing from the raw bytes, the raw Call-ID scan, the libosip2 parse, the stateless 400 of an
//    unparseable request, validate(), then the accessors the transaction layer and the TU read
//    and the response built for it;
//  - as a TCP byte stream cut by StreamFramer, arriving in chunks whose sizes the first byte
//    picks, each framed message going through the same path.
// No sockets: the functions are the ones the runtime calls, fed in-process.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../src/transport/stream_framer.hpp"
#include "portico/sip/message.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/raw_headers.hpp"
#include "portico/sip/shard_routing.hpp"
#include "portico/sip/status_map.hpp"

namespace {

namespace sip = portico::sip;

constexpr std::size_t kMaxMessageSize = 65535;  // the transport's default max_message_size

void ingress(std::string_view bytes) {
  (void)sip::owner_shard(bytes, "access", "access", 0, 4);
  (void)sip::find_call_id(bytes);
  auto parsed = sip::Message::parse(bytes);
  if (!parsed.ok()) {
    std::string reason = parsed.error().reason;
    (void)sip::reject_unparseable(bytes, reason);
    return;
  }
  const sip::Message& msg = parsed.value();
  if (auto err = msg.validate()) {
    (void)sip::rejection_status(err->reason);
    return;
  }
  // What the transaction layer and the TU read from every valid message.
  (void)msg.top_via();
  (void)msg.from();
  (void)msg.to();
  (void)msg.max_forwards();
  (void)msg.contacts();
  (void)msg.record_routes();
  (void)msg.routes();
  (void)msg.content_type();
  (void)msg.headers();
  (void)msg.has_option("Require", "100rel");
  if (msg.is_request()) {
    (void)msg.request_uri_parts();
    (void)sip::aor_of_to_value(msg.to().raw);
    sip::ResponseParts parts;
    parts.status = 400;
    parts.reason = "Bad Request";
    parts.to_tag = "fuzz";
    (void)sip::build_response(msg, sip::via_with_received(msg.top_via(), "192.0.2.1", 5060), parts);
  }
  sip::Message copy = msg.clone();
  (void)copy.call_id();
}

void stream(std::string_view bytes) {
  if (bytes.empty()) {
    return;
  }
  const std::size_t chunk = 1 + static_cast<unsigned char>(bytes[0]);
  bytes.remove_prefix(1);
  portico::transport::StreamFramer framer(kMaxMessageSize);
  while (true) {
    const std::size_t n = bytes.size() < chunk ? bytes.size() : chunk;
    framer.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    bool fatal = false;
    // Bounded as TcpConnection::drain_framer is: each event consumes at least one byte.
    for (std::size_t budget = framer.buffered() + 1; budget > 0; --budget) {
      auto r = framer.next();
      using S = portico::transport::StreamFramer::Status;
      if (r.status == S::NeedMore) {
        break;
      }
      if (r.status == S::Message) {
        ingress(r.message);
      } else if (r.status != S::Ping && r.status != S::Crlf) {
        fatal = true;  // the connection is closed
        break;
      }
    }
    if (fatal || bytes.empty()) {
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sip::init_parser();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxMessageSize) {
    return -1;  // the UDP listener drops these before anything reads them
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ingress(bytes);
  stream(bytes);
  return 0;
}
