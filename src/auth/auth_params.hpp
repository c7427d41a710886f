#pragma once
// Private to the auth module: the auth-param list of a credentials or challenge value
// (RFC 7235 §2.1: token=token / token=quoted-string, comma separated).

#include <string>
#include <string_view>

namespace portico::auth {

/// One auth-param of a comma-separated list: name and (unquoted) value; advances `in`. False at
/// the end of the list, or with `bad` set on a malformed parameter.
bool next_auth_param(std::string_view& in, std::string_view& name, std::string& value, bool& bad);

}  // namespace portico::auth
