#pragma once
// SIP messages counted by realm, direction, method and status: the traffic matrix an operator
// reads first ("are we sending INVITEs to the carrier? what comes back?"). Shard-local; label
// values come from bounded sets (policy realm names, known methods or "other", status codes).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace portico::trace {

/// Orders the keys of MessageCounts as string_views, so a lookup may use string_views and
/// counting allocates only for a new combination. (std::less<> would compare a tuple of strings
/// with a tuple of string_views, which clang 14 with libstdc++ 12 cannot.)
struct MessageKeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return view(a) < view(b);
  }
  template <class T>
  static std::tuple<std::string_view, std::string_view, std::string_view, int> view(const T& t) {
    return {std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)};
  }
};

/// SIP messages by (realm, direction "in"/"out", method or "other", status; 0 for requests).
using MessageCounts =
    std::map<std::tuple<std::string, std::string, std::string, int>, std::uint64_t, MessageKeyLess>;

/// Known methods keep their name; anything else (a peer controls it) becomes "other".
std::string_view method_label(std::string_view method);

/// Adds one message; allocates only the first time a label combination is seen.
void count_message(MessageCounts& counts, std::string_view realm, std::string_view direction,
                   std::string_view method, int status);

/// Method and status of an outbound message from its start line and CSeq, without a parse.
void classify_outbound(std::string_view bytes, std::string_view& method, int& status);

}  // namespace portico::trace
