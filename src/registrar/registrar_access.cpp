// Who may hold a binding: digest authentication when Portico is the registrar itself (RFC 3261
// §22.4 and §10.3 steps 3 and 6, RFC 7616), and the caps on how many bindings exist at all and
// per source address, so an unauthenticated sender cannot grow the binding table.

#include "portico/common/log.hpp"
#include "portico/registrar/digest_users.hpp"
#include "portico/registrar/registrar.hpp"
#include "sip_fields.hpp"

namespace portico::registrar {

bool Registrar::authenticated(sip::TxnId txn, const sip::Message& req, const transport::Flow& flow,
                              const std::string& user, const std::string& domain) {
  if (auth_ == nullptr) {
    log::error("registration.no_authenticator", {{"aor", user + "@" + domain}});
    respond(txn, 500);
    return false;
  }
  const auto p = policy_();
  const auto offered = digest_algorithms(p->registration);
  // A domain's digest realm is its own name (policy/registration_domains.hpp).
  const auto r =
      auth_->check("REGISTER", domain, detail::header_values(req.raw(), {"Authorization"}),
                   digest_users(p->registration), flow.remote.address, timers_.now(), offered);
  using Outcome = auth::DigestAuthenticator::Outcome;
  if (r.outcome == Outcome::Authenticated) {
    if (r.username == user) {
      return true;
    }
    // §10.3 step 6: authenticated, but not allowed to change another user's bindings.
    count(RegisterOutcome::Forbidden);
    log::info("registration.rejected", {{"reason", "forbidden"},
                                        {"user", r.username},
                                        {"aor", user + "@" + domain},
                                        {"remote", flow.remote.to_string()}});
    respond(txn, 403);
    return false;
  }
  // Unknown user, wrong password, replay, no or stale credentials: the same 401 with a fresh
  // challenge, so the answer tells nothing about which users exist.
  count(RegisterOutcome::Challenged);
  if (r.outcome == Outcome::Failed) {
    log::info("registration.auth_failed",
              {{"aor", user + "@" + domain}, {"remote", flow.remote.to_string()}});
  }
  respond(txn, 401,
          auth_->challenge("WWW-Authenticate", domain, r.outcome == Outcome::Stale, timers_.now(),
                           offered));
  return false;
}

bool Registrar::within_caps(sip::TxnId txn, const asio::ip::address& source) {
  const auto& reg = policy_()->registration;
  // The directory holds every shard's active bindings; this shard's pending ones are added.
  std::size_t total = table_.count(BindingState::Pending) + table_.count(BindingState::Removing);
  std::size_t from_source = 0;
  for (const auto& [aor, b] : table_.all()) {
    if (b.state != BindingState::Active && b.route.flow.remote.address == source) {
      ++from_source;
    }
  }
  if (directory_ != nullptr) {
    total += directory_->size();
    from_source += directory_->from_source(source);
  } else {
    total = table_.size();
    from_source = 0;
    for (const auto& [aor, b] : table_.all()) {
      from_source += b.route.flow.remote.address == source ? 1 : 0;
    }
  }
  const char* cap = total >= reg.max_bindings                    ? "max_bindings"
                    : from_source >= reg.max_bindings_per_source ? "max_bindings_per_source"
                                                                 : nullptr;
  if (cap == nullptr) {
    if (refusing_bindings_) {
      refusing_bindings_ = false;
      log::info("registration.caps_clear", {{"bindings", total}});
    }
    return true;
  }
  count(RegisterOutcome::TooManyBindings);
  if (!refusing_bindings_) {  // one line when refusing starts, not one per REGISTER
    refusing_bindings_ = true;
    log::warn("registration.cap_reached", {{"cap", cap},
                                           {"bindings", total},
                                           {"from_source", from_source},
                                           {"remote", source.to_string()}});
  }
  respond(txn, 503, "Retry-After: 60\r\n", "Too Many Registrations");
  return false;
}

}  // namespace portico::registrar
