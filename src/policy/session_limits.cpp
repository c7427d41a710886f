// Per trunk and access peer session limits (SessionLimits in model.hpp): concurrent calls and
// calls per second in each direction, and the pacing of calls to a target over its CPS. The
// keys sit beside max_calls in each trunk and access peer entry (docs/policies.md).

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

constexpr std::int64_t kMaxCalls = 1'000'000;
constexpr std::int64_t kMaxCps = 100'000;
constexpr std::int64_t kMaxQueue = 100'000;
constexpr Millis kMaxPacingWait{std::chrono::seconds(30)};

void read_count(const Reader& r, const FieldMap& m, const char* key, std::int64_t hi,
                const std::string& what, int& out) {
  if (const Field* f = find(m, key)) {
    out = static_cast<int>(r.integer_in(*f, 0, hi, what).value_or(out));
  }
}

void read_rate(const Reader& r, const FieldMap& m, const char* key, std::int64_t lo,
               const std::string& what, std::uint32_t& out) {
  if (const Field* f = find(m, key)) {
    out = static_cast<std::uint32_t>(r.integer_in(*f, lo, kMaxCps, what).value_or(out));
  }
}

}  // namespace

void parse_session_limits(const Reader& r, const FieldMap& m, SessionLimits& out) {
  const std::string calls =
      "is not a call limit (0 = unlimited, at most " + std::to_string(kMaxCalls) + ")";
  read_count(r, m, "max_calls_in", kMaxCalls, calls, out.max_calls_in);
  read_count(r, m, "max_calls_out", kMaxCalls, calls, out.max_calls_out);
  const std::string cps = "is not a call rate (calls per second: 0 = unlimited, at most " +
                          std::to_string(kMaxCps) + ")";
  read_rate(r, m, "cps_in", 0, cps, out.cps_in);
  read_rate(r, m, "cps_out", 0, cps, out.cps_out);
  read_rate(r, m, "cps_burst", 1, "is not a burst (calls back to back: 1 to 100000)",
            out.cps_burst);
  read_count(r, m, "pacing_queue", kMaxQueue,
             "is not a queue length (calls waiting: 0 = no queue, at most 100000)",
             out.pacing_queue);
  if (const Field* f = find(m, "pacing_wait")) {
    if (const auto d = r.duration(*f)) {
      if (*d > kMaxPacingWait) {
        r.error(*f, "must be at most 30s (the caller's INVITE is held that long)");
      } else {
        out.pacing_wait = *d;
      }
    }
  }
}

}  // namespace portico::policy::detail

namespace portico::policy {

const SessionLimits* PolicySnapshot::session_limits(const std::string& name) const {
  if (const Trunk* t = find_trunk(name)) {
    return &t->limits;
  }
  if (const AccessPeer* p = find_access_peer(name)) {
    return &p->limits;
  }
  return nullptr;
}

}  // namespace portico::policy
