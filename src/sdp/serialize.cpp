// SDP serializer: RFC 4566 §5 order, CRLF line ends (§5: "<CR><LF>" is the line end a sender
// uses). Lines with an unknown type letter go back right after the known line they followed
// when parsed (ExtraLine::after), so a relay changes nothing it did not mean to change.

#include <string>

#include "portico/sdp/session.hpp"

namespace portico::sdp {
namespace {

constexpr std::string_view kSessionOrder = "vosiuepcbtzka";
constexpr std::string_view kMediaOrder = "micbka";

class Writer {
 public:
  void line(char type, std::string_view value) {
    out_ += type;
    out_ += '=';
    out_ += value;
    out_ += "\r\n";
  }
  void extras(const std::vector<ExtraLine>& lines, char after) {
    for (const auto& x : lines) {
      if (x.after == after) {
        line(x.type, x.value);
      }
    }
  }
  // Extra lines built by code with an `after` letter that is not part of the section order
  // would otherwise be lost; they go at the end of their section.
  void stray_extras(const std::vector<ExtraLine>& lines, std::string_view order) {
    for (const auto& x : lines) {
      if (order.find(x.after) == std::string_view::npos) {
        line(x.type, x.value);
      }
    }
  }
  void optional(char type, const std::optional<std::string>& v) {
    if (v) {
      line(type, *v);
    }
  }
  void connection(const std::optional<Connection>& c) {
    if (c) {
      line('c', c->net_type + ' ' + c->addr_type + ' ' + c->address);
    }
  }
  void bandwidths(const std::vector<Bandwidth>& bws) {
    for (const auto& b : bws) {
      line('b', b.type + ':' + std::to_string(b.value));
    }
  }
  void attributes(const std::vector<Attribute>& attrs) {
    for (const auto& a : attrs) {
      line('a', a.value ? a.name + ':' + *a.value : a.name);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Numbers are written in canonical decimal; a peer's leading zeros ("o=x 007 ...") are not
// kept, which no receiver can tell apart (RFC 4566 §5.2 compares them as numbers).
std::string origin_text(const Origin& o) {
  return o.username + ' ' + std::to_string(o.session_id) + ' ' + std::to_string(o.session_version) +
         ' ' + o.net_type + ' ' + o.addr_type + ' ' + o.address;
}

std::string media_text(const Media& m) {
  std::string v = m.type + ' ' + std::to_string(m.port);
  if (m.port_count) {
    v += '/' + std::to_string(*m.port_count);
  }
  v += ' ' + m.proto;
  for (const auto& f : m.formats) {
    v += ' ' + f;
  }
  return v;
}

void write_media(Writer& w, const Media& m) {
  const auto& x = m.extra_lines;
  w.line('m', media_text(m));
  w.extras(x, 'm');
  w.optional('i', m.title);
  w.extras(x, 'i');
  w.connection(m.connection);
  w.extras(x, 'c');
  w.bandwidths(m.bandwidths);
  w.extras(x, 'b');
  w.optional('k', m.key);
  w.extras(x, 'k');
  w.attributes(m.attributes);
  w.extras(x, 'a');
  w.stray_extras(x, kMediaOrder);
}

// RFC 4566 §5.10: each r= belongs to the t= before it, so they are written together.
void write_timings(Writer& w, const Session& s) {
  for (const auto& t : s.timings) {
    w.line('t', std::to_string(t.start) + ' ' + std::to_string(t.stop));
    for (const auto& r : t.repeats) {
      w.line('r', r);
    }
  }
}

}  // namespace

// Session level, in the RFC 4566 §5 order, each field followed by the unknown lines that
// followed it in the parsed text.
std::string serialize(const Session& s) {
  Writer w;
  const auto& x = s.extra_lines;
  w.line('v', std::to_string(s.version));
  w.extras(x, 'v');
  w.line('o', origin_text(s.origin));
  w.extras(x, 'o');
  w.line('s', s.name);
  w.extras(x, 's');
  w.optional('i', s.information);
  w.extras(x, 'i');
  w.optional('u', s.uri);
  w.extras(x, 'u');
  for (const auto& e : s.emails) {
    w.line('e', e);
  }
  w.extras(x, 'e');
  for (const auto& p : s.phones) {
    w.line('p', p);
  }
  w.extras(x, 'p');
  w.connection(s.connection);
  w.extras(x, 'c');
  w.bandwidths(s.bandwidths);
  w.extras(x, 'b');
  write_timings(w, s);
  w.extras(x, 't');
  w.optional('z', s.time_zones);
  w.extras(x, 'z');
  w.optional('k', s.key);
  w.extras(x, 'k');
  w.attributes(s.attributes);
  w.extras(x, 'a');
  w.stray_extras(x, kSessionOrder);
  for (const auto& m : s.media) {
    write_media(w, m);
  }
  return w.take();
}

}  // namespace portico::sdp
