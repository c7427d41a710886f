// What crosses from one realm to the other, bounded and filtered (docs/policies.md#headers):
// the length limits of a new call's INVITE, and the headers relayed from a leg's peer, whose
// identity headers pass only when the policy trusts that peer (RFC 3325 trust domain).

#include <algorithm>

#include "b2bua_impl.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"

namespace portico::b2bua {

namespace {

// The parser hands the display name over without its quotes; name_addr writes it quoted.
// Its size as written is what the limit bounds.
std::size_t written_size(std::string_view display) {
  return display.empty() ? 0 : display.size() + 2;
}

// A display name cut so that, quoted, it fits `max` bytes: never inside a UTF-8 sequence,
// never after a lone escaping backslash (it would escape the closing quote).
std::string truncate_display(std::string_view inner, std::size_t max) {
  std::size_t n = std::min(max > 2 ? max - 2 : 0, inner.size());
  while (n > 0 && n < inner.size() && (static_cast<unsigned char>(inner[n]) & 0xC0U) == 0x80U) {
    --n;  // inner[n] continues a multi-byte character: cut before the character starts
  }
  std::size_t backslashes = 0;
  while (backslashes < n && inner[n - 1 - backslashes] == '\\') {
    ++backslashes;
  }
  if (backslashes % 2 == 1) {
    --n;
  }
  return std::string(inner.substr(0, n));
}

bool passes(std::string_view name, const policy::HeaderRules& rules) {
  for (const auto& n : rules.pass) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

}  // namespace

CrossingCheck check_crossing(const sip::Message& req, const policy::HeaderRules& rules,
                             B2buaStats& stats) {
  CrossingCheck out;
  out.display = req.from().display;
  const auto refuse = [&](int status, const char* reason, const char* what) {
    ++stats.too_long_refused;
    out.status = status;
    out.reason = reason;
    log::info("call.rejected",
              {{"status", status}, {"reason", reason}, {"what", what}, {"call_id", req.call_id()}});
    return out;
  };
  // RFC 3261 §21.4.15: 414 for the Request-URI; 413 (§21.4.14) for the body.
  if (req.request_uri().size() > rules.max_uri) {
    return refuse(414, "uri_too_long", "request_uri");
  }
  if (req.from().uri.size() > rules.max_uri || req.to().uri.size() > rules.max_uri) {
    return refuse(400, "uri_too_long", "uri");
  }
  if (req.body().size() > rules.max_body) {
    return refuse(413, "body_too_long", "body");
  }
  if (rules.refuse_too_long) {
    if (written_size(out.display) > rules.max_display_name) {
      return refuse(400, "display_name_too_long", "display_name");
    }
    for (const auto& [name, value] : req.headers()) {
      if (value.size() > rules.max_header_value && passes(name, rules)) {
        return refuse(400, "header_too_long", "header");
      }
    }
  } else if (written_size(out.display) > rules.max_display_name) {
    ++stats.too_long_truncated;
    out.display = truncate_display(out.display, rules.max_display_name);
  }
  return out;
}

bool B2bua::Impl::peer_trusted(const Call& call, Side s) {
  const policy::PolicySnapshot& p = *call.plan.policy;
  const Leg& leg = call.leg(s);
  std::string name = call.plan.source_peer;
  if (s == Side::B) {
    if (call.target_index >= call.plan.targets.size()) {
      return false;
    }
    const policy::ResolvedTarget& t = call.plan.targets[call.target_index];
    if (t.kind == policy::PeerKind::Registered) {
      return false;  // a registered phone asserts nothing
    }
    name = t.name;
  }
  if (const policy::Trunk* t = p.find_trunk(name); t != nullptr && t->realm == leg.realm) {
    return t->trusted;
  }
  if (const policy::AccessPeer* a = p.find_access_peer(name);
      a != nullptr && a->realm == leg.realm) {
    return a->trusted;
  }
  return false;
}

std::string B2bua::Impl::passed_headers(B2bua& self, const Call& call, Side from,
                                        const sip::Message& msg, const std::string& local_host) {
  PassedHeaderCounts counts;
  std::string out =
      relayed_headers(msg, call.plan.policy->headers, local_host, peer_trusted(call, from), counts);
  self.stats_.identity_removed += counts.identity_removed;
  self.stats_.too_long_dropped += counts.too_long_dropped;
  return out;
}

}  // namespace portico::b2bua
