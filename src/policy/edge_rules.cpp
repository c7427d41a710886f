// What may cross the edge: where a realm's SDP may point media, and which headers carry an
// identity that only a trusted peer may assert (see model.hpp and docs/policies.md).

#include <array>

#include "portico/common/strings.hpp"
#include "portico/policy/model.hpp"

namespace portico::policy {

namespace {

// RFC 3325 (P-Asserted-Identity, P-Preferred-Identity), RFC 8224 (Identity), RFC 5806
// (Diversion) and the pre-standard Remote-Party-ID: each asserts who is calling or why.
constexpr std::array<std::string_view, 5> kIdentityHeaders = {
    "P-Asserted-Identity", "P-Preferred-Identity", "Identity", "Diversion", "Remote-Party-ID"};

bool is_broadcast(const asio::ip::address& a) {
  return a.is_v4() && a.to_v4() == asio::ip::address_v4::broadcast();
}

}  // namespace

bool is_identity_header(std::string_view name) {
  for (auto n : kIdentityHeaders) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

std::string product_token(const HeaderRules& h, std::string_view version) {
  if (h.server_name.empty()) {
    return {};
  }
  return h.expose_version ? h.server_name + "/" + std::string(version) : h.server_name;
}

bool media_address_allowed(const RealmMedia& m, const asio::ip::address& a) {
  // Portico relays unicast only: multicast and broadcast are never a peer.
  if (a.is_multicast() || is_broadcast(a)) {
    return false;
  }
  if (!m.allowed_networks.empty()) {
    for (const Cidr& c : m.allowed_networks) {
      if (c.contains(a)) {
        return true;
      }
    }
    return false;
  }
  // Built-in rule: a realm reached over the network has no peer on Portico's own host, so
  // an SDP naming loopback asks Portico to send media to a local service.
  return !a.is_loopback() || m.address.is_loopback();
}

}  // namespace portico::policy
