// Trunk registrations: the REGISTER Portico writes for itself, the carrier's answers, and the
// timers between them (trunk_registrations.hpp has the state machine).
//
// The REGISTER (RFC 3261 §10.2): Request-URI = the AOR's domain, To = From = the AOR (From with
// our tag), one Call-ID per registration with a rising CSeq (§10.2.4), Portico's own Via and
// Contact on the trunk's realm (user part = the AOR's, so the carrier's INVITEs name it),
// Expires, and Authorization / Proxy-Authorization after a challenge.

#include "portico/registrar/trunk_registrations.hpp"

#include <algorithm>
#include <vector>

#include "portico/auth/digest_client.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sip/message_builder.hpp"
#include "portico/sip/raw_headers.hpp"
#include "sip_fields.hpp"

namespace portico::registrar {

namespace {

enum State : int { kUnregistered = 0, kRegistering = 1, kRegistered = 2, kFailed = 3 };

const char* state_name(int s) {
  switch (s) {
    case kRegistering:
      return "registering";
    case kRegistered:
      return "registered";
    case kFailed:
      return "failed";
    default:
      return "unregistered";
  }
}

constexpr Millis kRefreshMargin{std::chrono::seconds(30)};
constexpr int kMaxIntervalRetries = 2;  // 423s answered in a row before giving up

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// "sip:user@domain;params" -> user and domain ("" when absent).
void split_aor(const std::string& aor, std::string& user, std::string& domain) {
  std::string_view rest = aor;
  rest = rest.substr(rest.find(':') + 1);
  rest = rest.substr(0, rest.find_first_of(";?>"));
  const auto at = rest.rfind('@');
  user = at == std::string_view::npos ? "" : std::string(rest.substr(0, at));
  domain = std::string(at == std::string_view::npos ? rest : rest.substr(at + 1));
}

// The challenge values of `resp` (WWW-Authenticate for 401, Proxy-Authenticate for 407),
// unfolded, read from the bytes as received.
std::vector<std::string> challenges(const sip::Message& resp) {
  return sip::raw_header_values(resp.raw(),
                                resp.status() == 407 ? "Proxy-Authenticate" : "WWW-Authenticate");
}

// What the registrar granted: expires of our Contact in the 2xx, else Expires, else asked.
Millis granted(const sip::Message& resp, const std::string& contact_user, Millis asked) {
  for (const auto& c : resp.contacts()) {
    const auto uri = sip::parse_uri(c.uri);
    if (uri.ok() && uri->user == contact_user) {
      if (const auto secs = detail::header_param(c.raw, "expires")) {
        return Millis{static_cast<std::int64_t>(*secs) * 1000};
      }
    }
  }
  if (const auto h = resp.header("Expires")) {
    if (const auto secs = parse_uint(trim(*h), 86400 * 7)) {
      return Millis{static_cast<std::int64_t>(*secs) * 1000};
    }
  }
  return asked;
}

bool same_registration(const policy::TrunkRegistration& a, const policy::TrunkRegistration& b) {
  return a.registrar_host == b.registrar_host && a.registrar_port == b.registrar_port &&
         a.aor == b.aor && a.credentials.username == b.credentials.username &&
         a.credentials.password == b.credentials.password &&
         a.credentials.realm == b.credentials.realm && a.expires == b.expires;
}

}  // namespace

const char* to_string(TrunkRegisterResult r) {
  switch (r) {
    case TrunkRegisterResult::Registered:
      return "registered";
    case TrunkRegisterResult::Unregistered:
      return "unregistered";
    case TrunkRegisterResult::Challenged:
      return "challenged";
    case TrunkRegisterResult::AuthFailed:
      return "auth_failed";
    case TrunkRegisterResult::IntervalTooBrief:
      return "interval_too_brief";
    case TrunkRegisterResult::Refused:
      return "refused";
    case TrunkRegisterResult::Timeout:
      return "timeout";
    case TrunkRegisterResult::TransportError:
      return "transport_error";
  }
  return "?";
}

/// One trunk's registration. Shard-local, like its owner.
struct TrunkRegistrations::Entry {
  std::string trunk;
  std::string realm;
  transport::Protocol protocol = transport::Protocol::Udp;
  policy::TrunkRegistration cfg;
  std::string user;    // the AOR's user part (also our Contact's)
  std::string domain;  // the AOR's host part (the Request-URI)
  std::string call_id;
  std::string from_tag;
  std::uint32_t cseq = 0;
  Millis asked{0};  // the expiry asked for (raised by a 423's Min-Expires)
  int state = kUnregistered;
  bool leaving = false;          // the next (or current) REGISTER is Expires: 0, then forgotten
  bool unregister_sent = false;  // leaving: the REGISTER in flight is the Expires: 0
  sip::TxnId txn = 0;            // the REGISTER in flight, or 0
  int challenges = 0;            // challenges answered in this attempt
  int interval_retries = 0;
  std::string last_nonce;
  std::optional<auth::Challenge> challenge;  // the one being answered
  bool proxy = false;                        // it came in a 407
  Millis backoff{0};
  TimePoint expires_at{};  // Registered: when the carrier's binding lapses
  Timer timer;             // refresh or retry
};

TrunkRegistrations::TrunkRegistrations(TimerService& timers, transport::Transport& transport,
                                       sip::TransactionLayer& layer, NewCallId new_call_id,
                                       std::string version)
    : timers_(timers),
      transport_(transport),
      layer_(layer),
      new_call_id_(std::move(new_call_id)),
      version_(std::move(version)) {}

TrunkRegistrations::~TrunkRegistrations() = default;

void TrunkRegistrations::apply(const policy::PolicySnapshot& policy) {
  user_agent_ = policy::product_token(policy.headers, version_);
  if (stopping_) {
    return;
  }
  std::map<std::string, const policy::Trunk*> wanted;
  for (const auto& t : policy.trunks) {
    if (t.registration) {
      wanted[t.name] = &t;
    }
  }
  // Gone or changed: unregister what the carrier holds, then forget.
  for (auto it = active_.begin(); it != active_.end();) {
    const auto w = wanted.find(it->first);
    const bool keep = w != wanted.end() && w->second->realm == it->second->realm &&
                      w->second->transport == it->second->protocol &&
                      same_registration(*w->second->registration, it->second->cfg);
    if (keep) {
      it->second->cfg = *w->second->registration;  // retry bounds may have changed
      ++it;
      continue;
    }
    log::info("trunk_registration.policy_changed",
              {{"trunk", it->first}, {"change", w == wanted.end() ? "removed" : "changed"}});
    start_leaving(std::move(it->second));
    it = active_.erase(it);
  }
  for (const auto& [name, t] : wanted) {
    if (active_.contains(name)) {
      continue;
    }
    auto e = std::make_unique<Entry>();
    e->trunk = name;
    e->realm = t->realm;
    e->protocol = t->transport;
    e->cfg = *t->registration;
    split_aor(e->cfg.aor, e->user, e->domain);
    if (e->user.empty()) {
      e->user = e->cfg.credentials.username;
    }
    e->call_id = new_call_id_();
    e->from_tag = random_token(16);
    e->asked = e->cfg.expires;
    e->backoff = e->cfg.retry_min;
    e->timer.bind(timers_);
    Entry& ref = *e;
    active_.emplace(name, std::move(e));
    // The same contact is being unregistered (a changed block): register once that is done,
    // so the carrier never applies the removal after the new binding.
    const std::string& trunk = name;  // a structured binding: clang 14 cannot capture it
    const bool unregistering = std::any_of(leaving_.begin(), leaving_.end(),
                                           [&](const auto& l) { return l->trunk == trunk; });
    if (!unregistering) {
      send(ref, false);
    }
  }
}

void TrunkRegistrations::unregister_all() {
  stopping_ = true;
  for (auto& [name, e] : active_) {
    start_leaving(std::move(e));
  }
  active_.clear();
}

void TrunkRegistrations::start_leaving(std::unique_ptr<Entry> e) {
  e->timer.cancel();
  if (e->state != kRegistered && e->txn == 0) {
    set_state(*e, kUnregistered, "removed", 0);
    return;  // the carrier holds nothing of ours
  }
  e->leaving = true;
  e->challenges = 0;
  Entry& ref = *e;
  leaving_.push_back(std::move(e));
  if (ref.txn == 0) {
    send(ref, false);
  }  // else: sent as soon as the REGISTER in flight is answered
}

TrunkRegistrations::Entry* TrunkRegistrations::by_txn(sip::TxnId txn) {
  if (txn == 0) {
    return nullptr;
  }
  for (auto& [name, e] : active_) {
    if (e->txn == txn) {
      return e.get();
    }
  }
  for (auto& e : leaving_) {
    if (e->txn == txn) {
      return e.get();
    }
  }
  return nullptr;
}

void TrunkRegistrations::forget(Entry& e) {
  const std::string trunk = e.trunk;
  std::erase_if(leaving_, [&](const std::unique_ptr<Entry>& p) { return p.get() == &e; });
  // A new registration of the trunk waiting for this unregistration starts now.
  const auto it = active_.find(trunk);
  if (it != active_.end() && it->second->state == kUnregistered && it->second->txn == 0 &&
      !it->second->timer.armed()) {
    send(*it->second, false);
  }
}

void TrunkRegistrations::count(const Entry& e, TrunkRegisterResult r) { ++attempts_[{e.trunk, r}]; }

void TrunkRegistrations::send(Entry& e, bool with_credentials) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(e.cfg.registrar_host, ec);
  std::string host;
  std::uint16_t port = 0;
  if (ec || !transport_.local_address(e.realm, e.protocol, address.is_v6(), host, port)) {
    failed(e, TrunkRegisterResult::TransportError, "no_listener", 503);
    return;
  }
  const transport::Destination dst{
      e.realm, e.protocol, transport::Endpoint{address, e.cfg.registrar_port}, {}};
  const std::string local = bracketed(host) + ":" + std::to_string(port);
  std::string contact = "sip:" + e.user + "@" + local;
  if (e.protocol != transport::Protocol::Udp) {
    contact += ";transport=" + std::string(transport::to_string(e.protocol));
  }
  const std::string ruri = "sip:" + e.domain;
  ++e.cseq;
  auto m = sip::MessageBuilder::request("REGISTER", ruri);
  m.header("Via", "SIP/2.0/" + std::string(transport::via_token(e.protocol)) + " " + local +
                      ";branch=z9hG4bK" + random_token(20) + ";rport");
  m.header("Max-Forwards", "70");
  m.header("From", "<" + e.cfg.aor + ">;tag=" + e.from_tag);
  m.header("To", "<" + e.cfg.aor + ">");
  m.header("Call-ID", e.call_id);
  m.header("CSeq", std::to_string(e.cseq) + " REGISTER");
  m.header("Contact", "<" + contact + ">");
  m.header("Expires", e.leaving ? "0" : std::to_string(e.asked.count() / 1000));
  if (with_credentials && e.challenge) {
    const std::string cnonce = auth::new_cnonce();
    const auth::ClientRequest r{
        e.cfg.credentials.username, e.cfg.credentials.password, "REGISTER", ruri, 1, cnonce};
    m.header(e.proxy ? "Proxy-Authorization" : "Authorization",
             auth::authorization(*e.challenge, r));
  }
  if (!user_agent_.empty()) {
    m.header("User-Agent", user_agent_);
  }
  e.unregister_sent = e.leaving;
  if (!e.leaving && e.state != kRegistered) {
    set_state(e, kRegistering, with_credentials ? "challenged" : "sending", 0);
  }
  e.txn = layer_.send_request(m.build(), dst);
}

bool TrunkRegistrations::on_response(sip::TxnId txn, const sip::Message& resp) {
  Entry* e = by_txn(txn);
  if (e == nullptr) {
    return false;
  }
  if (resp.status() >= 200) {
    e->txn = 0;
    answered(*e, resp);
  }
  return true;
}

bool TrunkRegistrations::on_client_failure(sip::TxnId txn, int status) {
  Entry* e = by_txn(txn);
  if (e == nullptr) {
    return false;
  }
  e->txn = 0;
  failed(*e, status == 408 ? TrunkRegisterResult::Timeout : TrunkRegisterResult::TransportError,
         status == 408 ? "timeout" : "transport_error", status);
  return true;
}

void TrunkRegistrations::answered(Entry& e, const sip::Message& resp) {
  const int status = resp.status();
  if (e.leaving && !e.unregister_sent) {
    // A REGISTER that was in flight when the trunk was removed: now the Expires: 0.
    e.challenges = 0;
    send(e, false);
    return;
  }
  if (status == 401 || status == 407) {
    auto c = auth::best_challenge(challenges(resp));
    if (!c) {
      failed(e, TrunkRegisterResult::Refused, "unsupported_challenge", status);
      return;
    }
    if (!e.cfg.credentials.realm.empty() && c->realm != e.cfg.credentials.realm) {
      failed(e, TrunkRegisterResult::AuthFailed, "realm_mismatch", status);
      return;
    }
    // Our credentials were refused unless the carrier says only the nonce went stale (RFC
    // 7616 §3.3), and then once: a carrier that keeps saying stale is refusing too.
    const bool again_ok = e.challenges == 1 && c->stale && c->nonce != e.last_nonce;
    if (e.challenges > 0 && !again_ok) {
      failed(e, TrunkRegisterResult::AuthFailed, "auth_failed", status);
      return;
    }
    ++e.challenges;
    e.last_nonce = c->nonce;
    e.challenge = std::move(c);
    e.proxy = status == 407;
    count(e, TrunkRegisterResult::Challenged);
    send(e, true);
    return;
  }
  if (status == 423 && !e.leaving) {
    const auto min = resp.header("Min-Expires");
    const std::int64_t secs =
        min ? static_cast<std::int64_t>(parse_uint(trim(*min), 86400).value_or(0)) : 0;
    count(e, TrunkRegisterResult::IntervalTooBrief);
    if (secs == 0 || Millis{secs * 1000} <= e.asked || ++e.interval_retries > kMaxIntervalRetries) {
      failed(e, TrunkRegisterResult::Refused, "interval_too_brief", status);
      return;
    }
    log::info("trunk_registration.interval_raised",
              {{"trunk", e.trunk}, {"asked", e.asked.count() / 1000}, {"min_expires", secs}});
    e.asked = Millis{secs * 1000};
    e.challenges = 0;
    send(e, false);
    return;
  }
  if (status >= 300) {
    failed(e, TrunkRegisterResult::Refused, "refused", status);
    return;
  }
  if (e.leaving) {
    count(e, TrunkRegisterResult::Unregistered);
    set_state(e, kUnregistered, "unregistered", status);
    forget(e);  // e is gone
    return;
  }
  registered_ok(e, resp);
}

void TrunkRegistrations::registered_ok(Entry& e, const sip::Message& resp) {
  const Millis got = std::max(Millis{1000}, granted(resp, e.user, e.asked));
  e.expires_at = timers_.now() + got;
  count(e, TrunkRegisterResult::Registered);
  e.challenges = 0;
  e.interval_retries = 0;
  e.backoff = e.cfg.retry_min;
  if (e.state != kRegistered) {
    set_state(e, kRegistered, "registered", resp.status());
  }
  log::debug("trunk_registration.refreshed", {{"trunk", e.trunk}, {"expires", got.count() / 1000}});
  // Refresh well before expiry: at the lesser of half the grant and 30 s before its end; a
  // grant so short that 30 s ahead is in its first quarter is refreshed at half.
  const Millis early = got - kRefreshMargin;
  const Millis at = std::max(Millis{1000}, early >= got / 4 ? std::min(got / 2, early) : got / 2);
  Entry* p = &e;
  e.timer.start(at, [this, p] {
    p->timer.fired();
    p->challenges = 0;
    send(*p, false);
  });
}

void TrunkRegistrations::failed(Entry& e, TrunkRegisterResult result, std::string reason,
                                int status) {
  count(e, result);
  if (e.leaving) {
    log::warn("trunk_registration.unregister_failed",
              {{"trunk", e.trunk}, {"reason", reason}, {"status", status}});
    set_state(e, kUnregistered, reason, status);
    forget(e);  // e is gone: the carrier's binding lapses at its own expiry
    return;
  }
  e.challenges = 0;
  e.challenge.reset();
  Millis wait = e.backoff;
  e.backoff = std::min(e.cfg.retry_max, e.backoff * 2);
  const TimePoint now = timers_.now();
  if (e.state == kRegistered && now < e.expires_at) {
    // A failed refresh: the carrier still holds the binding until it lapses, so the state
    // stays registered; retried before then, and a failure after it is a failure.
    log::warn("trunk_registration.refresh_failed",
              {{"trunk", e.trunk}, {"reason", reason}, {"status", status}});
    const auto left = std::chrono::duration_cast<Millis>(e.expires_at - now);
    wait = std::max(Millis{1000}, std::min(wait, left / 2));
  } else {
    set_state(e, kFailed, reason, status);
  }
  log::info("trunk_registration.retry", {{"trunk", e.trunk}, {"in_ms", wait.count()}});
  Entry* p = &e;
  e.timer.start(wait, [this, p] {
    p->timer.fired();
    send(*p, false);
  });
}

void TrunkRegistrations::set_state(Entry& e, int state, const std::string& reason, int status) {
  const int before = e.state;
  e.state = state;
  if (before == state && state != kFailed) {
    return;
  }
  // One line per change; a failure repeated while retrying logs again (its reason may differ).
  log::write(state == kFailed ? log::Level::Warn : log::Level::Info, "trunk_registration.state",
             {{"trunk", e.trunk},
              {"state", state_name(state)},
              {"previous", state_name(before)},
              {"reason", reason},
              {"status", status},
              {"registrar", e.cfg.registrar_host},
              {"aor", e.cfg.aor}});
}

TrunkRegistrationStats TrunkRegistrations::stats() const {
  TrunkRegistrationStats s;
  for (const auto& [name, e] : active_) {
    s.registered[name] = e->state == kRegistered;
  }
  s.attempts = attempts_;
  return s;
}

bool TrunkRegistrations::registered(const std::string& trunk) const {
  const auto it = active_.find(trunk);
  return it != active_.end() && it->second->state == kRegistered;
}

}  // namespace portico::registrar
