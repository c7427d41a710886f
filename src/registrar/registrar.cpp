// REGISTER from a client: who may register, what it asks for (RFC 3261 §10.2.1: Contact,
// expires parameter, Expires header, "Contact: *"), and whether Portico answers it itself or
// relays it upstream (registrar_upstream.cpp).

#include "portico/registrar/registrar.hpp"

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/policy/matcher.hpp"
#include "portico/policy/registration_domains.hpp"
#include "portico/sip/extensions.hpp"
#include "portico/sip/shard_routing.hpp"
#include "sip_fields.hpp"

namespace portico::registrar {
namespace {

// RFC 3261 §10.2.1.1: with neither an expires parameter nor an Expires header, 3600 seconds.
constexpr std::uint32_t kDefaultExpires = 3600;

transport::Destination destination_of(const transport::Flow& flow) {
  return transport::Destination{flow.realm, flow.protocol, flow.remote, flow.connection};
}

}  // namespace

const char* to_string(RegisterOutcome o) {
  switch (o) {
    case RegisterOutcome::Registered: return "registered";
    case RegisterOutcome::RefreshedLocally: return "refreshed_locally";
    case RegisterOutcome::Unregistered: return "unregistered";
    case RegisterOutcome::Queried: return "queried";
    case RegisterOutcome::Challenged: return "challenged";
    case RegisterOutcome::Refused: return "refused";
    case RegisterOutcome::UpstreamFailed: return "upstream_failed";
    case RegisterOutcome::UnknownSource: return "unknown_source";
    case RegisterOutcome::BadRequest: return "bad_request";
    case RegisterOutcome::Busy: return "busy";
    case RegisterOutcome::DomainNotServed:
      return "domain_not_served";
    case RegisterOutcome::TooManyBindings:
      return "too_many_bindings";
    case RegisterOutcome::Forbidden:
      return "forbidden";
  }
  return "?";
}

Registrar::Registrar(std::uint16_t shard, std::uint16_t shard_count, TimerService& timers,
                     transport::Transport& transport, sip::TransactionLayer& layer,
                     PolicyView policy, NewCallId new_call_id, Publish publish,
                     std::string version)
    : shard_(shard),
      shard_count_(shard_count),
      timers_(timers),
      transport_(transport),
      layer_(layer),
      policy_(std::move(policy)),
      new_call_id_(std::move(new_call_id)),
      publish_(std::move(publish)),
      version_(std::move(version)),
      sweep_timer_(timers) {}

Registrar::~Registrar() = default;

bool Registrar::on_register(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow) {
  const auto p = policy_();
  const auto& reg = p->registration;
  if (!reg.enabled || flow.realm != reg.realm) {
    return false;
  }
  // RFC 3261 §10.3 step 2: a registrar processes Require as any UAS does (§8.2.2.3).
  if (const std::string unsupported = sip::unsupported_options(req); !unsupported.empty()) {
    respond(txn, 420, "Unsupported: " + unsupported + "\r\n");
    return true;
  }
  const std::string remote = flow.remote.to_string();
  if (policy::identify_source(*p, flow.realm, flow.remote.address).empty()) {
    count(RegisterOutcome::UnknownSource);
    log::info("registration.rejected", {{"reason", "unknown_source"}, {"realm", flow.realm},
                                        {"remote", remote}, {"to", req.to().uri}});
    respond(txn, 403);
    return true;
  }
  const auto aor = sip::aor_of_uri(req.to().uri);
  if (!aor) {
    count(RegisterOutcome::BadRequest);
    respond(txn, 400, {}, "To has no user part");
    return true;
  }
  if (sip::shard_for_aor(*aor, shard_count_) != shard_) {
    // The dispatcher and this shard disagree on the owner: never expected, never guessed at.
    log::error("registration.misrouted", {{"aor", *aor}, {"remote", remote}});
    respond(txn, 500);
    return true;
  }
  const std::string user = aor->substr(0, aor->rfind('@'));
  // RFC 3261 §10.3 steps 1 and 5: only the domains Portico serves; bindings are per
  // user@domain, so a user of one domain never takes the calls of another's.
  const auto domain = policy::served_domain(reg, aor->substr(aor->rfind('@') + 1));
  if (!domain) {
    count(RegisterOutcome::DomainNotServed);
    log::info("registration.rejected", {{"reason", "domain_not_served"},
                                        {"realm", flow.realm},
                                        {"remote", remote},
                                        {"to", req.to().uri}});
    respond(txn, 404, {}, "Domain Not Served");
    return true;
  }
  if (!has_registrar() && !reg.users_file.empty() &&
      !authenticated(txn, req, flow, user, *domain)) {
    return true;
  }
  std::int64_t header_secs = -1;  // no (usable) Expires header
  if (const auto h = req.header("Expires")) {
    if (const auto n = parse_uint(trim(*h)); n && *n <= UINT32_MAX) {
      header_secs = static_cast<std::int64_t>(*n);
    }
  }
  for (const auto& v : detail::header_values(req.raw(), {"Contact", "m"})) {
    if (v == "*") {
      // RFC 3261 §10.2.2: "Contact: *" removes every binding, and only with Expires: 0.
      if (header_secs != 0) {
        count(RegisterOutcome::BadRequest);
        respond(txn, 400, {}, "Contact * needs Expires 0");
        return true;
      }
      unregister_binding(txn, req, *aor);
      return true;
    }
  }
  const auto contacts = req.contacts();
  if (contacts.empty()) {
    query_binding(txn, req, flow, *aor);
    return true;
  }
  const sip::NameAddr& contact = contacts.front();  // one binding per AOR: the first contact
  if (!sip::parse_uri(contact.uri).ok()) {
    count(RegisterOutcome::BadRequest);
    respond(txn, 400, {}, "Unusable Contact");
    return true;
  }
  std::uint64_t secs = kDefaultExpires;
  if (const auto param = detail::header_param(contact.raw, "expires")) {
    secs = *param;
  } else if (header_secs >= 0) {
    secs = static_cast<std::uint64_t>(header_secs);
  }
  if (secs == 0) {
    unregister_binding(txn, req, *aor);
    return true;
  }
  register_binding(
      txn, req, flow, *aor, user, *domain, contact.uri,
      Millis{static_cast<std::int64_t>(std::min<std::uint64_t>(secs, UINT32_MAX)) * 1000});
  return true;
}

void Registrar::register_binding(sip::TxnId txn, const sip::Message& req,
                                 const transport::Flow& flow, const std::string& aor,
                                 const std::string& user, const std::string& domain,
                                 const std::string& contact_uri, Millis requested) {
  const auto p = policy_();
  const auto& reg = p->registration;
  const TimePoint now = timers_.now();
  Binding* b = table_.find(aor);
  if (b != nullptr && b->upstream_txn != 0) {
    count(RegisterOutcome::Busy);
    respond(txn, 500, "Retry-After: 1\r\n", "Registration In Progress");
    return;
  }
  if (b == nullptr && !within_caps(txn, flow.remote.address)) {
    return;
  }
  const Millis granted = BindingTable::grant(requested, reg.client_expires);
  const Millis window = granted + BindingTable::grace(granted);
  const bool fresh = b == nullptr || b->state != BindingState::Active;
  // A refresh is answered here only when it continues the registration the registrar
  // accepted, from the same flow; any other REGISTER for the AOR (another address, a new
  // Call-ID, a replayed CSeq) goes upstream to be authenticated.
  const bool local = !has_registrar() || (!fresh && BindingTable::upstream_fresh(*b, now, window) &&
                                          BindingTable::continues_client(
                                              *b, destination_of(flow), req.call_id(), req.cseq()));
  if (local) {
    if (b == nullptr) {
      b = &table_.create(aor, user, domain, flow.realm, {}, {}, now);
    }
    const ContactRoute before = b->route;
    BindingTable::refresh_client(*b, contact_uri, destination_of(flow), granted, now);
    b->client_call_id = req.call_id();
    b->client_cseq = req.cseq();
    b->state = BindingState::Active;
    if (fresh || !same_route(before, b->route)) {
      publish(*b);
    }
    if (!before.reachable && !fresh) {
      log::info("registration.reachable", {{"aor", aor}, {"reason", "registered"}});
    }
    count(fresh ? RegisterOutcome::Registered : RegisterOutcome::RefreshedLocally);
    if (fresh) {
      log::info("registration.registered", {{"aor", aor}, {"contact", contact_uri},
                                            {"remote", flow.remote.to_string()},
                                            {"transport", transport::to_string(flow.protocol)},
                                            {"upstream", "none"}});
    } else {
      log::debug("registration.refreshed", {{"aor", aor}, {"upstream", "fresh"}});
    }
    answer_ok(txn, contact_uri, granted);
    arm_sweep();
    return;
  }
  if (b == nullptr) {
    b = &table_.create(aor, user, domain, flow.realm, new_call_id_(), random_token(16), now);
    b->route.flow = destination_of(flow);  // counted against its source's cap while pending
  }
  Pending pending;
  const UpstreamIdentity before = take_identity(*b, req);
  if (b->state == BindingState::Active) {
    pending.kept = before;
  }
  b->last_activity = now;
  pending.kind = Pending::Kind::Register;
  pending.aor = aor;
  pending.server_txn = txn;
  pending.contact_uri = contact_uri;
  pending.flow = destination_of(flow);
  pending.client_granted = granted;
  pending.fresh = fresh;
  pending.client_call_id = req.call_id();
  pending.client_cseq = req.cseq();
  send_upstream(*b, reg.upstream_expires, std::move(pending));
  arm_sweep();
}

void Registrar::unregister_binding(sip::TxnId txn, const sip::Message& req,
                                   const std::string& aor) {
  Binding* b = table_.find(aor);
  if (b != nullptr && b->upstream_txn != 0) {
    count(RegisterOutcome::Busy);
    respond(txn, 500, "Retry-After: 1\r\n", "Registration In Progress");
    return;
  }
  // Nothing registered upstream (none, never accepted, or Portico is the registrar): done here.
  if (b == nullptr || b->state == BindingState::Pending || !has_registrar()) {
    if (b != nullptr) {
      if (b->state == BindingState::Active) {
        publish_removal(*b);
      }
      log::info("registration.removed", {{"aor", aor}, {"reason", "unregistered"}});
      table_.erase(aor);
    }
    count(RegisterOutcome::Unregistered);
    respond(txn, 200);
    return;
  }
  // Calls keep reaching the binding until the registrar accepts the removal: an unregister
  // from someone else must not take a user's calls away (upstream_answered removes it on 2xx).
  Pending pending;
  pending.kind = Pending::Kind::Unregister;
  pending.aor = aor;
  pending.server_txn = txn;
  pending.kept = take_identity(*b, req);
  b->last_activity = timers_.now();
  send_upstream(*b, Millis{0}, std::move(pending));
}

void Registrar::query_binding(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow,
                              const std::string& aor) {
  Binding* b = table_.find(aor);
  if (b == nullptr || b->state != BindingState::Active) {
    count(RegisterOutcome::Queried);
    respond(txn, 200);  // nothing bound: nothing to reveal
    return;
  }
  if (has_registrar()) {
    // The binding's Contact only to someone the registrar accepts: relayed, answered on its 2xx.
    if (b->upstream_txn != 0) {
      count(RegisterOutcome::Busy);
      respond(txn, 500, "Retry-After: 1\r\n", "Registration In Progress");
      return;
    }
    Pending pending;
    pending.kind = Pending::Kind::Query;
    pending.aor = aor;
    pending.server_txn = txn;
    pending.kept = take_identity(*b, req);
    send_upstream(*b, Millis{0}, std::move(pending));
    return;
  }
  count(RegisterOutcome::Queried);
  // Portico is the registrar: with a users file the query was authenticated (on_register);
  // without one, only the binding's own flow learns its Contact.
  const bool own_flow = BindingTable::continues_client(*b, destination_of(flow), b->client_call_id,
                                                       b->client_cseq + 1);
  if (policy_()->registration.users_file.empty() && !own_flow) {
    respond(txn, 200);
    return;
  }
  const auto left = std::chrono::duration_cast<Millis>(b->client_expiry - timers_.now());
  answer_ok(txn, b->route.contact_uri, std::max(Millis{0}, left));
}

Registrar::UpstreamIdentity Registrar::take_identity(Binding& b, const sip::Message& req) {
  UpstreamIdentity before{b.request_uri, b.aor_uri, b.credentials};
  b.request_uri = req.request_uri();
  b.aor_uri = req.to().uri;
  b.credentials = detail::header_lines(req.raw(), {"Authorization", "Proxy-Authorization"});
  return before;
}

void Registrar::answer_ok(sip::TxnId txn, const std::string& contact_uri, Millis granted) {
  respond(txn, 200,
          "Contact: <" + contact_uri + ">;expires=" + std::to_string(granted.count() / 1000) +
              "\r\n");
}

void Registrar::respond(sip::TxnId txn, int status, const std::string& extra,
                        const std::string& reason) {
  if (txn == 0) {
    return;  // Portico's own request (expiry): nobody to answer
  }
  sip::ResponseParts parts;
  parts.status = status;
  parts.reason = reason;
  parts.to_tag = random_token(16);
  const std::string product = server_header(*policy_());
  parts.extra_headers = product.empty() ? extra : extra + "Server: " + product + "\r\n";
  layer_.respond(txn, parts);
}

void Registrar::publish(const Binding& b) {
  publish_(BindingUpdate{b.route.aor, b.route.user, b.route.domain, b.route});
}

void Registrar::publish_removal(const Binding& b) {
  publish_(BindingUpdate{b.route.aor, b.route.user, b.route.domain, std::nullopt});
}

std::string Registrar::server_header(const policy::PolicySnapshot& p) const {
  return policy::product_token(p.headers, version_);
}

RegistrarStats Registrar::stats() const {
  RegistrarStats s = stats_;
  if (const auto p = policy_(); p->registration.enabled) {
    // The registration realm's gauges exist (at 0) from the start, not from the first REGISTER.
    s.active[p->registration.realm] += 0;
    s.unreachable[p->registration.realm] += 0;
  }
  for (const auto& [aor, b] : table_.all()) {
    if (b.state != BindingState::Active) {
      continue;
    }
    ++s.active[b.route.realm];
    if (!b.route.reachable) {
      ++s.unreachable[b.route.realm];
    }
  }
  return s;
}

}  // namespace portico::registrar
