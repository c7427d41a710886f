#include "portico/auth/digest_authenticator.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "portico/common/random.hpp"
#include "portico/common/strings.hpp"

namespace portico::auth {
namespace {

bool same_hex(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

DigestAuthenticator::DigestAuthenticator(Millis nonce_lifetime, std::size_t tracked_nonces)
    : nonces_(nonce_lifetime, tracked_nonces),
      decoy_ha1_(hash_hex(Algorithm::Sha256, random_token(32))) {}

DigestAuthenticator::Result DigestAuthenticator::check(std::string_view method,
                                                       std::string_view realm,
                                                       const std::vector<std::string>& values,
                                                       const Ha1Lookup& lookup,
                                                       const asio::ip::address& source,
                                                       TimePoint now, const Algorithms& offered) {
  for (const auto& v : values) {
    const auto c = parse_credentials(v);
    if (!c || c->realm != realm) {
      continue;  // another realm's (a proxy on the way), or not digest
    }
    if (std::find(offered.begin(), offered.end(), c->algorithm) == offered.end()) {
      return {Outcome::Missing, {}};  // an algorithm not offered: offer the right ones again
    }
    // RFC 7616 §3.4: qop=auth is what Portico offers; without it there is no nonce-count to
    // stop a replay, so such credentials are answered with a new challenge.
    if (c->qop.empty()) {
      return fail(source);
    }
    switch (nonces_.check(c->nonce, c->nc_value, now)) {
      case NonceBook::Use::Unknown:
      case NonceBook::Use::Stale:
        ++stats_.stale;
        return {Outcome::Stale, {}};
      case NonceBook::Use::Replayed:
        ++stats_.replayed;
        return fail(source);
      case NonceBook::Use::Fresh:
        break;
    }
    const std::string* ha1 = lookup(c->username, c->realm, c->algorithm);
    std::string decoy;
    if (ha1 == nullptr) {
      decoy = c->algorithm == Algorithm::Md5 ? decoy_ha1_.substr(0, 32) : decoy_ha1_;
    }
    const std::string expected = expected_response(*c, ha1 != nullptr ? *ha1 : decoy, method);
    if (ha1 == nullptr || !same_hex(expected, c->response)) {
      return fail(source);
    }
    nonces_.accept(c->nonce, c->nc_value, now);
    ++stats_.successes;
    return {Outcome::Authenticated, c->username};
  }
  return {Outcome::Missing, {}};
}

DigestAuthenticator::Result DigestAuthenticator::fail(const asio::ip::address& source) {
  ++stats_.failures;
  if (on_failure_) {
    on_failure_(source);
  }
  return {Outcome::Failed, {}};
}

const DigestAuthenticator::Algorithms& DigestAuthenticator::default_algorithms() {
  static const Algorithms kDefault{Algorithm::Sha256, Algorithm::Md5};
  return kDefault;
}

std::string DigestAuthenticator::challenge(std::string_view header, std::string_view realm,
                                           bool stale, TimePoint now, const Algorithms& offered) {
  ++stats_.challenges;
  const std::string nonce = nonces_.issue(now);
  std::string out;
  for (const Algorithm a : offered) {
    out.append(header).append(": Digest realm=\"").append(realm).append("\", nonce=\"");
    out.append(nonce).append("\", algorithm=").append(to_string(a)).append(", qop=\"auth\"");
    if (stale) {
      out.append(", stale=true");
    }
    out.append("\r\n");
  }
  return out;
}

}  // namespace portico::auth
