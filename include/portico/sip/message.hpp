#pragma once
// sip::Message: an inbound SIP message parsed by libosip2, owned RAII. The rest of Portico sees
// only this type and std::string values; osip structs and their ownership rules stay inside
// src/sip/message.cpp. A Message keeps the original bytes, so body() is the exact received body.
//
// Outbound messages are not built by mutating a Message: the B2BUA writes each one fresh with
// sip::MessageBuilder, which is how topology hiding is guaranteed (nothing is copied unless
// it is asked for).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portico/common/result.hpp"

namespace portico::sip {

/// Must be called once before any parse (wraps osip's parser_init). Control thread.
void init_parser();

/// A parsed Via header value.
struct Via {
  std::string protocol;     // "UDP", "TCP", "TLS" (upper case as received)
  std::string host;         // sent-by host (IPv6 without brackets)
  std::optional<std::uint16_t> port;  // sent-by port if present
  std::string branch;       // empty if absent
  std::optional<std::string> received;
  bool has_rport = false;   // ";rport" present (with or without value)
  std::optional<std::uint16_t> rport;  // value if present
  std::string raw;          // the whole header value as osip serializes it
};

/// A name-addr / addr-spec header (From, To, Contact, Route, Record-Route, P-Asserted-Identity).
struct NameAddr {
  std::string display;      // may be empty; without quotes
  std::string uri;          // "sip:alice@example.com;transport=tcp"
  std::string tag;          // From/To tag, empty if none
  std::string raw;          // serialized header value
};

/// Parts of a SIP URI.
struct Uri {
  std::string scheme;       // "sip" / "sips" / "tel"
  std::string user;         // may be empty
  std::string host;         // IPv6 without brackets
  std::optional<std::uint16_t> port;
  std::string transport;    // uri "transport" param, lower case, empty if absent
  bool lr = false;
};
Result<Uri> parse_uri(std::string_view text);
/// A user part as it must be written in a SIP URI (RFC 3261 §25.1 `user`): unreserved and
/// user-unreserved characters as they are, everything else %-escaped. parse_uri returns the
/// user unescaped; writing it back unescaped would let "%3E" close the URI.
std::string escape_user(std::string_view user);

class Message {
 public:
  /// Parses one complete message (syntax only). Error reason "unparseable" when libosip2
  /// rejects it. Never throws, never crashes on any input.
  static Result<Message> parse(std::string_view bytes);

  /// RFC 3261 checks a parse does not make. Returns nullopt when the message is acceptable,
  /// else an Error whose reason is a stable token: "missing_via", "missing_from",
  /// "missing_to", "missing_call_id", "missing_cseq", "bad_cseq", "cseq_method_mismatch",
  /// "bad_content_length", "bad_max_forwards", "bad_sip_version", "bad_request_uri",
  /// "bad_via", "bad_from", "bad_to" ... and whose detail is a sentence naming the field
  /// (it becomes the 400 reason phrase). Accessors of a missing mandatory header return empty.
  std::optional<Error> validate() const;

  /// A deep copy (transactions keep the request while the TU gets the original). Added
  /// declaration: Message is otherwise move-only.
  Message clone() const;

  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  ~Message();

  bool is_request() const;
  bool is_response() const { return !is_request(); }
  // Requests
  const std::string& method() const;          // "INVITE"; for responses: the CSeq method
  const std::string& request_uri() const;     // as serialized by osip
  Result<Uri> request_uri_parts() const;
  // Responses
  int status() const;                          // 0 for requests
  const std::string& reason_phrase() const;

  // Mandatory headers (present after a successful parse)
  const std::string& call_id() const;
  std::uint32_t cseq() const;
  const std::string& cseq_method() const;
  const NameAddr& from() const;
  const NameAddr& to() const;
  const std::vector<Via>& vias() const;        // top first
  /// Top Via; an empty Via when the message has none (validate() rejects that message).
  const Via& top_via() const;

  std::optional<int> max_forwards() const;
  std::vector<NameAddr> contacts() const;
  std::vector<NameAddr> record_routes() const;  // in message order
  std::vector<NameAddr> routes() const;
  std::string content_type() const;             // "application/sdp" or empty
  std::string_view body() const;                // exact bytes from the wire

  /// Every header as (name, value) pairs, names in their canonical long form
  /// ("Via", "Call-ID", "P-Asserted-Identity"), values as serialized by osip. Includes the
  /// headers osip parses specially (Via, From, To, Contact, Route, ...). One pair per value.
  std::vector<std::pair<std::string, std::string>> headers() const;
  /// Values of one header, case-insensitive name; compact forms ("i", "v", "m", ...) match too.
  std::vector<std::string> header_values(std::string_view name) const;
  std::optional<std::string> header(std::string_view name) const;  // first value
  /// True if a Require/Supported header lists `option` (e.g. "100rel").
  bool has_option(std::string_view header_name, std::string_view option) const;

  /// The bytes as received.
  std::string_view raw() const;

 private:
  struct Impl;
  explicit Message(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Scans the first `Call-ID:`/`i:` header value without a full parse (shard dispatch).
/// Returns empty if none is found.
std::string_view find_call_id(std::string_view bytes);

}  // namespace portico::sip
