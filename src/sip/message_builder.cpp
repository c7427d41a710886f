// MessageBuilder and response construction (RFC 3261 §8.2.6, §18.2.1, RFC 3581).
//
// Outbound messages are written as text, never by mutating a parsed message: only the headers
// the caller adds leave Portico, which is how topology hiding is guaranteed.

#include "portico/sip/message_builder.hpp"

#include <asio/ip/address.hpp>

#include <system_error>

#include "portico/common/strings.hpp"

namespace portico::sip {
namespace {

/// Header names and values never carry CR or LF: a peer-controlled value must not be able to
/// inject a header line (§7.3.1 folding is not produced by Portico).
void append_clean(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c != '\r' && c != '\n') {
      out.push_back(c);
    }
  }
}

}  // namespace

MessageBuilder MessageBuilder::request(std::string_view method, std::string_view request_uri) {
  MessageBuilder b;
  append_clean(b.start_, method);
  b.start_ += ' ';
  append_clean(b.start_, request_uri);
  b.start_ += " SIP/2.0\r\n";
  return b;
}

MessageBuilder MessageBuilder::response(int status, std::string_view reason) {
  MessageBuilder b;
  b.start_ = "SIP/2.0 " + std::to_string(status) + " ";
  append_clean(b.start_, reason.empty() ? reason_phrase(status) : reason);
  b.start_ += "\r\n";
  return b;
}

MessageBuilder& MessageBuilder::header(std::string_view name, std::string_view value) {
  append_clean(headers_, name);
  headers_ += ": ";
  append_clean(headers_, value);
  headers_ += "\r\n";
  return *this;
}

MessageBuilder& MessageBuilder::body(std::string_view content_type, std::string body) {
  content_type_.clear();
  append_clean(content_type_, content_type);
  body_ = std::move(body);
  return *this;
}

std::string MessageBuilder::build() const {
  std::string out;
  out.reserve(start_.size() + headers_.size() + body_.size() + 64);
  out += start_;
  out += headers_;
  if (!content_type_.empty() && !body_.empty()) {
    out += "Content-Type: ";
    out += content_type_;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body_.size());
  out += "\r\n\r\n";
  out += body_;
  return out;
}

ResponseBasis response_basis(const Message& req) {
  ResponseBasis b;
  const auto& vias = req.vias();
  for (std::size_t i = 1; i < vias.size(); ++i) {
    b.lower_vias.push_back(vias[i].raw);
  }
  b.from = req.from().raw;
  b.to = req.to().raw;
  b.to_has_tag = !req.to().tag.empty();
  b.call_id = req.call_id();
  b.cseq = std::to_string(req.cseq()) + " " + req.cseq_method();
  return b;
}

std::string build_response(const Message& req, std::string_view top_via,
                           const ResponseParts& parts) {
  return build_response(response_basis(req), top_via, parts);
}

std::string build_response(const ResponseBasis& req, std::string_view top_via,
                           const ResponseParts& parts) {
  auto b = MessageBuilder::response(parts.status, parts.reason);
  b.header("Via", top_via);
  for (const std::string& via : req.lower_vias) {
    b.header("Via", via);
  }
  b.header("From", req.from);
  // §8.2.6.2: the UAS adds a To tag unless the request already had one; a 100 Trying may go
  // without (§8.2.6.1), so the tag is only added above 100.
  std::string to = req.to;
  if (!req.to_has_tag && parts.status > 100 && !parts.to_tag.empty()) {
    to += ";tag=" + parts.to_tag;
  }
  b.header("To", to);
  b.header("Call-ID", req.call_id);
  b.header("CSeq", req.cseq);
  std::string_view extra(parts.extra_headers);
  while (!extra.empty()) {
    auto nl = extra.find('\n');
    std::string_view line = extra.substr(0, nl);
    extra = nl == std::string_view::npos ? std::string_view() : extra.substr(nl + 1);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      b.header(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
  }
  b.body(parts.content_type, parts.body);
  return b.build();
}

namespace {

bool same_address(std::string_view a, std::string_view b) {
  std::error_code ec1;
  std::error_code ec2;
  auto x = asio::ip::make_address(std::string(a), ec1);
  auto y = asio::ip::make_address(std::string(b), ec2);
  if (!ec1 && !ec2) {
    return x == y;
  }
  return iequals(a, b);
}

bool param_named(std::string_view param, std::string_view name) {
  std::string_view n = trim(param.substr(0, param.find('=')));
  return iequals(n, name);
}

}  // namespace

std::string via_with_received(const Via& via, std::string_view source_ip,
                              std::uint16_t source_port) {
  // §18.2.1: add received when the sent-by host differs from the source address; RFC 3581 §4:
  // with rport, always add received and fill rport with the source port.
  bool need_received = via.has_rport || !same_address(via.host, source_ip);
  std::string_view raw(via.raw);
  auto semi = raw.find(';');
  std::string out(raw.substr(0, semi));
  std::string received = "received=" + std::string(source_ip);
  bool placed = false;
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : raw.substr(semi + 1);
  while (!rest.empty()) {
    auto next = rest.find(';');
    std::string_view param = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    if (param_named(param, "received") && need_received) {
      continue;  // replaced by ours
    }
    if (param_named(param, "rport")) {
      // RFC 3581 §4 example: received goes right before the filled-in rport.
      if (need_received && !placed) {
        out += ";" + received;
        placed = true;
      }
      out += ";rport=" + std::to_string(source_port);
      continue;
    }
    out += ";";
    out += param;
  }
  if (need_received && !placed) {
    out += ";" + received;
  }
  return out;
}

}  // namespace portico::sip
