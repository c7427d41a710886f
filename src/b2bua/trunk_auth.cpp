// Challenges from trunks on calls (RFC 3261 §22.2-22.3, RFC 7616 as a client): a 401/407 to a
// request Portico sent a trunk it has credentials for is answered once, by the same request
// with Authorization / Proxy-Authorization, a new branch and the next CSeq (same Call-ID and
// tags). The ACK for the 401/407 of an INVITE is the transaction layer's. The other leg sees
// nothing of it. Challenged again (bad credentials, or a stale nonce refused twice): logged
// `call.auth_failed` with the trunk, counted, and the attempt ends as a refusal (403). CANCEL
// is never challenged (§22.1) and never resent. The credentials are never logged: the
// request's bytes go out only through the transaction layer (whose trace redacts them).

#include <charconv>

#include "b2bua_impl.hpp"
#include "portico/auth/digest_client.hpp"
#include "portico/common/log.hpp"
#include "portico/common/strings.hpp"
#include "portico/sip/raw_headers.hpp"
#include "portico/sip/status_map.hpp"

namespace portico::b2bua {
namespace {

// The challenge values of `resp` as received (WWW-Authenticate for 401, Proxy-Authenticate
// for 407), unfolded.
std::vector<std::string> challenge_values(const sip::Message& resp) {
  return sip::raw_header_values(resp.raw(),
                                resp.status() == 407 ? "Proxy-Authenticate" : "WWW-Authenticate");
}

// The Request-URI of bytes Portico built ("METHOD uri SIP/2.0\r\n...").
std::string_view request_uri_of(std::string_view bytes) {
  const auto sp = bytes.find(' ');
  const auto end = bytes.find(' ', sp + 1);
  if (sp == std::string_view::npos || end == std::string_view::npos) {
    return {};
  }
  return bytes.substr(sp + 1, end - sp - 1);
}

std::string_view method_of(std::string_view bytes) { return bytes.substr(0, bytes.find(' ')); }

}  // namespace

std::optional<std::string> with_credentials(std::string_view bytes, std::string_view branch,
                                            std::uint32_t cseq, std::string_view auth_line) {
  const auto headers_end = bytes.find("\r\n\r\n");
  const auto via = bytes.find("\r\nVia: ");
  const auto cseq_at = bytes.find("\r\nCSeq: ");
  if (headers_end == std::string_view::npos || via == std::string_view::npos ||
      cseq_at == std::string_view::npos || via > headers_end || cseq_at > headers_end) {
    return std::nullopt;
  }
  const auto via_end = bytes.find("\r\n", via + 2);
  const auto b = bytes.find(";branch=", via);
  if (b == std::string_view::npos || b > via_end) {
    return std::nullopt;
  }
  const auto b_value = b + 8;
  const auto b_end = std::min(bytes.find_first_of(";,\r", b_value), via_end);
  const auto n_at = cseq_at + 8;
  const auto n_end = bytes.find(' ', n_at);
  if (n_end == std::string_view::npos || n_end > headers_end) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(bytes.size() + auth_line.size() + 16);
  // Via comes before CSeq in every request Portico builds; check rather than assume.
  if (!(b_end < n_at)) {
    return std::nullopt;
  }
  out.append(bytes.substr(0, b_value)).append(branch);
  out.append(bytes.substr(b_end, n_at - b_end)).append(std::to_string(cseq));
  out.append(bytes.substr(n_end, headers_end + 2 - n_end));
  out.append(auth_line);
  out.append(bytes.substr(headers_end + 2));
  return out;
}

const policy::DigestSecret* B2bua::Impl::trunk_secret(const Call& call, Side s,
                                                      std::string& trunk) {
  const auto& policy = *call.plan.policy;
  const policy::Trunk* t = nullptr;
  if (s == Side::B) {
    if (call.target_index < call.plan.targets.size() &&
        call.plan.targets[call.target_index].kind == policy::PeerKind::Trunk) {
      t = policy.find_trunk(call.plan.targets[call.target_index].name);
    }
  } else if (!call.plan.source_peer.empty()) {
    t = policy.find_trunk(call.plan.source_peer);  // a call from the trunk: our BYE to it
  }
  if (t == nullptr) {
    return nullptr;
  }
  trunk = t->name;
  if (t->auth) {
    return &*t->auth;
  }
  return t->registration ? &t->registration->credentials : nullptr;
}

bool B2bua::Impl::answer_challenge(B2bua& self, Call& call, const PendingRequest& p,
                                   const sip::Message& resp) {
  std::string trunk;
  const policy::DigestSecret* secret = trunk_secret(call, p.leg, trunk);
  if (secret == nullptr) {
    return false;
  }
  const std::string_view method = method_of(p.resend);
  if (p.kind == PendingRequest::Kind::InitialInvite && call.state == CallState::Ending) {
    return false;  // the caller went away meanwhile: nothing to resend
  }
  auto challenge = auth::best_challenge(challenge_values(resp));
  const char* why = nullptr;
  if (p.challenges > 0) {
    why = "challenged_again";  // our credentials were refused
  } else if (!challenge) {
    why = "unsupported_challenge";
  } else if (!secret->realm.empty() && challenge->realm != secret->realm) {
    why = "realm_mismatch";
  }
  if (why != nullptr) {
    ++self.stats_.trunk_auth[{trunk, "failed"}];
    log::warn("call.auth_failed", {{"call", call.log_id},
                                   {"trunk", trunk},
                                   {"method", method},
                                   {"status", resp.status()},
                                   {"reason", "auth_failed"},
                                   {"detail", why}});
    if (p.kind != PendingRequest::Kind::InitialInvite) {
      return false;  // handled as any failure of that request
    }
    Leg& b = call.leg(Side::B);
    b.invite_pending = false;
    call.timer_c.cancel();
    invite_failed(self, call, sip::rejection_status("auth_failed"), "auth_failed", nullptr);
    return true;
  }
  Leg& leg = call.leg(p.leg);
  const std::uint32_t cseq = ++leg.local_cseq;
  const std::string branch = new_branch();
  const std::string cnonce = auth::new_cnonce();
  const auth::ClientRequest r{
      secret->username, secret->password, method, request_uri_of(p.resend), 1, cnonce};
  const std::string line =
      std::string(resp.status() == 407 ? "Proxy-Authorization" : "Authorization") + ": " +
      auth::authorization(*challenge, r) + "\r\n";
  auto bytes = with_credentials(p.resend, branch, cseq, line);
  if (!bytes) {
    return false;
  }
  PendingRequest next = p;
  next.resend.clear();  // send_on_leg keeps the new bytes: a second challenge finds them
  next.challenges = p.challenges + 1;
  next.cseq = p.kind == PendingRequest::Kind::InitialInvite ? p.cseq : cseq;
  ++self.stats_.trunk_auth[{trunk, "answered"}];
  log::info(
      "call.auth_answered",
      {{"call", call.log_id}, {"trunk", trunk}, {"method", method}, {"status", resp.status()}});
  if (p.kind == PendingRequest::Kind::InitialInvite) {
    // The ACK of its 2xx and a CANCEL must name the INVITE as now sent.
    leg.invite_cseq = cseq;
    const auto at = leg.invite_via.find(";branch=");
    if (at != std::string::npos) {
      const auto end = leg.invite_via.find(';', at + 8);
      leg.invite_via.replace(at + 8, end == std::string::npos ? std::string::npos : end - at - 8,
                             branch);
    }
    leg.invite_pending = true;
    leg.invite_txn = send_on_leg(self, call, p.leg, std::move(*bytes), std::move(next));
    restart_timer_c(self, call);
  } else {
    send_on_leg(self, call, p.leg, std::move(*bytes), std::move(next));
  }
  return true;
}

}  // namespace portico::b2bua
