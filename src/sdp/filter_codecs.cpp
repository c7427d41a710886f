// Codec policy on one media section (docs/style.md, "Layers").
//
// RFC 3264 §5.1: the order of formats on the m= line is the offerer's preference, so the
// policy's order becomes the m= order. Formats that only make sense next to a real codec
// (telephone-event per RFC 4733, CN per RFC 3389, red, rtx, ulpfec, flexfec) never count as
// "a codec remains": an offer left with only telephone-event is a codec mismatch.

#include <algorithm>
#include <array>

#include "parse_fields.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/rewrite.hpp"

namespace portico::sdp {
namespace {

// RFC 3551 §6, Table 4 and 5: static payload types that need no a=rtpmap.
std::string_view static_encoding_name(std::string_view pt) {
  static constexpr std::array<std::string_view, 35> kStatic = {
      "PCMU",  "",     "",     "GSM",  "G723", "DVI4", "DVI4", "LPC",  "PCMA", "G722", "L16", "L16",
      "QCELP", "CN",   "MPA",  "G728", "DVI4", "DVI4", "G729", "",     "",     "",     "",    "",
      "",      "CelB", "JPEG", "",     "nv",   "",     "",     "H261", "MPV",  "MP2T", "H263"};
  auto n = parse_uint(pt);
  return n && *n < kStatic.size() ? kStatic[*n] : std::string_view{};
}

bool is_auxiliary(std::string_view name) {
  for (std::string_view aux : {"telephone-event", "CN", "red", "rtx", "ulpfec", "flexfec"}) {
    if (iequals(name, aux)) {
      return true;
    }
  }
  return false;
}

bool allowed_name(const std::vector<std::string>& allowed, std::string_view name) {
  return std::any_of(allowed.begin(), allowed.end(),
                     [name](const std::string& a) { return iequals(a, name); });
}

// RFC 4588 §8.1: rtx names the payload type it repairs with fmtp "apt=<pt>".
std::string_view rtx_apt(const Media& m, std::string_view pt) {
  auto params = m.fmtp(pt);
  if (!params) {
    return {};
  }
  auto pos = params->find("apt=");
  if (pos == std::string_view::npos) {
    return {};
  }
  std::string_view v = params->substr(pos + 4);
  return v.substr(0, v.find(';'));
}

std::vector<std::string> chosen_formats(const Media& m, const std::vector<std::string>& allowed) {
  // Names are looked up once per format: each lookup scans the attribute list.
  std::vector<std::string> names;
  names.reserve(m.formats.size());
  for (const auto& pt : m.formats) {
    names.push_back(encoding_name(m, pt));
  }
  auto is_kept = [](const std::vector<std::string>& kept, std::string_view pt) {
    return std::find(kept.begin(), kept.end(), pt) != kept.end();
  };
  std::vector<std::string> kept;
  for (const auto& want : allowed) {
    for (std::size_t i = 0; i < m.formats.size(); ++i) {
      if (iequals(names[i], want) && !is_auxiliary(names[i]) && !is_kept(kept, m.formats[i])) {
        kept.push_back(m.formats[i]);
      }
    }
  }
  if (kept.empty()) {
    return kept;
  }
  for (std::size_t i = 0; i < m.formats.size(); ++i) {
    const std::string& pt = m.formats[i];
    if (!is_auxiliary(names[i]) || !allowed_name(allowed, names[i]) || is_kept(kept, pt)) {
      continue;
    }
    if (iequals(names[i], "rtx") && !is_kept(kept, rtx_apt(m, pt))) {
      continue;
    }
    kept.push_back(pt);
  }
  return kept;
}

// rtpmap, fmtp and rtcp-fb are scoped to one payload type by their first token (RFC 4566 §6,
// RFC 4585 §4.2; rtcp-fb "*" applies to all and stays).
bool scoped_to_dropped_pt(const Attribute& a, const std::vector<std::string>& kept) {
  if (!a.value ||
      !(iequals(a.name, "rtpmap") || iequals(a.name, "fmtp") || iequals(a.name, "rtcp-fb"))) {
    return false;
  }
  std::string_view v = *a.value;
  std::string_view pt = v.substr(0, v.find(' '));
  if (pt == "*") {
    return false;
  }
  return std::find(kept.begin(), kept.end(), pt) == kept.end();
}

}  // namespace

std::string encoding_name(const Media& m, std::string_view pt) {
  if (auto map = m.rtpmap(pt)) {
    return map->encoding_name;
  }
  return std::string(static_encoding_name(pt));
}

bool filter_codecs(Media& m, const std::vector<std::string>& allowed) {
  std::vector<std::string> kept = chosen_formats(m, allowed);
  if (kept.empty()) {
    return false;
  }
  std::erase_if(m.attributes,
                [&kept](const Attribute& a) { return scoped_to_dropped_pt(a, kept); });
  m.formats = std::move(kept);
  return true;
}

}  // namespace portico::sdp
