#pragma once
// StreamFramer: cuts a byte stream into SIP messages (RFC 3261 §18.3). Pure and socket-free so
// the framing rules are unit-tested byte by byte. One framer per stream connection.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace portico::transport {

class StreamFramer {
 public:
  enum class Status {
    NeedMore,              // no complete message buffered yet
    Message,               // `message` holds one whole message (headers + body)
    Ping,                  // RFC 5626 §4.4.1 double-CRLF ping consumed: answer with CRLF
    Crlf,                  // a lone CRLF (a pong, or RFC 3261 §7.5 padding) consumed
    MissingContentLength,  // header section complete but no Content-Length: fatal
    BadContentLength,      // non-numeric or conflicting Content-Length: fatal
    Oversize,              // header section or message larger than the limit: fatal
  };

  struct Result {
    Status status = Status::NeedMore;
    std::string message;   // set for Status::Message only
    std::size_t size = 0;  // Oversize: bytes known so far (or announced)
  };

  explicit StreamFramer(std::size_t max_message_size) : max_(max_message_size) {}

  void append(std::string_view bytes) { buf_.append(bytes); }
  /// Consumes and returns the next event. After a fatal status the stream must be closed.
  Result next();
  std::size_t buffered() const { return buf_.size(); }

 private:
  std::optional<Result> skip_crlf();  // nullopt: buffer starts with a message
  Result frame_headers();

  std::size_t max_;
  std::string buf_;
  std::size_t scanned_ = 0;      // bytes already searched for the end of headers
  std::size_t header_end_ = 0;   // 0 = not found yet
  std::size_t body_length_ = 0;
};

/// Parses the Content-Length (or compact "l") header of a header section.
/// Returns false with `present` = false if absent, false with `present` = true if malformed.
bool find_content_length(std::string_view headers, std::size_t& length, bool& present);

}  // namespace portico::transport
