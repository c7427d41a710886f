// sip::Message over libosip2 5.3.
//
// Parsing runs in three steps:
//   1. Portico's own line scan (message_headers.cpp) finds the start line, the header lines and
//      the blank line, so body() is the exact bytes after it and Content-Length is checked by
//      validate() rather than by osip.
//   2. osip parses a copy of the header section only. Content-Length lines are left out of that
//      copy so osip never looks at (or rejects, or splits as multipart) the body; escaped NULs
//      inside quoted strings (RFC 3261 §25.1 quoted-pair allows %x00) become "\ " because osip
//      works on C strings and would stop at them (RFC 4475 §3.1.1.2, intmeth).
//   3. Everything the accessors return is copied out of the osip structure, which is then freed.
// Nothing here throws; a message osip refuses is Error{"unparseable"}.

#include <strings.h>

#include <mutex>

#include "message_extract.hpp"
#include "osip_adapter.hpp"
#include "portico/common/strings.hpp"

namespace portico::sip {

namespace osip {

osip_generic_param_t* find_param(const osip_list_t* list, std::string_view name) {
  const osip_generic_param_t* found = nullptr;
  for_each<osip_generic_param_t>(list, [&](const osip_generic_param_t* p) {
    if (found == nullptr && p->gname != nullptr && iequals(p->gname, name)) {
      found = p;
    }
  });
  return const_cast<osip_generic_param_t*>(found);  // the caller's list, handed back
}

std::string uri_to_string(const osip_uri_t* uri) {
  if (uri == nullptr) {
    return {};
  }
  char* s = nullptr;
  return take(osip_uri_to_str(uri, &s), s);
}

namespace {
void silent_trace(const char*, int, osip_trace_level_t, const char*, va_list) {}
}  // namespace

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    parser_init();
    osip_trace_initialize_func(END_TRACE_LEVEL, &silent_trace);
    for (int level = 0; level < END_TRACE_LEVEL; ++level) {
      osip_trace_disable_level(static_cast<osip_trace_level_t>(level));
    }
  });
}

}  // namespace osip

namespace {

bool is_content_length(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || line.empty() || line[0] == ' ' || line[0] == '\t') {
    return false;
  }
  return canonical_header_name(trim(line.substr(0, colon))) == "Content-Length";
}

/// The header section as osip should see it (see the file comment, step 2).
std::string osip_copy(const MessageData& impl) {
  std::string_view head(impl.raw);
  if (impl.has_blank_line) {
    head = head.substr(0, impl.header_end);
  }
  std::string out;
  out.reserve(head.size());
  bool skipping = false;
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? head.size() : nl + 1;
    std::string_view line = head.substr(pos, end - pos);
    bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation) {
      skipping = pos != 0 && is_content_length(line);
    }
    if (!skipping) {
      out.append(line);
    }
    pos = end;
  }
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i] == '\0' && out[i - 1] == '\\') {
      out[i] = ' ';
    }
  }
  return out;
}

}  // namespace

void init_parser() { osip::ensure_initialized(); }

Result<Message> Message::parse(std::string_view bytes) {
  osip::ensure_initialized();
  if (bytes.empty()) {
    return make_error("unparseable", "Empty message");
  }
  auto impl = std::make_unique<Impl>();
  impl->raw.assign(bytes);
  locate_body(*impl);
  scan_raw_headers(*impl);
  std::string copy = osip_copy(*impl);
  osip_message_t* raw_msg = nullptr;
  if (osip_message_init(&raw_msg) != 0 || raw_msg == nullptr) {
    return make_error("unparseable", "Parser out of memory");
  }
  osip::MessagePtr m(raw_msg);
  if (osip_message_parse(m.get(), copy.data(), copy.size()) != 0) {
    return make_error("unparseable", "Malformed SIP message");
  }
  if (m->sip_method == nullptr && m->status_code <= 0) {
    return make_error("unparseable", "Malformed start line");
  }
  extract_message(*m, *impl);
  return Message(std::move(impl));
}

Message::Message(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Message Message::clone() const { return Message(std::make_unique<Impl>(*impl_)); }

Message::Message(Message&&) noexcept = default;
Message& Message::operator=(Message&&) noexcept = default;
Message::~Message() = default;

bool Message::is_request() const { return impl_->request; }
const std::string& Message::method() const { return impl_->method; }
const std::string& Message::request_uri() const { return impl_->request_uri; }
Result<Uri> Message::request_uri_parts() const { return parse_uri(impl_->request_uri_raw); }
int Message::status() const { return impl_->status; }
const std::string& Message::reason_phrase() const { return impl_->reason; }
const std::string& Message::call_id() const { return impl_->call_id; }
std::uint32_t Message::cseq() const { return impl_->cseq; }
const std::string& Message::cseq_method() const { return impl_->cseq_method; }
const NameAddr& Message::from() const { return impl_->from; }
const NameAddr& Message::to() const { return impl_->to; }
const std::vector<Via>& Message::vias() const { return impl_->vias; }

const Via& Message::top_via() const {
  // A message without Via parses (validate() rejects it); never hand out front() of an empty
  // vector to a caller that forgot to check.
  static const Via kEmpty{};
  return impl_->vias.empty() ? kEmpty : impl_->vias.front();
}

std::optional<int> Message::max_forwards() const { return impl_->max_forwards; }
std::vector<NameAddr> Message::contacts() const { return impl_->contacts; }
std::vector<NameAddr> Message::record_routes() const { return impl_->record_routes; }
std::vector<NameAddr> Message::routes() const { return impl_->routes; }
std::string Message::content_type() const { return impl_->content_type; }

std::string_view Message::body() const {
  return std::string_view(impl_->raw).substr(impl_->header_end, impl_->body_length);
}

std::vector<std::pair<std::string, std::string>> Message::headers() const {
  return impl_->headers;
}

std::string_view Message::raw() const { return impl_->raw; }

}  // namespace portico::sip
