#pragma once
// The bindings one shard owns (those whose AOR hashes to it), and the rules that decide when
// a client's REGISTER must go upstream. Plain data and arithmetic on time points: no I/O, so
// the rules are tested without sockets or clocks.
//
// One binding per address-of-record: the last REGISTER's contact and flow replace the previous
// ones. Each binding also carries the one upstream registration Portico keeps for it (its own
// Call-ID, tag and CSeq, so the registrar sees one well-behaved client per AOR).
//
//   client REGISTER        upstream fresh? ---yes--> 200 locally (client expiry extended)
//                                \---no---> REGISTER upstream --2xx--> Active, 200 to client
//   no refresh by client_expiry + grace: removed (and unregistered upstream)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "portico/common/timer_service.hpp"
#include "portico/sip/transaction_layer.hpp"
#include "portico/transport/endpoint.hpp"

namespace portico::registrar {

/// Binding states, in the order a binding goes through them.
enum class BindingState {
  Pending,   // first REGISTER relayed upstream (or challenged); calls are not routed to it yet
  Active,    // the registrar accepted it: calls for its user go to its flow
  Removing,  // unregistration relayed upstream; calls no longer reach it; dropped on the answer
};
const char* to_string(BindingState s);

/// Where calls for a registered user go. This is what every shard keeps a copy of.
struct ContactRoute {
  std::string aor;                 // "user@host" of the REGISTER's To
  std::string user;
  std::string domain;              // the served domain the host names (registration_domains)
  std::string realm;               // the realm the client registered on
  std::string contact_uri;         // the client's Contact URI: Request-URI of calls to it
  transport::Destination flow;     // where its REGISTER came from: NAT address, same connection
  bool reachable = true;           // false after ping_failures unanswered OPTIONS pings
};
/// True when calls would go the same way (so other shards need not hear of a refresh).
bool same_route(const ContactRoute& a, const ContactRoute& b);

/// A change of one binding's route, sent to every shard: `route` empty means "removed".
struct BindingUpdate {
  std::string aor;
  std::string user;
  std::string domain;
  std::optional<ContactRoute> route;
};

struct Binding {
  BindingState state = BindingState::Pending;
  ContactRoute route;
  TimePoint client_expiry{};       // lapses here unless the client refreshes (grant + grace)
  int ping_misses = 0;             // consecutive unanswered OPTIONS
  TimePoint next_ping{};
  sip::TxnId ping_txn = 0;         // OPTIONS in flight
  // The upstream registration
  std::string request_uri;         // the client's Request-URI, sent unchanged (digest uri=)
  std::string aor_uri;             // the client's To URI: To and From of upstream REGISTERs
  std::string upstream_contact;    // the Contact URI Portico registered for it
  std::string call_id;
  std::string from_tag;
  std::uint32_t cseq = 0;          // last CSeq sent upstream
  TimePoint upstream_expiry{};     // valid until (epoch: not registered upstream)
  Millis upstream_granted{0};      // what the registrar granted last time
  std::string credentials;         // the client's last Authorization/Proxy-Authorization lines
  sip::TxnId upstream_txn = 0;     // REGISTER in flight upstream
  TimePoint last_activity{};       // Pending/Removing records idle this long are dropped
  // The client's own registration (RFC 3261 §10.2.4: a refresh reuses its Call-ID and raises
  // its CSeq). Only a REGISTER that continues it, from the same flow, is answered locally.
  std::string client_call_id;     // Call-ID of the last REGISTER the registrar accepted
  std::uint32_t client_cseq = 0;  // and its CSeq
};

class BindingTable {
 public:
  /// Expiry granted to a client: what it asked for, capped by the policy's client_expires,
  /// and at least one second.
  static Millis grant(Millis requested, Millis client_expires);
  /// Slack after a client's expiry before its binding is removed: 10 % of the grant, within
  /// [1 s, 10 s], so a refresh a little late (retransmissions, a busy phone) does not lose it.
  static Millis grace(Millis granted);
  /// True when a client refresh can be answered without going upstream: the upstream
  /// registration still has more than half of its granted life left, and outlives the
  /// client's next refresh window (`client_window`, its grant plus grace).
  static bool upstream_fresh(const Binding& b, TimePoint now, Millis client_window);
  /// True when a REGISTER from `from` with `call_id`/`cseq` continues the client's accepted
  /// registration: the same flow (protocol, source address and port, and the same connection
  /// for TCP), the same Call-ID and a higher CSeq. Anything else may come from someone else
  /// and must be relayed for the registrar to authenticate, never answered locally.
  static bool continues_client(const Binding& b, const transport::Destination& from,
                               std::string_view call_id, std::uint32_t cseq);

  Binding* find(const std::string& aor);
  const Binding* find(const std::string& aor) const;
  /// A new Pending binding with its own upstream Call-ID and tag.
  Binding& create(const std::string& aor, const std::string& user, const std::string& domain,
                  const std::string& realm, std::string call_id, std::string from_tag,
                  TimePoint now);
  void erase(const std::string& aor);

  /// The client registered (or refreshed): its contact, flow and new expiry; reachable again.
  static void refresh_client(Binding& b, const std::string& contact_uri,
                             const transport::Destination& flow, Millis granted, TimePoint now);
  /// The registrar accepted our REGISTER and granted `granted`.
  static void upstream_registered(Binding& b, Millis granted, TimePoint now);

  /// AORs of Active bindings whose client expiry has passed.
  std::vector<std::string> expired(TimePoint now) const;
  /// AORs of Pending/Removing records with nothing in flight, idle for `linger`.
  std::vector<std::string> stale(TimePoint now, Millis linger) const;

  std::size_t size() const { return bindings_.size(); }
  std::size_t count(BindingState s) const;
  const std::unordered_map<std::string, Binding>& all() const { return bindings_; }
  std::unordered_map<std::string, Binding>& all() { return bindings_; }

 private:
  std::unordered_map<std::string, Binding> bindings_;  // by AOR; shard-local
};

}  // namespace portico::registrar
