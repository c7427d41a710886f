// Routes: an ordered list, first match wins. Each route says which requests it takes (match),
// how it rewrites the Request-URI user (rewrite), and where the call goes (targets).

#include "policy_draft.hpp"

namespace portico::policy::detail {

namespace {

const KeyList kRouteKeys = {"name", "match", "rewrite", "targets"};
const KeyList kMatchKeys = {"realm", "peer", "user_prefix", "user_regex"};
const KeyList kRewriteKeys = {"strip", "prepend", "regex", "replace"};
const KeyList kTargetKeys = {"trunk", "peer", "registered"};

// libstdc++ reads the number of a back-reference (\N) or of a repeat count ({N,M}) into a long
// with no overflow check: 19 digits are undefined behaviour, 10 already wrap. No pattern needs
// such a number past 9 digits, so one that has it is refused before std::regex sees it.
bool has_oversized_number(std::string_view re) {
  constexpr std::size_t kMaxDigits = 9;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  bool in_brace = false;
  std::size_t i = 0;
  while (i < re.size()) {
    const char c = re[i++];
    bool number = false;
    if (c == '\\') {
      if (i < re.size() && !digit(re[i])) {
        ++i;  // an escaped character, never a number
        continue;
      }
      number = true;
    } else if (c == '{') {
      in_brace = true;
      number = true;
    } else if (c == ',' && in_brace) {
      number = true;
    } else if (c == '}') {
      in_brace = false;
    }
    std::size_t digits = 0;
    while (number && i < re.size() && digit(re[i])) {
      ++digits;
      ++i;
    }
    if (digits > kMaxDigits) {
      return true;
    }
  }
  return false;
}

// ECMAScript, like JavaScript: the syntax most people test their patterns with.
std::optional<std::regex> compile_regex(const Reader& r, const Field& f, std::string& text) {
  const auto s = r.string(f);
  if (!s) {
    return std::nullopt;
  }
  text = *s;
  if (has_oversized_number(*s)) {
    r.error(f, "invalid regex " + quote(*s) +
                   ": a back-reference or repeat count of more than 9 digits");
    return std::nullopt;
  }
  try {
    return std::regex(*s, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    r.error(f, "invalid regex " + quote(*s) + ": " + e.what());
    return std::nullopt;
  }
}

void parse_match(const Reader& r, const Field& f, RouteDraft& d) {
  const auto m = r.map(f, kMatchKeys);
  if (!m) {
    return;
  }
  if (const Field* v = find(*m, "realm")) {
    d.realm_loc = v->loc;
    d.route.from_realm = r.string(*v);
  }
  if (const Field* v = find(*m, "peer")) {
    d.peer_loc = v->loc;
    d.route.from_peer = r.string(*v);
  }
  if (const Field* v = find(*m, "user_prefix")) {
    d.route.user_prefix = r.string(*v);
  }
  if (const Field* v = find(*m, "user_regex")) {
    d.route.user_regex = compile_regex(r, *v, d.route.user_regex_text);
  }
}

void parse_rewrite(const Reader& r, const Field& f, NumberRewrite& rw) {
  const auto m = r.map(f, kRewriteKeys);
  if (!m) {
    return;
  }
  if (const Field* v = find(*m, "strip")) {
    const auto n = r.integer_in(*v, 0, 256, "is not a number of characters to strip (0..256)");
    rw.strip_digits = static_cast<int>(n.value_or(0));
  }
  if (const Field* v = find(*m, "prepend")) {
    rw.prepend = r.string(*v).value_or("");
  }
  const Field* regex = find(*m, "regex");
  const Field* replace = find(*m, "replace");
  if (regex != nullptr) {
    rw.regex = compile_regex(r, *regex, rw.regex_text);
  }
  if (replace != nullptr) {
    rw.replace = r.string(*replace).value_or("");
  }
  // Either half alone is almost certainly an unfinished edit; say which half is missing.
  if (regex != nullptr && replace == nullptr) {
    r.error(*regex, "regex needs replace (the text that replaces the match, e.g. \"+$1\")");
  } else if (replace != nullptr && regex == nullptr) {
    r.error(*replace, "replace needs regex (the pattern whose match it replaces)");
  }
}

void parse_targets(const Reader& r, const Field& f, RouteDraft& d) {
  const auto items = r.list(f);
  if (!items) {
    return;
  }
  if (items->empty()) {
    r.error(f, "a route needs at least one target");
  }
  for (const auto& item : *items) {
    const auto m = r.map(item, kTargetKeys);
    if (!m) {
      continue;
    }
    const Field* trunk = find(*m, "trunk");
    const Field* peer = find(*m, "peer");
    const Field* registered = find(*m, "registered");
    const int given = (trunk != nullptr) + (peer != nullptr) + (registered != nullptr);
    if (given != 1) {
      r.error(item, "a target names exactly one of trunk, peer or registered");
      continue;
    }
    const Field& v = trunk != nullptr ? *trunk : peer != nullptr ? *peer : *registered;
    if (auto name = r.string(v)) {
      const PeerKind kind = trunk != nullptr  ? PeerKind::Trunk
                            : peer != nullptr ? PeerKind::AccessPeer
                                              : PeerKind::Registered;
      d.route.targets.push_back(RouteTarget{kind, *name, v.loc});
      d.target_paths.push_back(v.path);
    }
  }
}

void parse_route(const Reader& r, const Field& item, RouteDraft& d) {
  d.path = item.path;
  d.route.loc = item.loc;
  d.name_loc = item.loc;
  const auto m = r.map(item, kRouteKeys);
  if (!m) {
    return;
  }
  if (const Field* f = r.require(*m, "name", item)) {
    d.name_loc = f->loc;
    const auto name = r.string(*f);
    if (name && r.check_name(*name, f->loc, f->path)) {
      d.route.name = *name;
    }
  }
  if (const Field* f = find(*m, "match")) {
    parse_match(r, *f, d);
  }
  if (const Field* f = find(*m, "rewrite")) {
    parse_rewrite(r, *f, d.route.rewrite);
  }
  if (const Field* f = r.require(*m, "targets", item)) {
    parse_targets(r, *f, d);
  }
}

}  // namespace

void parse_routes(const Reader& r, const Field& f, PolicyDraft& draft) {
  const auto items = r.list(f);
  if (!items) {
    return;
  }
  for (Field item : *items) {
    // Routes are numbered across all files, in load order, as the matcher sees them.
    item.path = "routes[" + std::to_string(draft.routes.size()) + "]";
    RouteDraft d;
    parse_route(r, item, d);
    draft.routes.push_back(std::move(d));
  }
}

}  // namespace portico::policy::detail
