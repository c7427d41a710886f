// The `rate_limits` section: per source address token buckets for requests and for failed
// authentications, temporary bans, and the allow list that bypasses them (RateLimits in
// model.hpp, docs/policies.md#rate_limits). Enforced by edge::SourceGuard before parsing.

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kRateLimitKeys = {
    "requests_per_second", "burst", "auth_failures", "auth_window", "ban_time",
    "max_sources",         "allow"};

constexpr std::int64_t kMaxRequests = 10'000'000;
constexpr Millis kMaxBan{std::chrono::hours(24 * 7)};

void read_uint(const Reader& r, const FieldMap& m, const char* key, std::int64_t lo,
               std::int64_t hi, const std::string& what, std::uint32_t& out) {
  if (const Field* f = find(m, key)) {
    out = static_cast<std::uint32_t>(r.integer_in(*f, lo, hi, what).value_or(out));
  }
}

}  // namespace

void parse_rate_limits(const Reader& r, const Field& f, RateLimits& out) {
  out.loc = f.key_loc;
  const auto m = r.map(f, kRateLimitKeys);
  if (!m) {
    return;
  }
  out.enabled = true;
  read_uint(r, *m, "requests_per_second", 0, kMaxRequests,
            "is not a request rate (per second and source: 0 = unlimited, at most 10000000)",
            out.requests_per_second);
  read_uint(r, *m, "burst", 1, kMaxRequests, "is not a burst (1 to 10000000 requests)", out.burst);
  read_uint(r, *m, "auth_failures", 0, 1'000'000,
            "is not a count of failed authentications (0 = no limit, at most 1000000)",
            out.auth_failures);
  read_uint(r, *m, "max_sources", 1024, 4'194'304,
            "is out of range (1024..4194304 sources tracked per shard)", out.max_sources);
  if (const Field* v = find(*m, "auth_window")) {
    if (const auto d = r.duration(*v)) {
      if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24)) {
        r.error(*v, "must be from 1s to 24h");
      } else {
        out.auth_window = *d;
      }
    }
  }
  if (const Field* v = find(*m, "ban_time")) {
    if (const auto d = r.duration(*v)) {
      if (*d > kMaxBan) {
        r.error(*v, "must be at most 168h (0s = no ban, only the excess is dropped)");
      } else {
        out.ban_time = *d;
      }
    }
  }
  if (const Field* v = find(*m, "allow")) {
    out.allow = r.cidrs(*v).value_or(out.allow);
  }
}

}  // namespace portico::policy::detail
