// libFuzzer target: an SDP body from a peer, parsed and rewritten as the B2BUA's anchored media
// does before relaying it to the other leg (AnchoredMedia: set_connection, strip_ice, per
// media set_media_port / filter_codecs / set_direction, the leg's o= line, serialize).
//
// Besides "no crash, no leak, no undefined behaviour" it checks the model's promise
// (session.hpp): what serialize() writes parses again to the same session.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "portico/sdp/rewrite.hpp"
#include "portico/sdp/session.hpp"

namespace {

namespace sdp = portico::sdp;

void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

void read_fields(const sdp::Session& s) {
  for (const auto& m : s.media) {
    for (const auto& pt : m.formats) {
      (void)m.rtpmap(pt);
      (void)m.fmtp(pt);
      (void)sdp::encoding_name(m, pt);
    }
    (void)m.own_direction();
    (void)m.rtcp();
    (void)m.rtcp_mux();
    (void)m.ptime();
    (void)sdp::direction(s, m);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = sdp::parse(text);
  if (!parsed.ok()) {
    return 0;
  }
  sdp::Session s = std::move(parsed).value();
  read_fields(s);

  // Round trip: the serialized form parses back to the same model.
  const std::string once = sdp::serialize(s);
  auto again = sdp::parse(once);
  require(again.ok());
  require(sdp::serialize(again.value()) == once);

  // The rewrite toward the other leg.
  static const std::vector<std::string> allowed{"opus", "PCMU", "PCMA", "G722", "telephone-event",
                                                "CN"};
  const bool v6 = size > 0 && (data[0] & 1);
  require(sdp::set_connection(s, v6 ? "2001:db8::1" : "192.0.2.10"));
  (void)sdp::strip_ice(s);
  std::uint16_t port = 20000;
  for (auto& m : s.media) {
    if (m.disabled()) {
      sdp::set_media_port(m, 0, std::nullopt);
      continue;
    }
    if (m.proto.find("RTP") != std::string::npos) {
      (void)sdp::filter_codecs(m, allowed);
    }
    const bool mux = m.rtcp_mux();
    sdp::set_media_port(m, port, mux ? std::nullopt : std::optional<std::uint16_t>(port + 3));
    sdp::set_direction(m, sdp::reverse(sdp::direction(s, m)));
    port = static_cast<std::uint16_t>(port + 4);
  }
  sdp::OriginVersioner versioner(42, 1);
  versioner.apply(s);
  const std::string out = sdp::serialize(s);
  auto rewritten = sdp::parse(out);
  require(rewritten.ok());
  read_fields(rewritten.value());
  return 0;
}
