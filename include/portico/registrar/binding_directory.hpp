#pragma once
// One shard's read-only copy of every binding's route, for placing calls to registered users.
//
// A binding is owned by one shard (by AOR hash), but the INVITE for its user may arrive on any
// shard (by Call-ID). The owner posts every change (BindingUpdate) to every shard, which
// applies it here on its own thread, so the lookup on the call path is local and takes no lock.
// Updates from one owner arrive in the order they were posted.
//
// Threads (docs/style.md, "Threading"): one directory per shard, owned by the Shard. apply()
// runs on that shard's thread only: called directly for the shard's own Registrar's changes,
// and posted from the owner shard (Shard::publish_binding through ShardSet::invoke_on) for the
// others'. find() and size() run on the same thread (the B2BUA placing a call, the status
// log). No other thread reads it, so it has no lock.

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
  // LOCK: none, shard-local. Written by apply() only, from updates posted by each AOR's owner
  // shard; read by find()/size() on the same thread. The back of each vector is the newest.
  std::unordered_map<std::string, std::vector<ContactRoute>> by_user_;
};

}  // namespace portico::registrar
