// `realms.<name>.media`: where a realm's RTP/RTCP sockets bind and how its peers' media is
// treated (see RealmMedia in model.hpp and docs/policies.md#media).

#include "policy_draft.hpp"
#include "portico/common/strings.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kMediaKeys = {"address",      "advertised_address", "ports",        "nat",
                            "latch_any_ip", "allowed_networks",   "strict_source"};

constexpr std::int64_t kLowestMediaPort = 1024;  // below it binding needs privileges
constexpr std::int64_t kMinRangePorts = 4;       // two RTP/RTCP pairs: one call, both legs

// "20000-29999": the inclusive range RTP/RTCP ports are taken from.
void read_port_range(const Reader& r, const Field& f, RealmMedia& out) {
  const auto text = r.string(f);
  if (!text) {
    return;
  }
  const std::string_view t = trim(*text);
  const auto dash = t.find('-');
  const auto lo = parse_uint(trim(t.substr(0, dash)));
  const auto hi = dash == t.npos ? std::nullopt : parse_uint(trim(t.substr(dash + 1)));
  if (!lo || !hi) {
    r.error(f, quote(t) + " is not a port range (expected min-max, e.g. 20000-29999)");
    return;
  }
  if (*lo < kLowestMediaPort || *hi > 65535 || *lo > *hi) {
    r.error(f, quote(t) + " is not a usable port range (both ends within 1024..65535, min <= max)");
    return;
  }
  // RTP takes even ports (RFC 3550 §11): an odd minimum would waste its first port anyway.
  const std::int64_t even_lo = static_cast<std::int64_t>(*lo) + (*lo % 2);
  if (static_cast<std::int64_t>(*hi) - even_lo + 1 < kMinRangePorts) {
    r.error(f, quote(t) + " holds fewer than " + std::to_string(kMinRangePorts) +
                   " ports (one call needs an RTP/RTCP pair on each leg)");
    return;
  }
  out.port_min = static_cast<std::uint16_t>(even_lo);
  out.port_max = static_cast<std::uint16_t>(*hi);
}

}  // namespace

void parse_realm_media(const Reader& r, const Field& f, RealmMedia& out) {
  out.loc = f.key_loc;
  const auto m = r.map(f, kMediaKeys);
  if (!m) {
    return;
  }
  out.enabled = true;
  if (const Field* a = r.require(*m, "address", f)) {
    if (const auto ip = r.ip(*a)) {
      if (ip->is_unspecified()) {
        r.error(*a, quote(ip->to_string()) +
                        " is a wildcard; media needs the one address peers send RTP to");
      }
      out.address = *ip;
    }
  }
  if (const Field* a = find(*m, "advertised_address")) {
    if (const auto ip = r.ip(*a)) {
      out.advertised_address = ip->to_string();
    }
  }
  if (const Field* p = find(*m, "ports")) {
    read_port_range(r, *p, out);
  }
  if (const Field* b = find(*m, "nat")) {
    out.nat = r.boolean(*b).value_or(out.nat);
  }
  if (const Field* b = find(*m, "latch_any_ip")) {
    out.latch_any_ip = r.boolean(*b).value_or(out.latch_any_ip);
    if (out.latch_any_ip && !out.nat) {
      r.error(*b, "latch_any_ip only applies with nat: true");
    }
  }
  if (const Field* n = find(*m, "allowed_networks")) {
    if (auto cidrs = r.cidrs(*n)) {
      if (cidrs->empty()) {
        r.error(*n, "an empty list would refuse every call; leave the key out for the default");
      }
      out.allowed_networks = std::move(*cidrs);
    }
  }
  if (const Field* s = find(*m, "strict_source")) {
    if (const auto text = r.string(*s)) {
      if (*text == "address" || *text == "address_port") {
        out.strict_source_port = *text == "address_port";
      } else {
        r.error(*s, quote(*text) + " is not a source check (address or address_port)");
      }
      if (out.nat) {
        r.error(*s, "strict_source applies without nat; with nat the source is latched");
      }
    }
  }
}

}  // namespace portico::policy::detail
