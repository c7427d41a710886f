#pragma once
// One shard's read-only copy of every binding's route, for placing calls to registered users.
//
// A binding is owned by one shard (by AOR hash), but the INVITE for its user may arrive on any
// shard (by Call-ID). The owner posts every change (BindingUpdate) to every shard, which
// applies it here on its own thread, so the lookup on the call path is local and takes no lock.
// Updates from one owner arrive in the order they were posted.

#include <string>
#include <unordered_map>
#include <vector>

#include "portico/registrar/binding_table.hpp"

namespace portico::registrar {

class BindingDirectory {
 public:
  void apply(const BindingUpdate& update);
  /// The binding of `user` on `realm`, or nullptr. When one user is registered under several
  /// domains, the most recently updated one.
  const ContactRoute* find(const std::string& realm, const std::string& user) const;
  std::size_t size() const;

 private:
  std::unordered_map<std::string, std::vector<ContactRoute>> by_user_;  // shard-local
};

}  // namespace portico::registrar
