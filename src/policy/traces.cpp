// `traces`: per-call pcap files and HEPv3 export (see TraceConfig in model.hpp and
// docs/policies.md#traces).

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kTraceKeys = {"directory", "max_files", "max_age", "hep", "hep_id", "hep_password"};

constexpr std::int64_t kMaxFiles = 10'000'000;

}  // namespace

void parse_traces(const Reader& r, const Field& f, TraceConfig& out) {
  const auto m = r.map(f, kTraceKeys);
  if (!m) {
    return;
  }
  out.loc = f.key_loc;
  if (const Field* d = find(*m, "directory")) {
    if (auto s = r.string(*d)) {
      if (s->empty()) {
        r.error(*d, "must not be empty (leave the key out to write no pcap files)");
      } else if (s->front() != '/') {
        // The process may be started from anywhere (systemd, a container): a relative path
        // would scatter traces wherever that is.
        r.error(*d, quote(*s) + " is not an absolute path");
      } else {
        out.pcap = true;
        out.directory = *s;
      }
    }
  }
  if (const Field* n = find(*m, "max_files")) {
    if (auto v = r.integer_in(*n, 1, kMaxFiles, "is out of range (1..10000000 files)")) {
      out.max_files = static_cast<std::size_t>(*v);
    }
  }
  if (const Field* a = find(*m, "max_age")) {
    out.max_age = r.duration(*a).value_or(out.max_age);  // 0s: no age limit
  }
  if (const Field* h = find(*m, "hep")) {
    if (auto l = parse_listener(r, *h)) {
      if (l->protocol != Protocol::Udp) {
        r.error(*h, quote(listener_uri(*l)) + ": HEP is sent over UDP only (udp://host:port)");
      } else if (l->bind.address.is_unspecified()) {
        r.error(*h, quote(listener_uri(*l)) + " is a wildcard; name the collector's address");
      } else {
        out.hep = true;
        out.hep_address = l->bind;
      }
    }
  }
  if (const Field* id = find(*m, "hep_id")) {
    if (auto v = r.integer_in(*id, 0, 0xFFFFFFFFLL, "is not a capture agent id (0..4294967295)")) {
      out.hep_id = static_cast<std::uint32_t>(*v);
    }
  }
  if (const Field* pw = find(*m, "hep_password")) {
    out.hep_password = r.string(*pw).value_or(out.hep_password);
  }
  const bool hep_options = find(*m, "hep_id") != nullptr || find(*m, "hep_password") != nullptr;
  if (hep_options && find(*m, "hep") == nullptr) {
    r.error(f.key_loc, f.path, "hep_id and hep_password need hep (e.g. hep: udp://127.0.0.1:9060)");
  }
  const bool pcap_options = find(*m, "max_files") != nullptr || find(*m, "max_age") != nullptr;
  if (pcap_options && find(*m, "directory") == nullptr) {
    r.error(f.key_loc, f.path,
            "max_files and max_age need directory (e.g. directory: /var/lib/portico/traces)");
  }
}

}  // namespace portico::policy::detail
