#pragma once
// Private: osip_message_t → Message::Impl. Only .cpp files that include osip_adapter.hpp
// include this header.

#include "message_impl.hpp"
#include "osip_adapter.hpp"

namespace portico::sip {

/// Start line, mandatory headers, Via/Contact/Route lists, Content-Type, then headers().
void extract_message(osip_message_t& m, MessageData& impl);

/// Fills impl.headers: every header osip holds, one pair per value, canonical names, no
/// Content-Length (the builder writes it).
void extract_header_list(osip_message_t& m, MessageData& impl);

}  // namespace portico::sip
