// The upstream side: the REGISTER Portico writes for a binding, and what the registrar's answer
// means for the binding and for the client waiting on it.
//
// Portico's REGISTER (RFC 3261 §10.2): the client's Request-URI unchanged (a digest response
// covers it), To and From = the client's AOR (From with Portico's own tag), the binding's own
// Call-ID with a rising CSeq (§10.2.4: the registrar orders refreshes by them), Portico's Via
// and Contact on the registrar's realm, Expires, and the client's credentials byte for byte.
// Nothing else of the client crosses.

#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/registrar/registrar.hpp"
#include "portico/sip/message_builder.hpp"
#include "sip_fields.hpp"

namespace portico::registrar {
namespace {

std::optional<transport::Destination> registrar_destination(const policy::PolicySnapshot& p) {
  const auto& reg = p.registration;
  std::string realm;
  std::string host;
  std::uint16_t port = 0;
  transport::Protocol protocol = transport::Protocol::Udp;
  if (const policy::Trunk* t = p.find_trunk(reg.registrar)) {
    realm = t->realm;
    host = t->host;
    port = t->port;
    protocol = t->transport;
  } else if (const policy::AccessPeer* a = p.find_access_peer(reg.registrar); a && a->host) {
    realm = a->realm;
    host = *a->host;
    port = a->port;
    protocol = a->transport;
  } else {
    return std::nullopt;
  }
  asio::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return std::nullopt;
  }
  return transport::Destination{realm, protocol, transport::Endpoint{address, port}, {}};
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// What the registrar granted our contact: its expires parameter in the 2xx's Contact list,
// else the Expires header, else what we asked for (RFC 3261 §10.2.4).
Millis granted_upstream(const sip::Message& resp, const std::string& our_contact, Millis asked) {
  const auto ours = sip::parse_uri(our_contact);
  for (const auto& c : resp.contacts()) {
    const auto theirs = sip::parse_uri(c.uri);
    if (ours.ok() && theirs.ok() && theirs->user == ours->user &&
        iequals(theirs->host, ours->host) && theirs->port == ours->port) {
      if (const auto secs = detail::header_param(c.raw, "expires")) {
        return Millis{static_cast<std::int64_t>(*secs) * 1000};
      }
    }
  }
  if (const auto h = resp.header("Expires")) {
    if (const auto secs = parse_uint(trim(*h))) {
      return Millis{static_cast<std::int64_t>(std::min<std::uint64_t>(*secs, UINT32_MAX)) * 1000};
    }
  }
  return asked;
}

}  // namespace

bool Registrar::has_registrar() const { return !policy_()->registration.registrar.empty(); }

sip::TxnId Registrar::send_upstream(Binding& b, Millis expires, Pending pending) {
  const auto p = policy_();
  const auto dst = registrar_destination(*p);
  std::string host;
  std::uint16_t port = 0;
  if (!dst || !transport_.local_address(dst->realm, dst->protocol, dst->remote.address.is_v6(),
                                        host, port)) {
    log::error("registration.no_route_to_registrar", {{"registrar", p->registration.registrar},
                                                      {"aor", b.route.aor}});
    upstream_failed(pending, 503);
    return 0;
  }
  ++b.cseq;
  const std::string h = bracketed(host);
  b.upstream_contact = "sip:" + b.route.user + "@" + h + ":" + std::to_string(port);
  if (dst->protocol != transport::Protocol::Udp) {
    b.upstream_contact += ";transport=" + std::string(transport::to_string(dst->protocol));
  }
  auto m = sip::MessageBuilder::request("REGISTER", b.request_uri);
  m.header("Via", "SIP/2.0/" + std::string(transport::via_token(dst->protocol)) + " " + h + ":" +
                      std::to_string(port) + ";branch=z9hG4bK" + random_token(20) + ";rport");
  m.header("Max-Forwards", "70");
  m.header("From", "<" + b.aor_uri + ">;tag=" + b.from_tag);
  m.header("To", "<" + b.aor_uri + ">");
  m.header("Call-ID", b.call_id);
  m.header("CSeq", std::to_string(b.cseq) + " REGISTER");
  if (pending.kind != Pending::Kind::Query) {  // a query lists bindings, changes none
    m.header("Contact", "<" + b.upstream_contact + ">");
    m.header("Expires", std::to_string(expires.count() / 1000));
  }
  std::string_view creds = b.credentials;
  while (!creds.empty()) {  // one "Name: value\r\n" line at a time, exactly as the client sent
    const auto end = creds.find("\r\n");
    const std::string_view line = creds.substr(0, end);
    const auto colon = line.find(':');
    m.header(line.substr(0, colon), trim(line.substr(colon + 1)));
    creds = end == std::string_view::npos ? std::string_view{} : creds.substr(end + 2);
  }
  if (const std::string product = server_header(*p); !product.empty()) {
    m.header("User-Agent", product);
  }
  const sip::TxnId id = layer_.send_request(m.build(), *dst);
  b.upstream_txn = id;
  pending_[id] = std::move(pending);
  return id;
}

bool Registrar::on_response(sip::TxnId txn, const sip::Message& resp) {
  if (!pending_.contains(txn)) {
    return false;
  }
  if (resp.status() < 200) {
    return true;  // 100 Trying from the registrar, or a 1xx to a ping: wait for the final
  }
  const Pending p = take_pending(txn);
  if (p.kind == Pending::Kind::Ping) {
    ping_answered(p.aor, true);
  } else {
    upstream_answered(p, resp);
  }
  return true;
}

bool Registrar::on_client_failure(sip::TxnId txn, int status) {
  if (!pending_.contains(txn)) {
    return false;
  }
  const Pending p = take_pending(txn);
  if (p.kind == Pending::Kind::Ping) {
    ping_answered(p.aor, false);
  } else {
    upstream_failed(p, status);
  }
  return true;
}

Registrar::Pending Registrar::take_pending(sip::TxnId txn) {
  auto node = pending_.extract(txn);
  return std::move(node.mapped());
}

void Registrar::upstream_answered(const Pending& p, const sip::Message& resp) {
  const int status = resp.status();
  const bool challenge = status == 401 || status == 407;
  const TimePoint now = timers_.now();
  Binding* b = table_.find(p.aor);
  if (b != nullptr) {
    b->upstream_txn = 0;
    b->last_activity = now;
  }
  const bool client = p.server_txn != 0;
  if (p.kind == Pending::Kind::Query) {
    query_answered(p, resp, b);
    return;
  }
  if (p.kind == Pending::Kind::Unregister) {
    relay_to_client(p.server_txn, resp);
    if (client) {
      count(challenge ? RegisterOutcome::Challenged
                      : status < 300 ? RegisterOutcome::Unregistered : RegisterOutcome::Refused);
    }
    if (b == nullptr) {
      return;
    }
    if (client && status >= 300) {
      // Only the registrar's 2xx removes a binding: a refused or challenged unregister may
      // come from someone else, so the user keeps its calls (and Portico its credentials).
      if (p.kept) {
        restore(*b, *p.kept);
      }
      return;
    }
    if (!challenge) {
      if (client && b->state == BindingState::Active) {
        publish_removal(*b);
      }
      log::info("registration.removed", {{"aor", p.aor},
                                         {"reason", client ? "unregistered" : "expired"},
                                         {"upstream_status", status}});
      table_.erase(p.aor);
    }
    return;
  }
  if (status >= 300 && b != nullptr && p.kept) {
    restore(*b, *p.kept);
  }
  if (status < 300) {
    if (b == nullptr) {
      respond(p.server_txn, 500);
      return;
    }
    const auto p_snapshot = policy_();
    const Millis granted = std::max(
        Millis{1000},
        granted_upstream(resp, b->upstream_contact, p_snapshot->registration.upstream_expires));
    BindingTable::upstream_registered(*b, granted, now);
    BindingTable::refresh_client(*b, p.contact_uri, p.flow, p.client_granted, now);
    b->client_call_id = p.client_call_id;
    b->client_cseq = p.client_cseq;
    publish(*b);
    count(RegisterOutcome::Registered);
    log::info(p.fresh ? "registration.registered" : "registration.refreshed",
              {{"aor", p.aor}, {"contact", p.contact_uri}, {"remote", p.flow.remote.to_string()},
               {"transport", transport::to_string(p.flow.protocol)},
               {"upstream", "registered"}, {"upstream_expires", granted.count() / 1000},
               {"client_expires", p.client_granted.count() / 1000}});
    answer_ok(p.server_txn, p.contact_uri, p.client_granted);
    return;
  }
  relay_to_client(p.server_txn, resp);
  if (challenge) {
    count(RegisterOutcome::Challenged);
    log::debug("registration.challenged", {{"aor", p.aor}, {"status", status}});
    return;
  }
  count(RegisterOutcome::Refused);
  log::info("registration.refused", {{"aor", p.aor}, {"status", status},
                                     {"reason", resp.reason_phrase()}});
  if (b == nullptr) {
    return;
  }
  // A refusal never undoes a registration the registrar accepted earlier: the REGISTER it
  // refused may come from someone else (another address, a new Call-ID), and only the
  // registrar's 2xx changes a binding. An accepted binding the client cannot refresh lapses
  // at its own expiry.
  if (b->state == BindingState::Active) {
    return;
  }
  table_.erase(p.aor);
}

void Registrar::upstream_failed(const Pending& p, int status) {
  Binding* b = table_.find(p.aor);
  if (b != nullptr) {
    b->upstream_txn = 0;
  }
  log::warn("registration.upstream_failed",
            {{"aor", p.aor}, {"status", status},
             {"reason", status == 408 ? "timeout" : "transport_error"},
             {"request", p.kind == Pending::Kind::Unregister ? "unregister" : "register"}});
  if (p.server_txn != 0) {
    count(RegisterOutcome::UpstreamFailed);
    respond(p.server_txn, status);
  }
  if (b == nullptr) {
    return;
  }
  // A binding the registrar accepted before keeps its own expiry through a lost refresh,
  // unregister or query.
  if (p.kind != Pending::Kind::Ping && p.server_txn != 0 && b->state == BindingState::Active) {
    if (p.kept) {
      restore(*b, *p.kept);
    }
    return;
  }
  table_.erase(p.aor);
}

void Registrar::query_answered(const Pending& p, const sip::Message& resp, Binding* b) {
  if (b != nullptr && p.kept) {
    restore(*b, *p.kept);  // a query never changes what Portico sends upstream
  }
  const int status = resp.status();
  if (status >= 300) {
    relay_to_client(p.server_txn, resp);
    count(status == 401 || status == 407 ? RegisterOutcome::Challenged : RegisterOutcome::Refused);
    return;
  }
  count(RegisterOutcome::Queried);
  // The registrar accepted the query: the client learns its binding as Portico holds it.
  if (b == nullptr || b->state != BindingState::Active) {
    respond(p.server_txn, 200);
    return;
  }
  const auto left = std::chrono::duration_cast<Millis>(b->client_expiry - timers_.now());
  answer_ok(p.server_txn, b->route.contact_uri, std::max(Millis{0}, left));
}

void Registrar::restore(Binding& b, const UpstreamIdentity& kept) {
  b.request_uri = kept.request_uri;
  b.aor_uri = kept.aor_uri;
  b.credentials = kept.credentials;
}

void Registrar::relay_to_client(sip::TxnId server_txn, const sip::Message& resp) {
  // Min-Expires is not relayed: it is about Portico's upstream_expires, not the client's.
  respond(server_txn, resp.status(),
          detail::header_lines(resp.raw(), {"WWW-Authenticate", "Proxy-Authenticate",
                                            "Retry-After"}),
          resp.reason_phrase());
}

}  // namespace portico::registrar
