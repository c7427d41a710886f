// Copies everything Portico reads from an osip_message_t into Message::Impl as plain strings,
// once, at parse time. After this the osip structure is freed: accessors are cheap and const,
// and no osip pointer outlives the parse (docs/style.md, "Libraries").

#include "message_extract.hpp"

#include <strings.h>

#include "osip_adapter.hpp"
#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

/// name-addr headers share osip_from_t (From, To, Contact, Route, Record-Route).
NameAddr to_name_addr(const osip_from_t* h) {
  NameAddr out;
  if (h == nullptr) {
    return out;
  }
  if (h->url == nullptr && osip::str(h->displayname) == "*") {
    out.raw = "*";  // REGISTER "Contact: *" (§10.2.2); osip keeps the star as display name
    return out;
  }
  out.display = unquote(osip::str(h->displayname));
  out.uri = osip::uri_to_string(h->url);
  if (const auto* tag = osip::find_param(&h->gen_params, "tag"); tag != nullptr) {
    out.tag = osip::str(tag->gvalue);
  }
  char* s = nullptr;
  out.raw = osip::take(osip_from_to_str(h, &s), s);
  return out;
}

std::optional<std::uint16_t> to_port(const char* text) {
  if (text == nullptr) {
    return std::nullopt;
  }
  auto v = parse_uint(text, 65535);
  if (!v) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

Via to_via(const osip_via_t* v, std::string& port_raw) {
  Via out;
  out.protocol = osip::str(v->protocol);
  out.host = osip::str(v->host);
  port_raw = osip::str(v->port);
  out.port = to_port(v->port);
  if (const auto* p = osip::find_param(&v->via_params, "branch"); p != nullptr) {
    out.branch = osip::str(p->gvalue);
  }
  if (const auto* p = osip::find_param(&v->via_params, "received"); p != nullptr) {
    out.received = osip::str(p->gvalue);
  }
  if (const auto* p = osip::find_param(&v->via_params, "rport"); p != nullptr) {
    out.has_rport = true;
    out.rport = to_port(p->gvalue);
  }
  char* s = nullptr;
  out.raw = osip::take(osip_via_to_str(v, &s), s);
  return out;
}

void extract_vias(osip_message_t& m, MessageData& impl) {
  osip::for_each<osip_via_t>(&m.vias, [&](const osip_via_t* v) {
    std::string port_raw;
    impl.vias.push_back(to_via(v, port_raw));
    impl.via_versions.push_back(osip::str(v->version));
    impl.via_ports_raw.push_back(std::move(port_raw));
  });
}

std::vector<NameAddr> name_addr_list(osip_list_t* list) {
  std::vector<NameAddr> out;
  osip::for_each<osip_from_t>(list, [&](const osip_from_t* h) { out.push_back(to_name_addr(h)); });
  return out;
}

void extract_start_line(osip_message_t& m, MessageData& impl) {
  impl.sip_version = osip::str(m.sip_version);
  impl.request = m.sip_method != nullptr;
  if (impl.request) {
    impl.method = osip::str(m.sip_method);
    impl.request_uri = osip::uri_to_string(m.req_uri);
    return;
  }
  impl.status = m.status_code;
  impl.reason = osip::str(m.reason_phrase);
}

void extract_dialog_headers(osip_message_t& m, MessageData& impl) {
  impl.has_from = m.from != nullptr;
  impl.has_to = m.to != nullptr;
  impl.from = to_name_addr(m.from);
  impl.to = to_name_addr(m.to);
  impl.from_has_uri = m.from != nullptr && m.from->url != nullptr;
  impl.to_has_uri = m.to != nullptr && m.to->url != nullptr;
  impl.has_call_id = m.call_id != nullptr;
  // The Call-ID is taken from the wire: osip splits it at '@' and may drop odd characters,
  // while transaction and dialog matching need the exact value (RFC 3261 §20.8).
  auto ids = raw_values(impl, "Call-ID");
  if (!ids.empty()) {
    impl.call_id = std::string(ids.front());
  }
  if (m.cseq != nullptr) {
    impl.has_cseq = true;
    impl.cseq_number_raw = osip::str(m.cseq->number);
    impl.cseq_method = osip::str(m.cseq->method);
    if (auto n = parse_uint(impl.cseq_number_raw, 0xFFFFFFFFULL)) {
      impl.cseq = static_cast<std::uint32_t>(*n);
    }
  }
  if (!impl.request) {
    impl.method = impl.cseq_method;
  }
}

}  // namespace

void extract_message(osip_message_t& m, MessageData& impl) {
  extract_start_line(m, impl);
  extract_dialog_headers(m, impl);
  extract_vias(m, impl);
  impl.contacts = name_addr_list(&m.contacts);
  impl.record_routes = name_addr_list(&m.record_routes);
  impl.routes = name_addr_list(&m.routes);
  if (m.content_type != nullptr) {
    char* s = nullptr;
    impl.content_type = osip::take(osip_content_type_to_str(m.content_type, &s), s);
  }
  auto mf = raw_values(impl, "Max-Forwards");
  if (!mf.empty()) {
    if (auto v = parse_uint(mf.front(), 255)) {
      impl.max_forwards = static_cast<int>(*v);
    }
  }
  extract_header_list(m, impl);
}

}  // namespace portico::sip
