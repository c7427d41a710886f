#include "portico/registrar/binding_directory.hpp"

#include <algorithm>

namespace portico::registrar {
namespace {

std::string key_of(const std::string& user, const std::string& domain) {
  return user + "@" + domain;
}

}  // namespace

void BindingDirectory::count_source(const ContactRoute& r, int delta) {
  const std::string address = r.flow.remote.address.to_string();
  auto& n = by_source_[address];
  n = delta > 0 ? n + 1 : n - std::min<std::size_t>(n, 1);
  if (n == 0) {
    by_source_.erase(address);
  }
}

void BindingDirectory::apply(const BindingUpdate& update) {
  const std::string key = key_of(update.user, update.domain);
  auto it = by_user_.find(key);
  if (it != by_user_.end()) {
    auto& routes = it->second;
    for (const auto& r : routes) {
      if (r.aor == update.aor) {
        count_source(r, -1);
        --size_;
      }
    }
    std::erase_if(routes, [&](const ContactRoute& r) { return r.aor == update.aor; });
    if (routes.empty() && !update.route) {
      by_user_.erase(it);
      return;
    }
  }
  if (update.route) {
    by_user_[key].push_back(*update.route);  // the back is the most recent
    count_source(*update.route, +1);
    ++size_;
  }
}

const ContactRoute* BindingDirectory::find(const std::string& realm, const std::string& user,
                                           const std::string& domain) const {
  auto it = by_user_.find(key_of(user, domain));
  if (it == by_user_.end()) {
    return nullptr;
  }
  for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
    if (r->realm == realm) {
      return &*r;
    }
  }
  return nullptr;
}

std::size_t BindingDirectory::from_source(const asio::ip::address& address) const {
  const auto it = by_source_.find(address.to_string());
  return it == by_source_.end() ? 0 : it->second;
}

}  // namespace portico::registrar
