// Typed reads from yaml-cpp nodes. Every reader reports its own problem and returns nullopt, so
// callers only decide what to do with a value that is known to be good.

#include "yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "portico/common/strings.hpp"

namespace portico::policy::detail {

namespace {

const char* kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "a value";
  }
}

// "expected an integer" alone is enough for scalars (the user sees the text at file:line:col);
// for maps and lists saying what was found explains indentation mistakes.
std::string expected(std::string_view what, const YAML::Node& n) {
  std::string msg = "expected " + std::string(what);
  if (!n.IsScalar()) {
    msg += std::string(", found ") + kind_name(n);
  }
  return msg;
}

}  // namespace

SourceLoc Reader::loc_of(const YAML::Node& node, const SourceLoc& fallback) const {
  if (!node.IsDefined() || node.Mark().is_null()) {
    return fallback;
  }
  const YAML::Mark m = node.Mark();
  return SourceLoc{file_, m.line + 1, m.column + 1};
}

void Reader::error(const SourceLoc& loc, const std::string& path, std::string message) const {
  diags_.add(loc, path, std::move(message));
}

Field Reader::root(const YAML::Node& doc) const {
  const SourceLoc loc = loc_of(doc, SourceLoc{file_, 1, 1});
  return Field{doc, "", loc, loc};
}

std::optional<FieldMap> Reader::map(const Field& f, const KeyList& allowed) const {
  if (!f.value.IsMap()) {
    error(f, expected("a map", f.value));
    return std::nullopt;
  }
  FieldMap out;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    const SourceLoc key_loc = loc_of(it->first, f.loc);
    if (!it->first.IsScalar()) {
      error(key_loc, f.path, "expected a key name");
      continue;
    }
    const std::string key = it->first.Scalar();
    const std::string path = f.path.empty() ? key : f.path + "." + key;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      const std::string near = suggest(key, allowed);
      std::vector<std::string> names(allowed.begin(), allowed.end());
      error(key_loc, path,
            near.empty() ? "unknown key (expected one of: " + join(names) + ")"
                         : "unknown key (did you mean " + quote(near) + "?)");
      continue;
    }
    if (out.count(key) != 0) {
      error(key_loc, path, "duplicate key (first given at " + where(out[key].key_loc) + ")");
      continue;
    }
    const SourceLoc value_loc = it->second.IsNull() ? key_loc : loc_of(it->second, key_loc);
    out.emplace(key, Field{it->second, path, key_loc, value_loc});
  }
  return out;
}

std::optional<std::vector<Field>> Reader::list(const Field& f) const {
  if (!f.value.IsSequence()) {
    error(f, expected("a list", f.value));
    return std::nullopt;
  }
  std::vector<Field> out;
  std::size_t i = 0;
  for (const auto& item : f.value) {
    const SourceLoc loc = loc_of(item, f.loc);
    out.push_back(Field{item, f.path + "[" + std::to_string(i++) + "]", loc, loc});
  }
  return out;
}

std::optional<std::string> Reader::string(const Field& f) const {
  if (!f.value.IsScalar()) {
    error(f, expected("a string", f.value));
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::optional<std::int64_t> Reader::integer(const Field& f) const {
  if (!f.value.IsScalar()) {
    error(f, expected("an integer", f.value));
    return std::nullopt;
  }
  std::string_view text = f.value.Scalar();
  const bool negative = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    text.remove_prefix(1);
  }
  // parse_uint refuses more than 20 digits; that is out of every range we accept anyway.
  const auto magnitude = parse_uint(text);
  if (!magnitude || *magnitude > static_cast<std::uint64_t>(INT64_MAX)) {
    error(f, "expected an integer");
    return std::nullopt;
  }
  const auto v = static_cast<std::int64_t>(*magnitude);
  return negative ? -v : v;
}

std::optional<std::int64_t> Reader::integer_in(const Field& f, std::int64_t lo, std::int64_t hi,
                                               std::string_view what) const {
  const auto v = integer(f);
  if (v && (*v < lo || *v > hi)) {
    error(f, std::to_string(*v) + " " + std::string(what));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Reader::boolean(const Field& f) const {
  // Only true/false: YAML 1.1's yes/no/on/off surprise people (the "Norway problem").
  if (f.value.IsScalar()) {
    const std::string v = to_lower(f.value.Scalar());
    if (v == "true" || v == "false") {
      return v == "true";
    }
  }
  error(f, expected("true or false", f.value));
  return std::nullopt;
}

std::optional<Millis> Reader::duration(const Field& f) const {
  if (!f.value.IsScalar()) {
    error(f, expected("a duration such as \"500ms\" or \"4s\"", f.value));
    return std::nullopt;
  }
  auto d = parse_duration(f.value.Scalar());
  if (!d) {
    error(f, d.error().detail);
    return std::nullopt;
  }
  return *d;
}

std::optional<std::uint16_t> Reader::port(const Field& f) const {
  const auto v = integer_in(f, 1, 65535, "is not a port");
  if (!v) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

std::optional<asio::ip::address> Reader::ip(const Field& f) const {
  const auto text = string(f);
  if (!text) {
    return std::nullopt;
  }
  asio::error_code ec;
  const auto addr = asio::ip::make_address(*text, ec);
  if (ec) {
    error(f, quote(*text) + " is not an IP address (host names are not supported yet)");
    return std::nullopt;
  }
  return addr;
}

std::optional<Protocol> Reader::protocol(const Field& f) const {
  const auto text = string(f);
  if (!text) {
    return std::nullopt;
  }
  const auto p = portico::parse_protocol(*text);
  if (!p) {
    error(f, quote(*text) + " is not a transport (expected udp, tcp or tls)");
  }
  return p;
}

std::optional<Cidr> Reader::cidr(const Field& f) const {
  const auto text = string(f);
  if (!text) {
    return std::nullopt;
  }
  auto c = parse_cidr(*text);
  if (!c) {
    error(f, c.error().detail);
    return std::nullopt;
  }
  return *c;
}

std::optional<std::vector<Cidr>> Reader::cidrs(const Field& f) const {
  const auto items = list(f);
  if (!items) {
    return std::nullopt;
  }
  std::vector<Cidr> out;
  bool ok = true;
  for (const auto& item : *items) {
    auto c = cidr(item);
    ok = ok && c.has_value();
    if (c) {
      out.push_back(*c);
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

bool Reader::check_name(const std::string& name, const SourceLoc& loc,
                        const std::string& path) const {
  // Names become metric labels and log fields: keep them to a plain, greppable alphabet.
  const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (!ok) {
    error(loc, path, quote(name) + " is not a valid name (use letters, digits, '-', '_' and '.')");
  }
  return ok;
}

const Field* Reader::require(const FieldMap& fields, const std::string& key,
                             const Field& parent) const {
  const Field* f = find(fields, key);
  if (f == nullptr) {
    const std::string path = parent.path.empty() ? key : parent.path + "." + key;
    error(parent.key_loc, path, "required field is missing");
  }
  return f;
}

const Field* find(const FieldMap& fields, const std::string& key) {
  const auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::string listener_uri(const Listener& l) {
  return std::string(portico::to_string(l.protocol)) + "://" + l.bind.to_string();
}

}  // namespace portico::policy::detail
