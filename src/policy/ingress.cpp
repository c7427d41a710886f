// `ingress`: what an unidentified sender can make Portico spend before a call exists (see
// Ingress in model.hpp and docs/policies.md#ingress).

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kIngressKeys = {"max_headers",
                              "max_vias",
                              "unknown_source",
                              "max_tcp_connections",
                              "max_tcp_connections_per_source",
                              "tcp_message_deadline",
                              "tcp_max_queued_output"};

void read_count(const Reader& r, const FieldMap& m, const std::string& key, std::int64_t lo,
                std::int64_t hi, std::size_t& out) {
  const Field* f = find(m, key);
  if (f == nullptr) {
    return;
  }
  const std::string what =
      "is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")";
  if (auto n = r.integer_in(*f, lo, hi, what)) {
    out = static_cast<std::size_t>(*n);
  }
}

}  // namespace

void parse_ingress(const Reader& r, const Field& f, Ingress& out) {
  const auto m = r.map(f, kIngressKeys);
  if (!m) {
    return;
  }
  out.loc = f.key_loc;
  // A well-formed call needs about a dozen header fields and one Via per proxy on its path.
  read_count(r, *m, "max_headers", 16, 10000, out.max_headers);
  read_count(r, *m, "max_vias", 2, 1000, out.max_vias);
  if (const Field* v = find(*m, "unknown_source")) {
    if (auto s = r.string(*v)) {
      if (*s == "reject") {
        out.unknown_source = Ingress::UnknownSource::Reject;
      } else if (*s == "drop") {
        out.unknown_source = Ingress::UnknownSource::Drop;
      } else {
        r.error(*v, quote(*s) + " is not an unknown-source action (expected reject or drop)");
      }
    }
  }
  read_count(r, *m, "max_tcp_connections", 1, 1000000, out.max_tcp_connections);
  read_count(r, *m, "max_tcp_connections_per_source", 1, 1000000,
             out.max_tcp_connections_per_source);
  if (const Field* v = find(*m, "tcp_message_deadline")) {
    const auto d = r.duration(*v);
    if (d && (*d < std::chrono::milliseconds(100) || *d > std::chrono::hours(1))) {
      r.error(*v, "is out of range (100ms..1h)");
    } else if (d) {
      out.tcp_message_deadline = *d;
    }
  }
  // The transport still queues one whole message of server.max_message_size when this is less.
  read_count(r, *m, "tcp_max_queued_output", 65536, std::int64_t{1} << 30,
             out.tcp_max_queued_output);
  if (out.max_tcp_connections_per_source > out.max_tcp_connections) {
    const Field* at = find(*m, "max_tcp_connections_per_source");
    r.error(at != nullptr ? *at : f, "must not be more than max_tcp_connections (" +
                                         std::to_string(out.max_tcp_connections) + ")");
  }
}

}  // namespace portico::policy::detail
