// Lookups on a finished snapshot. The vectors are in name order (the loader builds them from
// name-keyed maps), so a binary search suffices.

#include <algorithm>

#include "portico/policy/model.hpp"

namespace portico::policy {

namespace {

template <class T>
const T* find_by_name(const std::vector<T>& items, const std::string& name) {
  const auto it =
      std::lower_bound(items.begin(), items.end(), name,
                       [](const T& item, const std::string& n) { return item.name < n; });
  return it != items.end() && it->name == name ? &*it : nullptr;
}

}  // namespace

const Realm* PolicySnapshot::find_realm(const std::string& name) const {
  return find_by_name(realms, name);
}

const Trunk* PolicySnapshot::find_trunk(const std::string& name) const {
  return find_by_name(trunks, name);
}

const AccessPeer* PolicySnapshot::find_access_peer(const std::string& name) const {
  return find_by_name(access_peers, name);
}

}  // namespace portico::policy
