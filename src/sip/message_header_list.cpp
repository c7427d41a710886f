// Builds Message::headers(): every header osip parsed, one (name, value) pair per value, with
// the value as osip serializes it. osip keeps the headers it understands in typed lists and
// the rest in a generic list with lower-cased names, so names are restored to their canonical
// or as-received spelling, and the pairs are put back in wire order: header names in the
// order they first appear on the wire, all values of one name together, in their own order
// (RFC 3261 §7.3.1: only the relative order of same-name values is significant).
//
// Every step is linear in the number of header fields: a peer controls that number (a 64 KB
// datagram holds 7,000 fields), so nothing here scans a list once per field.

#include <algorithm>
#include <unordered_map>

#include "message_extract.hpp"
#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

template <class T>
void append_list(const osip_list_t* list, const char* name, int (*to_str)(const T*, char**),
                 HeaderList& out) {
  osip::for_each<T>(list, [&](const T* h) {
    char* s = nullptr;
    out.emplace_back(name, osip::take(to_str(h, &s), s));
  });
}

template <class T>
void append_one(const T* h, const char* name, int (*to_str)(const T*, char**), HeaderList& out) {
  if (h == nullptr) {
    return;
  }
  char* s = nullptr;
  out.emplace_back(name, osip::take(to_str(h, &s), s));
}

/// The first spelling on the wire of each header name, by its lower-case form: built once, so
/// restoring a name is one lookup, not a scan of every raw header.
using Spellings = std::unordered_map<std::string, std::string_view>;

Spellings wire_spellings(const MessageData& impl) {
  Spellings out;
  out.reserve(impl.raw_headers.size());
  for (const auto& h : impl.raw_headers) {
    out.emplace(to_lower(h.original), h.original);
  }
  return out;
}

/// osip lower-cases unknown names; prefer the canonical table, then the spelling on the wire.
std::string restore_name(const Spellings& spellings, std::string_view lower) {
  std::string canonical = canonical_header_name(lower);
  if (canonical != lower) {
    return canonical;
  }
  const auto it = spellings.find(std::string(lower));
  return std::string(it == spellings.end() ? lower : it->second);
}

void append_generic(osip_message_t& m, const MessageData& impl, HeaderList& out) {
  const Spellings spellings = wire_spellings(impl);
  osip::for_each<osip_header_t>(&m.headers, [&](const osip_header_t* h) {
    if (h->hname == nullptr) {
      return;
    }
    std::string name = restore_name(spellings, h->hname);
    if (name != "Content-Length") {
      out.emplace_back(std::move(name), osip::str(h->hvalue));
    }
  });
}

void append_typed_lists(osip_message_t& m, HeaderList& out) {
  append_list<osip_accept_t>(&m.accepts, "Accept", osip_accept_to_str, out);
  append_list<osip_accept_encoding_t>(&m.accept_encodings, "Accept-Encoding",
                                      osip_accept_encoding_to_str, out);
  append_list<osip_accept_encoding_t>(&m.accept_languages, "Accept-Language",
                                      osip_accept_encoding_to_str, out);
  append_list<osip_call_info_t>(&m.alert_infos, "Alert-Info", osip_call_info_to_str, out);
  append_list<osip_content_length_t>(&m.allows, "Allow", osip_content_length_to_str, out);
  append_list<osip_authentication_info_t>(&m.authentication_infos, "Authentication-Info",
                                          osip_authentication_info_to_str, out);
  append_list<osip_authorization_t>(&m.authorizations, "Authorization",
                                    osip_authorization_to_str, out);
  append_list<osip_call_info_t>(&m.call_infos, "Call-Info", osip_call_info_to_str, out);
  append_list<osip_content_length_t>(&m.content_encodings, "Content-Encoding",
                                     osip_content_length_to_str, out);
  append_list<osip_call_info_t>(&m.error_infos, "Error-Info", osip_call_info_to_str, out);
  append_one<osip_content_length_t>(m.mime_version, "MIME-Version", osip_content_length_to_str,
                                    out);
  append_list<osip_www_authenticate_t>(&m.proxy_authenticates, "Proxy-Authenticate",
                                       osip_www_authenticate_to_str, out);
  append_list<osip_authentication_info_t>(&m.proxy_authentication_infos,
                                          "Proxy-Authentication-Info",
                                          osip_authentication_info_to_str, out);
  append_list<osip_authorization_t>(&m.proxy_authorizations, "Proxy-Authorization",
                                    osip_authorization_to_str, out);
  append_list<osip_www_authenticate_t>(&m.www_authenticates, "WWW-Authenticate",
                                       osip_www_authenticate_to_str, out);
}

void sort_by_wire_order(const MessageData& impl, HeaderList& out) {
  std::unordered_map<std::string, std::size_t> first_seen;
  for (std::size_t i = 0; i < impl.raw_headers.size(); ++i) {
    first_seen.emplace(to_lower(impl.raw_headers[i].name), i);
  }
  auto rank = [&](const std::string& name) {
    auto it = first_seen.find(to_lower(name));
    return it == first_seen.end() ? impl.raw_headers.size() : it->second;
  };
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (rank, osip position)
  order.reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    order.emplace_back(rank(out[i].first), i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  HeaderList sorted;
  sorted.reserve(out.size());
  for (const auto& [r, i] : order) {
    sorted.push_back(std::move(out[i]));
  }
  out = std::move(sorted);
}

}  // namespace

void extract_header_list(osip_message_t& m, MessageData& impl) {
  HeaderList out;
  for (const auto& v : impl.vias) {
    out.emplace_back("Via", v.raw);
  }
  for (const auto& r : impl.record_routes) {
    out.emplace_back("Record-Route", r.raw);
  }
  for (const auto& r : impl.routes) {
    out.emplace_back("Route", r.raw);
  }
  if (impl.has_from) {
    out.emplace_back("From", impl.from.raw);
  }
  if (impl.has_to) {
    out.emplace_back("To", impl.to.raw);
  }
  if (impl.has_call_id) {
    out.emplace_back("Call-ID", impl.call_id);
  }
  append_one<osip_cseq_t>(m.cseq, "CSeq", osip_cseq_to_str, out);
  for (const auto& c : impl.contacts) {
    out.emplace_back("Contact", c.raw);
  }
  append_typed_lists(m, out);
  append_generic(m, impl, out);
  if (!impl.content_type.empty()) {
    out.emplace_back("Content-Type", impl.content_type);
  }
  sort_by_wire_order(impl, out);
  impl.headers = std::move(out);
}

}  // namespace portico::sip
