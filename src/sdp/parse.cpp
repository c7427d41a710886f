// SDP parser (RFC 4566 §5).
//
// Driven one line at a time by a small state machine: session level until the first m=, then
// one media section per m=. What the parser enforces is structure, not policy:
//   - v=0 first, then exactly one o= and one s= before the first m= (§5.1-§5.3);
//   - session-only lines (v,o,s,u,e,p,t,r,z) may not appear inside a media section (§5);
//   - single-valued fields (s,i,u,c,z,k) at most once per section; r= only after a t=;
//   - each known line's fields are checked (parse_fields.cpp).
// It is lenient where peers commonly stray and nothing is lost: CRLF or bare LF, trailing
// whitespace, blank lines, known lines out of order (they are re-emitted in §5 order), a
// missing t= (tolerated, as many SIP stacks accept it). Lines with an unknown type letter are
// kept (§5: "ignored" by a receiver; a relay must pass them on).
//
// Work is bounded before it starts: kMaxSdpBytes, kMaxSdpLines, kMaxMediaSections.

#include <optional>

#include "parse_fields.hpp"
#include "portico/sdp/session.hpp"

namespace portico::sdp {
namespace {

using detail::syntax_error;
using MaybeError = std::optional<Error>;

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

template <class T>
MaybeError push(std::vector<T>& into, Result<T> parsed) {
  if (!parsed) {
    return parsed.error();
  }
  into.push_back(std::move(parsed).value());
  return std::nullopt;
}

class Parser {
 public:
  Result<Session> run(std::string_view text);

 private:
  MaybeError line(char type, std::string_view value);
  MaybeError session_line(char type, std::string_view value);
  MaybeError session_header_line(char type, std::string_view value);
  MaybeError session_text_line(char type, std::string_view value);
  MaybeError media_line(char type, std::string_view value);
  MaybeError start_media(std::string_view value);
  MaybeError set_once(std::optional<std::string>& field, char type, std::string_view value);
  template <class T>
  MaybeError set_once(std::optional<T>& field, Result<T> parsed, char type);
  MaybeError check_complete() const;

  Session s_;
  std::size_t line_no_ = 0;
  char last_ = 0;  // letter of the last known line, for placing unknown lines
  bool seen_v_ = false;
  bool seen_o_ = false;
  bool seen_s_ = false;
};

Result<Session> Parser::run(std::string_view text) {
  if (text.size() > kMaxSdpBytes) {
    return make_error("sdp_limit", "SDP body is " + std::to_string(text.size()) +
                                       " bytes, over the limit of " + std::to_string(kMaxSdpBytes));
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (++line_no_ > kMaxSdpLines) {
      return make_error("sdp_limit", "line " + std::to_string(line_no_) + ": more than " +
                                         std::to_string(kMaxSdpLines) + " lines");
    }
    std::string_view l = trim_right(raw);
    if (l.empty()) {
      continue;
    }
    if (l.find('\0') != std::string_view::npos || l.find('\r') != std::string_view::npos) {
      return syntax_error(line_no_, "contains a NUL byte or a bare CR");
    }
    if (l.size() < 2 || l[1] != '=' || !is_ascii_letter(l[0])) {
      return syntax_error(line_no_, "expected <type>=<value>");
    }
    if (auto e = line(l[0], l.substr(2))) {
      return *std::move(e);
    }
  }
  if (auto e = check_complete()) {
    return *std::move(e);
  }
  return std::move(s_);
}

MaybeError Parser::check_complete() const {
  if (!seen_v_) {
    return make_error("sdp_syntax", "empty SDP body");
  }
  if (!seen_o_) {
    return make_error("sdp_syntax", "missing o= line (RFC 4566 §5.2)");
  }
  if (!seen_s_) {
    return make_error("sdp_syntax", "missing s= line (RFC 4566 §5.3)");
  }
  return std::nullopt;
}

MaybeError Parser::line(char type, std::string_view value) {
  if (!seen_v_) {
    // RFC 4566 §5: "An SDP session description begins with a 'v=' line".
    if (type != 'v') {
      return syntax_error(line_no_, "SDP must start with v=0");
    }
    if (value != "0") {
      return syntax_error(line_no_, "v= must be 0");
    }
    seen_v_ = true;
    last_ = 'v';
    return std::nullopt;
  }
  return s_.media.empty() ? session_line(type, value) : media_line(type, value);
}

MaybeError Parser::set_once(std::optional<std::string>& field, char type, std::string_view value) {
  if (field) {
    return syntax_error(line_no_, std::string(1, type) + "= appears twice in this section");
  }
  field = std::string(value);
  return std::nullopt;
}

template <class T>
MaybeError Parser::set_once(std::optional<T>& field, Result<T> parsed, char type) {
  if (!parsed) {
    return parsed.error();
  }
  if (field) {
    return syntax_error(line_no_, std::string(1, type) + "= appears twice in this section");
  }
  field = std::move(parsed).value();
  return std::nullopt;
}

// v=, o=, s=: the session's identity, each exactly once (RFC 4566 §5.1-§5.3).
MaybeError Parser::session_header_line(char type, std::string_view value) {
  bool& seen = type == 'v' ? seen_v_ : type == 'o' ? seen_o_ : seen_s_;
  if (seen) {
    return syntax_error(line_no_, std::string(1, type) + "= appears twice");
  }
  if (type == 'o') {
    auto o = detail::parse_origin(value, line_no_);
    if (!o) {
      return o.error();
    }
    s_.origin = std::move(o).value();
  } else {
    s_.name = std::string(value);
  }
  seen = true;
  return std::nullopt;
}

// i, u, e, p, z, k: kept as text; Portico neither reads nor changes them (RFC 4566 §5.4-§5.6,
// §5.11, §5.12), but e= and p= may repeat while the others appear at most once.
MaybeError Parser::session_text_line(char type, std::string_view value) {
  switch (type) {
    case 'e':
      s_.emails.emplace_back(value);
      return std::nullopt;
    case 'p':
      s_.phones.emplace_back(value);
      return std::nullopt;
    case 'i':
      return set_once(s_.information, type, value);
    case 'u':
      return set_once(s_.uri, type, value);
    case 'z':
      return set_once(s_.time_zones, type, value);
    default:
      return set_once(s_.key, type, value);
  }
}

MaybeError Parser::session_line(char type, std::string_view value) {
  MaybeError err;
  char known = type;
  switch (type) {
    case 'v':
    case 'o':
    case 's':
      err = session_header_line(type, value);
      break;
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'z':
    case 'k':
      err = session_text_line(type, value);
      break;
    case 'c':
      err = set_once(s_.connection, detail::parse_connection(value, line_no_), type);
      break;
    case 'b':
      err = push(s_.bandwidths, detail::parse_bandwidth(value, line_no_));
      break;
    case 't':
      err = push(s_.timings, detail::parse_timing(value, line_no_));
      break;
    case 'r':
      // RFC 4566 §5.10: repeat times apply to the t= line just before them.
      if (s_.timings.empty()) {
        return syntax_error(line_no_, "r= without a preceding t=");
      }
      s_.timings.back().repeats.emplace_back(value);
      known = 't';
      break;
    case 'a':
      err = push(s_.attributes, detail::parse_attribute(value, line_no_));
      break;
    case 'm':
      return start_media(value);
    default:
      s_.extra_lines.push_back(ExtraLine{last_, type, std::string(value)});
      return std::nullopt;
  }
  last_ = known;
  return err;
}

MaybeError Parser::start_media(std::string_view value) {
  if (s_.media.size() >= kMaxMediaSections) {
    return make_error("sdp_limit", "line " + std::to_string(line_no_) + ": more than " +
                                       std::to_string(kMaxMediaSections) + " media sections");
  }
  if (!seen_o_ || !seen_s_) {
    return syntax_error(line_no_, "m= before the o= and s= lines");
  }
  auto m = detail::parse_media_line(value, line_no_);
  if (!m) {
    return m.error();
  }
  s_.media.push_back(std::move(m).value());
  last_ = 'm';
  return std::nullopt;
}

// RFC 4566 §5: a media description holds only i=, c=, b=, k= and a= (plus unknown letters).
MaybeError Parser::media_line(char type, std::string_view value) {
  Media& m = s_.media.back();
  MaybeError err;
  switch (type) {
    case 'm':
      return start_media(value);
    case 'i':
      err = set_once(m.title, type, value);
      break;
    case 'c':
      err = set_once(m.connection, detail::parse_connection(value, line_no_), type);
      break;
    case 'k':
      err = set_once(m.key, type, value);
      break;
    case 'b':
      err = push(m.bandwidths, detail::parse_bandwidth(value, line_no_));
      break;
    case 'a':
      err = push(m.attributes, detail::parse_attribute(value, line_no_));
      break;
    case 'v':
    case 'o':
    case 's':
    case 'u':
    case 'e':
    case 'p':
    case 't':
    case 'r':
    case 'z':
      return syntax_error(line_no_, std::string(1, type) + "= is not allowed in a media section");
    default:
      m.extra_lines.push_back(ExtraLine{last_, type, std::string(value)});
      return std::nullopt;
  }
  last_ = type;
  return err;
}

}  // namespace

Result<Session> parse(std::string_view text) { return Parser{}.run(text); }

std::size_t count_media_lines(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (text.compare(at, 2, "m=") == 0) {
      ++n;
    }
    const auto nl = text.find('\n', at);
    if (nl == std::string_view::npos) {
      break;
    }
    at = nl + 1;
  }
  return n;
}

}  // namespace portico::sdp
