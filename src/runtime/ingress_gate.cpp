// The checks before the parse (see ingress_gate.hpp).

#include "ingress_gate.hpp"

#include <string_view>

#include "portico/policy/matcher.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/raw_headers.hpp"
#include "portico/transport/tls.hpp"

namespace portico::runtime {
namespace {

// A request's start line begins with its method; a response's with "SIP/".
bool is_request(std::string_view bytes) { return !bytes.starts_with("SIP/"); }

// One episode per cap for the process, shared by every shard's gate (see the header).
log::RefusalEpisodes& episodes(std::string_view reason) {
  static log::RefusalEpisodes headers;
  static log::RefusalEpisodes vias;
  static log::RefusalEpisodes unknown_source;
  if (reason == "too_many_headers") {
    return headers;
  }
  return reason == "too_many_vias" ? vias : unknown_source;
}

}  // namespace

std::optional<IngressGate::Refusal> IngressGate::check(const transport::Inbound& in,
                                                       const policy::PolicySnapshot& p,
                                                       InboundStats& stats) {
  if (auto r = check_size(in, p.ingress, stats)) {
    return r;
  }
  return check_source(in, p, stats);
}

std::optional<IngressGate::Refusal> IngressGate::check_size(const transport::Inbound& in,
                                                            const policy::Ingress& limits,
                                                            InboundStats& stats) {
  const auto count = sip::count_headers(in.data, limits.max_headers, limits.max_vias);
  const bool too_many_vias = count.vias > limits.max_vias;
  if (!too_many_vias && count.fields <= limits.max_headers) {
    return std::nullopt;
  }
  const char* reason = too_many_vias ? "too_many_vias" : "too_many_headers";
  ++(too_many_vias ? stats.too_many_vias : stats.too_many_headers);
  // RFC 3261 §21.5.11. Only the top Via comes back: the answer goes to the source anyway, and
  // it stays small however many Vias the request carried.
  auto answer = sip::raw_response(in.data, 513, "Message Too Large", 1);
  if (!answer) {
    ++stats.dropped;
  }
  if (episodes(reason).refuse(in.received)) {
    log::warn("ingress.refusing", {{"reason", reason},
                                   {"action", answer ? "513" : "drop"},
                                   {"max_headers", limits.max_headers},
                                   {"max_vias", limits.max_vias},
                                   {"realm", in.flow.realm},
                                   {"remote", in.flow.remote.to_string()}});
  }
  return Refusal{std::move(answer)};
}

std::optional<IngressGate::Refusal> IngressGate::check_source(const transport::Inbound& in,
                                                              const policy::PolicySnapshot& p,
                                                              InboundStats& stats) {
  // Responses are matched to the transactions Portico started; only requests are screened.
  if (!is_request(in.data) ||
      !policy::identify_source(p, in.flow.realm, in.flow.remote.address,
                               in.flow.tls ? &in.flow.tls->peer_names : nullptr)
           .empty()) {
    return std::nullopt;
  }
  const bool reject = p.ingress.unknown_source == policy::Ingress::UnknownSource::Reject;
  std::optional<std::string> answer;
  if (reject) {
    answer = sip::raw_response(in.data, 403, "Forbidden");
  }
  if (answer) {
    ++stats.unknown_source_rejected;
  } else {
    ++stats.unknown_source_dropped;
    ++stats.dropped;
  }
  if (episodes("unknown_source").refuse(in.received)) {
    log::warn("ingress.refusing", {{"reason", "unknown_source"},
                                   {"action", answer ? "403" : "drop"},
                                   {"realm", in.flow.realm},
                                   {"remote", in.flow.remote.to_string()}});
  }
  return Refusal{std::move(answer)};
}

}  // namespace portico::runtime
