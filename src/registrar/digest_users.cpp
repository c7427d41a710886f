#include "portico/registrar/digest_users.hpp"

namespace portico::registrar {

auth::DigestAuthenticator::Ha1Lookup digest_users(const policy::RegistrationConfig& reg) {
  return [&reg](std::string_view user, std::string_view realm,
                auth::Algorithm a) -> const std::string* {
    std::string key;
    key.append(user).append("@").append(realm);
    const auto it = reg.users.find(key);
    if (it == reg.users.end()) {
      return nullptr;
    }
    const std::string& h = a == auth::Algorithm::Md5 ? it->second.ha1_md5 : it->second.ha1_sha256;
    return h.empty() ? nullptr : &h;
  };
}

auth::DigestAuthenticator::Algorithms digest_algorithms(const policy::RegistrationConfig& reg) {
  auth::DigestAuthenticator::Algorithms out;
  for (const auto& name : reg.digest_algorithms) {
    if (const auto a = auth::algorithm_named(name)) {
      out.push_back(*a);
    }
  }
  return out.empty() ? auth::DigestAuthenticator::default_algorithms() : out;
}

}  // namespace portico::registrar
