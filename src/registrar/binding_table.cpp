#include "portico/registrar/binding_table.hpp"

#include <algorithm>

namespace portico::registrar {

const char* to_string(BindingState s) {
  switch (s) {
    case BindingState::Pending: return "pending";
    case BindingState::Active: return "active";
    case BindingState::Removing: return "removing";
  }
  return "?";
}

bool same_route(const ContactRoute& a, const ContactRoute& b) {
  return a.aor == b.aor && a.domain == b.domain && a.realm == b.realm &&
         a.contact_uri == b.contact_uri && a.flow.realm == b.flow.realm &&
         a.flow.protocol == b.flow.protocol && a.flow.remote == b.flow.remote &&
         a.flow.connection == b.flow.connection && a.reachable == b.reachable;
}

Millis BindingTable::grant(Millis requested, Millis client_expires) {
  return std::max(Millis{1000}, std::min(requested, client_expires));
}

Millis BindingTable::grace(Millis granted) {
  return std::clamp(granted / 10, Millis{1000}, Millis{10000});
}

bool BindingTable::upstream_fresh(const Binding& b, TimePoint now, Millis client_window) {
  if (b.upstream_expiry <= now) {
    return false;
  }
  const auto left = std::chrono::duration_cast<Millis>(b.upstream_expiry - now);
  return left > b.upstream_granted / 2 && left > client_window;
}

bool BindingTable::continues_client(const Binding& b, const transport::Destination& from,
                                    std::string_view call_id, std::uint32_t cseq) {
  const transport::Destination& known = b.route.flow;
  const bool same_flow = known.protocol == from.protocol && known.remote == from.remote &&
                         known.connection == from.connection;
  return same_flow && !b.client_call_id.empty() && b.client_call_id == call_id &&
         cseq > b.client_cseq;
}

Binding* BindingTable::find(const std::string& aor) {
  auto it = bindings_.find(aor);
  return it == bindings_.end() ? nullptr : &it->second;
}

const Binding* BindingTable::find(const std::string& aor) const {
  auto it = bindings_.find(aor);
  return it == bindings_.end() ? nullptr : &it->second;
}

Binding& BindingTable::create(const std::string& aor, const std::string& user,
                              const std::string& domain, const std::string& realm,
                              std::string call_id, std::string from_tag, TimePoint now) {
  Binding& b = bindings_[aor];
  b = Binding{};
  b.route.aor = aor;
  b.route.user = user;
  b.route.domain = domain;
  b.route.realm = realm;
  b.call_id = std::move(call_id);
  b.from_tag = std::move(from_tag);
  b.last_activity = now;
  return b;
}

void BindingTable::erase(const std::string& aor) { bindings_.erase(aor); }

void BindingTable::refresh_client(Binding& b, const std::string& contact_uri,
                                  const transport::Destination& flow, Millis granted,
                                  TimePoint now) {
  b.route.contact_uri = contact_uri;
  b.route.flow = flow;
  b.route.reachable = true;
  b.ping_misses = 0;
  b.client_expiry = now + granted + grace(granted);
  b.last_activity = now;
}

void BindingTable::upstream_registered(Binding& b, Millis granted, TimePoint now) {
  b.state = BindingState::Active;
  b.upstream_granted = granted;
  b.upstream_expiry = now + granted;
  b.last_activity = now;
}

std::vector<std::string> BindingTable::expired(TimePoint now) const {
  std::vector<std::string> out;
  for (const auto& [aor, b] : bindings_) {
    if (b.state == BindingState::Active && b.client_expiry <= now) {
      out.push_back(aor);
    }
  }
  return out;
}

std::vector<std::string> BindingTable::stale(TimePoint now, Millis linger) const {
  std::vector<std::string> out;
  for (const auto& [aor, b] : bindings_) {
    if (b.state != BindingState::Active && b.upstream_txn == 0 &&
        b.last_activity + linger <= now) {
      out.push_back(aor);
    }
  }
  return out;
}

std::size_t BindingTable::count(BindingState s) const {
  return static_cast<std::size_t>(std::count_if(
      bindings_.begin(), bindings_.end(), [s](const auto& kv) { return kv.second.state == s; }));
}

}  // namespace portico::registrar
