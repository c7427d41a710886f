// Calls to registered users (route target `registered: <realm>`): the callee is wherever its
// last REGISTER came from. The INVITE goes to the binding's flow (the NAT's public address and
// port, or down the TCP connection the phone registered on: RFC 5626 §5.3's "same flow") with
// the phone's own Contact as Request-URI (RFC 3261 §16.5 retargeting to a registered contact).
// The lookup is in this shard's copy of the bindings, so no other shard is asked.

#include "admission.hpp"
#include "portico/common/log.hpp"
#include "portico/policy/registration_domains.hpp"
#include "portico/registrar/binding_directory.hpp"

namespace portico::b2bua {

Verdict registered_targets(Admission& a) {
  policy::CallPlan& plan = a.plan;
  std::string reason;  // why the last registered target was dropped
  auto& targets = plan.targets;
  // Bindings are per user@domain: the Request-URI's host when Portico serves it, else the
  // default domain (a carrier sends calls to Portico's own address, not the phones' domain).
  const auto ruri = a.req.request_uri_parts();
  const std::string domain =
      policy::call_domain(a.policy->registration, ruri ? std::string_view(ruri->host) : "");
  for (auto it = targets.begin(); it != targets.end();) {
    if (it->kind != policy::PeerKind::Registered) {
      ++it;
      continue;
    }
    const registrar::ContactRoute* route =
        a.bindings != nullptr ? a.bindings->find(it->realm, plan.ruri_user, domain) : nullptr;
    if (route != nullptr && route->reachable) {
      it->remote = route->flow.remote;
      it->transport = route->flow.protocol;
      it->connection = route->flow.connection;
      it->request_uri = route->contact_uri;
      it->to_uri = "<sip:" + route->aor + ">";
      ++it;
      continue;
    }
    reason = route == nullptr ? "not_registered" : "contact_unreachable";
    log::info("call.target_skipped", {{"target", it->name},
                                      {"user", plan.ruri_user},
                                      {"domain", domain},
                                      {"reason", reason},
                                      {"call_id", a.req.call_id()}});
    it = targets.erase(it);
  }
  if (!targets.empty() || reason.empty()) {
    return Verdict::pass();
  }
  log::info("call.rejected", {{"status", 480},
                              {"reason", reason},
                              {"user", plan.ruri_user},
                              {"route", plan.route},
                              {"realm", a.flow.realm},
                              {"remote", a.flow.remote.to_string()},
                              {"call_id", a.req.call_id()}});
  return {480, reason, {}};
}

}  // namespace portico::b2bua
