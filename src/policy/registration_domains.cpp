#include "portico/policy/registration_domains.hpp"

#include <algorithm>
#include <asio/ip/address.hpp>

#include "portico/common/strings.hpp"

namespace portico::policy {
namespace {

bool ip_literal(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::error_code ec;
  (void)asio::ip::make_address(std::string(host), ec);
  return !ec;
}

}  // namespace

std::optional<std::string> served_domain(const RegistrationConfig& reg, std::string_view host) {
  if (reg.domains.empty()) {
    return ip_literal(host) ? std::optional<std::string>(reg.realm) : std::nullopt;
  }
  std::string lower = to_lower(host);
  if (std::find(reg.domains.begin(), reg.domains.end(), lower) == reg.domains.end()) {
    return std::nullopt;
  }
  return lower;
}

std::string default_domain(const RegistrationConfig& reg) {
  return reg.domains.empty() ? reg.realm : reg.domains.front();
}

std::string call_domain(const RegistrationConfig& reg, std::string_view host) {
  return served_domain(reg, host).value_or(default_domain(reg));
}

}  // namespace portico::policy
