#include "portico/registrar/binding_directory.hpp"

#include <algorithm>

namespace portico::registrar {

void BindingDirectory::apply(const BindingUpdate& update) {
  auto it = by_user_.find(update.user);
  if (it != by_user_.end()) {
    auto& routes = it->second;
    std::erase_if(routes, [&](const ContactRoute& r) { return r.aor == update.aor; });
    if (routes.empty() && !update.route) {
      by_user_.erase(it);
      return;
    }
  }
  if (update.route) {
    by_user_[update.user].push_back(*update.route);  // the back is the most recent
  }
}

const ContactRoute* BindingDirectory::find(const std::string& realm,
                                           const std::string& user) const {
  auto it = by_user_.find(user);
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

std::size_t BindingDirectory::size() const {
  std::size_t n = 0;
  for (const auto& [user, routes] : by_user_) {
    n += routes.size();
  }
  return n;
}

}  // namespace portico::registrar
