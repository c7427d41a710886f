#pragma once
// Reading header fields straight from the bytes of a SIP message, before (or without) the full
// parse: shard dispatch by Call-ID, the registrar's routing by the To of a REGISTER, and the
// fields the registrar relays byte for byte. The one scanner of unparsed headers in Portico.
//
// What it accepts (RFC 3261 §7.3.1): lines ending in CRLF or a bare LF; header names in any
// case, with or without white space before the colon; a value folded over continuation lines
// (lines starting with SP or HTAB). The first line (request or status line) is skipped, and the
// scan stops at the empty line that ends the header section, so a body is never searched. A
// line without a colon is skipped with its continuations. Nothing is allocated: every result is
// a view into the scanned bytes.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::sip {

/// One header field as received: `name` without the surrounding white space, `value` without
/// leading and trailing white space. A folded value keeps its line breaks and the white space
/// around them (unfold() joins it into one line).
struct RawField {
  std::string_view name;
  std::string_view value;
};

/// Walks the header fields of unparsed message bytes in wire order.
///
///   RawHeaderScanner scan(bytes);
///   while (auto f = scan.next()) { ... f->name, f->value ... }
class RawHeaderScanner {
 public:
  /// `bytes` must outlive the scanner and the views it returns.
  explicit RawHeaderScanner(std::string_view bytes);

  /// The next header field, or nullopt at the end of the header section (or of the bytes).
  std::optional<RawField> next();

 private:
  /// The next line without its line end; advances rest_. rest_ must not be empty.
  std::string_view take_line();

  std::string_view rest_;  // the bytes after the last line read
  bool done_ = false;      // the empty line was reached
};

/// The value of the first header named `name` (case-insensitive) or, if `compact` is not
/// empty, by its compact form (RFC 3261 §7.3.3: "i" for Call-ID, "t" for To): present with
/// an empty value is an empty view, absent is nullopt.
///   find_raw_header(bytes, "Call-ID", "i")   find_raw_header(bytes, "To", "t")
std::optional<std::string_view> find_raw_header(std::string_view bytes, std::string_view name,
                                                std::string_view compact = {});

/// What the header section of unparsed bytes holds, counted before the full parse so that its
/// cost is bounded (policy `ingress.max_headers`, `ingress.max_vias`).
struct HeaderCount {
  std::size_t fields = 0;  // header fields (a folded field counts once)
  std::size_t vias = 0;    // Via values: one per Via field, plus one per comma outside quotes
};

/// Counts header fields and Via values until either passes its cap: the scan stops there, so
/// refusing 7,000 header fields costs `max_fields` steps. A count above its cap means "over".
HeaderCount count_headers(std::string_view bytes, std::size_t max_fields, std::size_t max_vias);

/// A folded value on one line: each line break, with the white space around it, becomes one
/// space (RFC 3261 §7.3.1: "replacing ... with a single SP"). Values that are not folded are
/// returned unchanged.
std::string unfold(std::string_view value);

/// Every value of the header field `name` (case-insensitive, long form) in `bytes` as received,
/// unfolded: for fields whose parameters osip would rewrite (the digest challenges).
std::vector<std::string> raw_header_values(std::string_view bytes, std::string_view name);

}  // namespace portico::sip
