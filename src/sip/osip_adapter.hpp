#pragma once
// The one place that includes libosip2. libosip2 5.3 headers use time_t/timeval/malloc without
// including their own prerequisites, so <ctime>, <sys/time.h> and <cstdlib> must come first
// (docs/style.md, "Libraries"). Only src/sip/*.cpp files include this header.

// clang-format off
#include <ctime>
#include <sys/time.h>
#include <cstdlib>
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>
// clang-format on

#include <memory>
#include <string>
#include <string_view>

namespace portico::sip::osip {

/// Owns an osip_message_t (docs/style.md, "Ownership": C resources wrapped once).
struct MessageDeleter {
  void operator()(osip_message_t* m) const { osip_message_free(m); }
};
using MessagePtr = std::unique_ptr<osip_message_t, MessageDeleter>;

struct UriDeleter {
  void operator()(osip_uri_t* u) const { osip_uri_free(u); }
};
using UriPtr = std::unique_ptr<osip_uri_t, UriDeleter>;

/// nullptr-safe copy of an osip C string.
inline std::string str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

/// Takes ownership of a string osip allocated (the *_to_str family) and frees it with osip's
/// own allocator. Returns empty on a negative return code.
inline std::string take(int rc, char*& s) {  // by reference: read after the call
  std::string out;
  if (rc >= 0 && s != nullptr) {
    out = s;
  }
  if (s != nullptr) {
    osip_free(s);
    s = nullptr;
  }
  return out;
}

/// Calls `fn(const T*)` for every non-null element of an osip list, in order, in one pass.
/// osip_list_get(list, i) walks from the head on every call, so an indexed loop over a list
/// a peer filled (7,000 header fields in one datagram) would cost quadratic time.
template <class T, class Fn>
void for_each(const osip_list_t* list, Fn&& fn) {
  osip_list_iterator_t it;
  auto* l = const_cast<osip_list_t*>(list);  // osip's list API is not const-correct
  for (void* e = osip_list_get_first(l, &it); osip_list_iterator_has_elem(it);
       e = osip_list_get_next(&it)) {
    if (e != nullptr) {
      fn(static_cast<const T*>(e));
    }
  }
}

/// Finds a generic parameter by name (case-insensitive) without the char* casts the
/// osip_*_param_get_byname macros need.
osip_generic_param_t* find_param(const osip_list_t* list, std::string_view name);

/// Serializes a URI ("sip:alice@example.com;transport=tcp"), empty on failure.
std::string uri_to_string(const osip_uri_t* uri);

/// Runs parser_init() exactly once, and silences osip's stderr traces (peers control what
/// would be logged; Portico counts parse errors instead).
void ensure_initialized();

}  // namespace portico::sip::osip
