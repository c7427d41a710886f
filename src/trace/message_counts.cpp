#include "portico/trace/message_counts.hpp"

#include "portico/common/strings.hpp"

namespace portico::trace {

std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kKnown[] = {
      "INVITE", "ACK",     "BYE",    "CANCEL",    "OPTIONS", "PRACK",    "UPDATE",
      "INFO",   "MESSAGE", "NOTIFY", "SUBSCRIBE", "REFER",   "REGISTER", "PUBLISH"};
  for (auto k : kKnown) {
    if (method == k) {
      return k;
    }
  }
  return "other";
}

void count_message(MessageCounts& counts, std::string_view realm, std::string_view direction,
                   std::string_view method, int status) {
  auto it = counts.find(std::make_tuple(realm, direction, method, status));
  if (it == counts.end()) {
    it = counts
             .emplace(std::make_tuple(std::string(realm), std::string(direction),
                                      std::string(method), status),
                      0)
             .first;
  }
  ++it->second;
}

void classify_outbound(std::string_view bytes, std::string_view& method, int& status) {
  std::string_view first = bytes.substr(0, bytes.find("\r\n"));
  status = 0;
  if (first.starts_with("SIP/2.0 ") && first.size() >= 11) {
    status = static_cast<int>(parse_uint(first.substr(8, 3)).value_or(0));
    // A response's method is its CSeq method: find "\r\nCSeq:" and take the second token.
    size_t at = bytes.find("\r\nCSeq:");
    std::string_view cseq = at == std::string_view::npos ? std::string_view{}
                                                         : bytes.substr(at + 7);
    cseq = trim(cseq.substr(0, cseq.find("\r\n")));
    method = method_label(trim(cseq.substr(cseq.find(' ') + 1)));
    return;
  }
  method = method_label(first.substr(0, first.find(' ')));
}

}  // namespace portico::trace
