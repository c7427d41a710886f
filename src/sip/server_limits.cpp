// The ServerLimits caps (transaction_layer.hpp): what inbound requests may make one shard hold.
//
// A request over a cap is answered once, statelessly, 503 with Retry-After (RFC 3261 §21.5.4),
// sent to the address and port it came from (never to a Via-named address: no reflection), and
// no transaction is kept, so its retransmissions cost one more 503 each and nothing else.
// Each cap logs `sip.limit_reached` once when it starts refusing and `sip.limit_cleared` once it
// has refused nothing for a while (RefusalLog).

#include <array>

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "transaction_internal.hpp"

namespace portico::sip {
namespace {

// The caps, in the order they are checked (the index into Impl::refusal_logs).
constexpr const char* kCapNames[kCapCount] = {
    "max_server_transactions", "max_server_transactions_per_source", "max_pending_invites",
    "max_pending_invites_per_source"};

transport::Endpoint source_of(const transport::Flow& flow) {
  return transport::Endpoint{flow.remote.address, 0};
}

bool over(std::size_t in_use, std::size_t cap) { return cap != 0 && in_use >= cap; }

}  // namespace

bool TransactionLayer::Impl::admit_server(const Message& req, const transport::Flow& flow,
                                          bool invite) {
  const auto it = sources.find(source_of(flow));
  const SourceUse use = it == sources.end() ? SourceUse{} : it->second;
  const std::array<bool, kCapCount> hit = {
      over(servers.size(), limits.max_transactions),
      over(use.transactions, limits.max_transactions_per_source),
      invite && over(pending_invites, limits.max_pending_invites),
      invite && over(use.pending_invites, limits.max_pending_invites_per_source)};
  const std::array<std::size_t, kCapCount> caps = {
      limits.max_transactions, limits.max_transactions_per_source, limits.max_pending_invites,
      limits.max_pending_invites_per_source};
  std::array<std::uint64_t*, kCapCount> counters = {
      &stats.refused_transactions, &stats.refused_source_transactions, &stats.refused_invites,
      &stats.refused_source_invites};
  const TimePoint now = timers.now();
  std::size_t refused = kCapCount;
  for (std::size_t c = 0; c < kCapCount && refused == kCapCount; ++c) {
    if (hit[c]) {
      refused = c;
    } else if (refusal_logs[c].passed(now)) {
      log::info("sip.limit_cleared", {{"limit", kCapNames[c]}});
    }
  }
  if (refused == kCapCount) {
    return true;
  }
  ++*counters[refused];
  if (refusal_logs[refused].refused(now)) {
    log::warn("sip.limit_reached", {{"limit", kCapNames[refused]},
                                    {"max", caps[refused]},
                                    {"method", req.method()},
                                    {"realm", flow.realm},
                                    {"remote", flow.remote.to_string()},
                                    {"action", "503"}});
  }
  ResponseParts parts;
  parts.status = 503;
  parts.to_tag = random_token(8);  // §8.2.6.2 (ignored when the To has a tag)
  parts.extra_headers = "Retry-After: " + std::to_string(limits.retry_after_seconds) + "\r\n";
  const std::string top =
      via_with_received(req.top_via(), flow.remote.address.to_string(), flow.remote.port);
  const transport::Destination back{flow.realm, flow.protocol, flow.remote, flow.connection};
  send(back, build_response(req, top, parts));
  return false;
}

void TransactionLayer::Impl::count_server(const ServerTxn& t, int delta) {
  const transport::Endpoint key = source_of(t.flow);
  SourceUse& use = sources[key];
  const bool pending = t.pending_invite;
  if (delta > 0) {
    ++use.transactions;
    if (pending) {
      ++use.pending_invites;
      ++pending_invites;
    }
  } else {
    --use.transactions;
    if (pending) {
      --use.pending_invites;
      --pending_invites;
    }
  }
  if (use.transactions == 0) {
    sources.erase(key);
  }
}

void TransactionLayer::Impl::invite_answered(ServerTxn& t) {
  if (!t.pending_invite) {
    return;
  }
  t.pending_invite = false;
  --pending_invites;
  if (auto it = sources.find(source_of(t.flow)); it != sources.end()) {
    --it->second.pending_invites;
  }
}

}  // namespace portico::sip
