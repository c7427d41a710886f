// The `limits` section: caps on what senders can make Portico hold. Every key is
// optional; 0 turns a cap off. Defaults and meaning: model.hpp (Limits) and docs/policies.md.

#include "policy_draft.hpp"

namespace portico::policy::detail {
namespace {

const KeyList kLimitKeys = {"max_server_transactions",
                            "max_server_transactions_per_source",
                            "max_pending_invites",
                            "max_pending_invites_per_source",
                            "max_calls",
                            "max_calls_per_source",
                            "max_media_streams",
                            "retry_after"};

void read_cap(const Reader& r, const FieldMap& m, const std::string& key, std::int64_t hi,
              std::size_t& out) {
  const Field* f = find(m, key);
  if (f == nullptr) {
    return;
  }
  const std::string what = "is out of range (0 = no cap, or 1.." + std::to_string(hi) + ")";
  if (auto n = r.integer_in(*f, 0, hi, what)) {
    out = static_cast<std::size_t>(*n);
  }
}

}  // namespace

void parse_limits(const Reader& r, const Field& f, Limits& out) {
  const auto m = r.map(f, kLimitKeys);
  if (!m) {
    return;
  }
  constexpr std::int64_t kMillion = 1000000;
  read_cap(r, *m, "max_server_transactions", kMillion, out.max_server_transactions);
  read_cap(r, *m, "max_server_transactions_per_source", kMillion,
           out.max_server_transactions_per_source);
  read_cap(r, *m, "max_pending_invites", kMillion, out.max_pending_invites);
  read_cap(r, *m, "max_pending_invites_per_source", kMillion, out.max_pending_invites_per_source);
  read_cap(r, *m, "max_calls", kMillion, out.max_calls);
  read_cap(r, *m, "max_calls_per_source", kMillion, out.max_calls_per_source);
  // 64 is what the SDP parser takes at most (sdp::kMaxMediaSections); 0 would refuse every offer.
  if (const Field* v = find(*m, "max_media_streams")) {
    if (auto n = r.integer_in(*v, 1, 64, "is out of range (1..64 m= lines per offer)")) {
      out.max_media_streams = static_cast<std::size_t>(*n);
    }
  }
  if (const Field* v = find(*m, "retry_after")) {
    if (auto d = r.duration(*v)) {
      if (d->count() < 1000 || d->count() > 3600000) {
        r.error(*v, "must be between 1s and 1h (it is sent in whole seconds)");
      } else {
        out.retry_after = static_cast<int>(d->count() / 1000);
      }
    }
  }
}

}  // namespace portico::policy::detail
