// Stream framing for SIP over TCP (and later TLS).
//
// RFC 3261 §18.3: on a stream the message boundary is the end of the header section (the first
// empty line) plus Content-Length bytes of body; Content-Length is mandatory on streams, so a
// message without one cannot be framed and the stream is unusable afterwards. RFC 3261 §7.5
// says CRLFs before a start-line are ignored, and RFC 5626 §4.4.1 turns "\r\n\r\n" into a
// keepalive ping that the receiver answers with a single "\r\n" pong.
//
//   [CRLF...] start-line headers CRLF CRLF [body: Content-Length bytes] [next message...]

#include "stream_framer.hpp"

#include <algorithm>
#include <cctype>

namespace portico::transport {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kPing = "\r\n\r\n";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && ws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && ws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Strictly decimal; at most 9 digits so it cannot overflow, larger values are oversize anyway.
bool parse_length(std::string_view v, std::size_t& out) {
  v = trim(v);
  if (v.empty() || v.size() > 9) {
    return false;
  }
  std::size_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') {
      return false;
    }
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  out = n;
  return true;
}

}  // namespace

bool find_content_length(std::string_view headers, std::size_t& length, bool& present) {
  present = false;
  bool valid = true;
  std::size_t pos = headers.find(kCrlf);  // skip the start-line
  while (pos != std::string_view::npos && pos + 2 < headers.size()) {
    std::size_t begin = pos + 2;
    pos = headers.find(kCrlf, begin);
    std::string_view line = headers.substr(begin, pos == std::string_view::npos ? headers.npos
                                                                                 : pos - begin);
    // RFC 3261 §7.3.1: field-name HCOLON value, HCOLON = *(SP / HTAB) ":" SWS.
    std::size_t colon = line.find(':');
    // Continuation lines (RFC 3261 §7.3.1 LWS folding) start with whitespace: not a header.
    if (colon == std::string_view::npos || line.empty() || line[0] == ' ' || line[0] == '\t') {
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    if (!iequals(name, "content-length") && !iequals(name, "l")) {
      continue;
    }
    std::size_t value = 0;
    if (!parse_length(line.substr(colon + 1), value) || (present && value != length)) {
      // Two different lengths would let a peer smuggle a message past a proxy: reject.
      valid = false;
    }
    present = true;
    length = value;
  }
  return present && valid;
}

StreamFramer::Result StreamFramer::next() {
  if (header_end_ == 0 && !buf_.empty() && buf_.front() == '\r') {
    if (auto r = skip_crlf()) {
      return *r;
    }
  }
  if (buf_.empty()) {
    return {};
  }
  return frame_headers();
}

std::optional<StreamFramer::Result> StreamFramer::skip_crlf() {
  std::string_view b = buf_;
  if (b.starts_with(kPing)) {
    buf_.erase(0, kPing.size());
    return Result{Status::Ping, {}, 0};
  }
  // A prefix of "\r\n\r\n" may still grow into a ping: wait for the rest.
  if (kPing.starts_with(b)) {
    return Result{};
  }
  if (b.starts_with(kCrlf)) {
    buf_.erase(0, kCrlf.size());
    return Result{Status::Crlf, {}, 0};
  }
  return std::nullopt;  // not a CRLF: the start of a message
}

StreamFramer::Result StreamFramer::frame_headers() {
  if (header_end_ == 0) {
    // Resume the search 3 bytes back so a terminator split across reads is still found.
    std::size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
    std::size_t pos = buf_.find(kPing, from);
    if (pos == std::string::npos) {
      scanned_ = buf_.size();
      if (buf_.size() > max_) {
        return {Status::Oversize, {}, buf_.size()};
      }
      return {};
    }
    std::size_t end = pos + kPing.size();
    if (end > max_) {
      return {Status::Oversize, {}, end};
    }
    bool present = false;
    if (!find_content_length(std::string_view(buf_).substr(0, end), body_length_, present)) {
      return {present ? Status::BadContentLength : Status::MissingContentLength, {}, end};
    }
    if (end + body_length_ > max_) {
      return {Status::Oversize, {}, end + body_length_};
    }
    header_end_ = end;
  }
  std::size_t total = header_end_ + body_length_;
  if (buf_.size() < total) {
    return {};
  }
  Result r{Status::Message, buf_.substr(0, total), total};
  buf_.erase(0, total);
  header_end_ = 0;
  body_length_ = 0;
  scanned_ = 0;
  return r;
}

}  // namespace portico::transport
