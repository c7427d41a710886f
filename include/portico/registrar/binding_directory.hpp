#pragma once
// One shard's read-only copy of every binding's route, for placing calls to registered users.
//
// A binding is owned by one shard (by AOR hash), but the INVITE for its user may arrive on any
// shard (by Call-ID). The owner posts every change (BindingUpdate) to every shard, which
// applies it here on its own thread, so the lookup on the call path is local and takes no lock.
// Updates from one owner arrive in the order they were posted.
//
// Routes are found by user@domain (the served domain, policy/registration_domains.hpp), never
// by user alone: `alice@evil` does not take the calls of `alice@corp`. The directory also
// counts routes per source address, for the registrar's per-source binding cap.
//
// Threads (docs/style.md, "Threading"): one directory per shard, owned by the Shard. apply()
// runs on that shard's thread only: called directly for the shard's own Registrar's changes,
// and posted from the owner shard (Shard::publish_binding through ShardSet::invoke_on) for the
// others'. find(), size() and from_source() run on the same thread (the B2BUA placing a call,
// the registrar's caps, the status log). No other thread reads it, so it has no lock.

#include <string>
#include <unordered_map>
#include <vector>

#include "portico/registrar/binding_table.hpp"

namespace portico::registrar {

class BindingDirectory {
 public:
  void apply(const BindingUpdate& update);
  /// The binding of `user` in `domain` on `realm`, or nullptr. When several AORs name the same
  /// user@domain (Portico's own domain under several IP literals), the most recently updated.
  const ContactRoute* find(const std::string& realm, const std::string& user,
                           const std::string& domain) const;
  std::size_t size() const { return size_; }
  /// Routes whose REGISTER came from `address` (any port).
  std::size_t from_source(const asio::ip::address& address) const;

 private:
  void count_source(const ContactRoute& r, int delta);

  // LOCK: none, shard-local. Written by apply() only, from updates posted by each AOR's owner
  // shard; read on the same thread. The back of each vector is the newest. Key: user@domain.
  std::unordered_map<std::string, std::vector<ContactRoute>> by_user_;
  std::unordered_map<std::string, std::size_t> by_source_;  // address text -> routes
  std::size_t size_ = 0;
};

}  // namespace portico::registrar
