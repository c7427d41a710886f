#pragma once
// MessageBuilder writes an outbound SIP message as text: start line, headers in the order they
// are added, then Content-Length and the body. Used for every message Portico sends, so exactly
// the headers the B2BUA chooses leave Portico (topology hiding by construction).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portico/sip/message.hpp"

namespace portico::sip {

class MessageBuilder {
 public:
  static MessageBuilder request(std::string_view method, std::string_view request_uri);
  static MessageBuilder response(int status, std::string_view reason);

  /// Adds one header line "Name: value". Values must not contain CR/LF (they are dropped).
  MessageBuilder& header(std::string_view name, std::string_view value);
  MessageBuilder& body(std::string_view content_type, std::string body);
  /// Renders the message with a correct Content-Length (0 when there is no body).
  std::string build() const;

 private:
  std::string start_;
  std::string headers_;
  std::string content_type_;
  std::string body_;
};

/// Standard reason phrase for a status code ("Busy Here" for 486), "Unknown" if none.
std::string_view reason_phrase(int status);

/// What a response carries beyond the headers copied from its request.
struct ResponseParts {
  int status = 200;
  std::string reason;          // empty: the standard phrase
  std::string to_tag;          // added to To if the request's To has no tag and status > 100
  std::string extra_headers;   // complete "Name: value\r\n" lines (Contact, Server, ...)
  std::string content_type;    // with body
  std::string body;
};

/// What every response to one request copies from it (RFC 3261 §8.2.6): a few hundred bytes
/// a server transaction keeps instead of the whole request.
struct ResponseBasis {
  std::vector<std::string> lower_vias;  // every Via below the top one, as serialized
  std::string from;
  std::string to;
  bool to_has_tag = false;
  std::string call_id;
  std::string cseq;  // "10 INVITE"
};
ResponseBasis response_basis(const Message& req);

/// Builds a response to `req` per RFC 3261 §8.2.6: copies all Via (the top one replaced by
/// `top_via`, which carries received/rport), From, To, Call-ID and CSeq, then `parts`.
std::string build_response(const Message& req, std::string_view top_via, const ResponseParts& parts);
std::string build_response(const ResponseBasis& req, std::string_view top_via,
                           const ResponseParts& parts);

/// For a request libosip2 could not parse: a 400 (416 when the Request-URI scheme is not
/// sip/sips/tel) built from its raw Via, From, To, Call-ID and CSeq lines. nullopt for a
/// response, an ACK, or a request without a Via (then it is dropped). `reason` gets the stable
/// token for logs: "unparseable" or "unsupported_uri_scheme".
std::optional<std::string> reject_unparseable(std::string_view bytes, std::string& reason);

/// A stateless response to a request that is not parsed (refused before libosip2 sees it), from
/// its raw Via (at most `max_vias` of them, top first), From, To (a tag added), Call-ID and
/// CSeq. nullopt for a response, an ACK, or a request without a Via. The caller sends it
/// straight back to the request's source, never where a Via says.
std::optional<std::string> raw_response(std::string_view bytes, int status, std::string_view phrase,
                                        std::size_t max_vias = static_cast<std::size_t>(-1));

/// Via value for the top Via of `req` with `received` and `rport` filled in per RFC 3581 /
/// RFC 3261 §18.2.1 for a request that arrived from `source_ip`:`source_port`.
std::string via_with_received(const Via& via, std::string_view source_ip,
                              std::uint16_t source_port);

}  // namespace portico::sip
