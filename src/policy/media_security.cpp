// Media security of realms, trunks and access peers: `media_security` and `srtp_suites`, and
// how a leg's setting is resolved (see model.hpp, docs/policies.md#media-security).

#include <algorithm>

#include "policy_draft.hpp"

namespace portico::policy {

std::string_view to_string(MediaSecurity m) {
  switch (m) {
    case MediaSecurity::Rtp:
      return "rtp";
    case MediaSecurity::Srtp:
      return "srtp";
    case MediaSecurity::Optional:
      return "optional";
  }
  return "rtp";
}

MediaSecurity default_media_security(Protocol transport) {
  return transport == Protocol::Tls ? MediaSecurity::Srtp : MediaSecurity::Rtp;
}

const std::vector<SrtpSuite>& default_srtp_suites() {
  static const std::vector<SrtpSuite> suites(kAllSrtpSuites.begin(), kAllSrtpSuites.end());
  return suites;
}

LegMediaSecurity media_security_for(const PolicySnapshot& policy, const std::string& realm,
                                    const std::string& peer, Protocol transport) {
  const MediaSecuritySetting* peer_setting = nullptr;
  if (const Trunk* t = policy.find_trunk(peer); t != nullptr && t->realm == realm) {
    peer_setting = &t->security;
  } else if (const AccessPeer* a = policy.find_access_peer(peer);
             a != nullptr && a->realm == realm) {
    peer_setting = &a->security;
  }
  const Realm* r = policy.find_realm(realm);
  const MediaSecuritySetting* realm_setting = r != nullptr ? &r->security : nullptr;
  LegMediaSecurity out;
  out.mode = default_media_security(transport);
  out.suites = default_srtp_suites();
  for (const MediaSecuritySetting* s : {realm_setting, peer_setting}) {  // most specific last
    if (s == nullptr) {
      continue;
    }
    if (s->mode) {
      out.mode = *s->mode;
    }
    if (!s->suites.empty()) {
      out.suites = s->suites;
    }
  }
  return out;
}

namespace detail {

void parse_media_security(const Reader& r, const FieldMap& m, MediaSecuritySetting& out) {
  if (const Field* f = find(m, "media_security")) {
    if (const auto v = r.string(*f)) {
      if (*v == "rtp") {
        out.mode = MediaSecurity::Rtp;
      } else if (*v == "srtp") {
        out.mode = MediaSecurity::Srtp;
      } else if (*v == "optional") {
        out.mode = MediaSecurity::Optional;
      } else {
        r.error(*f, quote(*v) + " is not a media security (rtp, srtp or optional)");
      }
    }
  }
  if (const Field* f = find(m, "srtp_suites")) {
    const auto items = r.list(*f);
    if (!items) {
      return;
    }
    if (items->empty()) {
      r.error(*f, "lists no suite (leave srtp_suites out for the default)");
    }
    for (const Field& item : *items) {
      const auto name = r.string(item);
      if (!name) {
        continue;
      }
      const auto suite = srtp_suite_from_name(*name);
      if (!suite) {
        r.error(item, quote(*name) +
                          " is not an SRTP suite (AES_CM_128_HMAC_SHA1_80, "
                          "AES_CM_128_HMAC_SHA1_32, AES_256_CM_HMAC_SHA1_80, AEAD_AES_128_GCM, "
                          "AEAD_AES_256_GCM)");
        continue;
      }
      if (std::find(out.suites.begin(), out.suites.end(), *suite) != out.suites.end()) {
        r.error(item, quote(*name) + " is listed twice");
        continue;
      }
      out.suites.push_back(*suite);
    }
  }
}

}  // namespace detail
}  // namespace portico::policy
