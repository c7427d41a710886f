// SDES SRTP negotiation of one call (see srtp_media.hpp, docs/srtp.md).

#include "portico/b2bua/srtp_media.hpp"

#include <algorithm>

#include "portico/common/log.hpp"
#include "portico/common/random.hpp"
#include "portico/common/strings.hpp"
#include "portico/sdp/crypto.hpp"

namespace portico::b2bua {
namespace {

const char* side_name(Side s) { return s == Side::A ? "caller" : "callee"; }

bool allowed(const policy::LegMediaSecurity& sec, SrtpSuite s) {
  return std::find(sec.suites.begin(), sec.suites.end(), s) != sec.suites.end();
}

media::SrtpKey key_of(const sdp::CryptoAttribute& c) {
  return media::SrtpKey{*c.suite, c.key_salt, c.mki_value, c.mki_length};
}

/// The SrtpMedia reason of an a=crypto parse error.
std::string reason_of(const std::string& crypto_reason) {
  if (crypto_reason == "crypto_unsupported_lifetime") {
    return "srtp_unsupported_lifetime";
  }
  if (crypto_reason == "crypto_unsupported_mki") {
    return "srtp_unsupported_mki";
  }
  return "srtp_malformed_crypto";
}

}  // namespace

std::string srtp_warning(const std::string& reason, const std::string& host) {
  const char* text = nullptr;
  if (reason == "srtp_no_usable_crypto") {
    text = "SRTP required: no usable a=crypto (SDES) line";
  } else if (reason == "srtp_malformed_crypto") {
    text = "malformed a=crypto line";
  } else if (reason == "srtp_unsupported_lifetime") {
    text = "a=crypto key lifetime not supported";
  } else if (reason == "srtp_unsupported_mki") {
    text = "a=crypto MKI not supported";
  }
  if (text == nullptr) {
    return {};
  }
  return "Warning: 399 " + (host.empty() ? std::string("-") : host) + " \"" + text + "\"\r\n";
}

void SrtpMedia::set_leg(Side s, policy::LegMediaSecurity security) {
  const std::size_t i = index_of(s);
  for (auto& k : legs_[i].own_keys) {
    std::fill(k.begin(), k.end(), 0);
    k.clear();
  }
  legs_[i].security = std::move(security);
  for (StreamState& st : streams_) {
    st.offer_crypto[i].reset();
    st.offer_proto[i].clear();
    st.offered_to[i].clear();
    st.peer_key[i].reset();
    st.own_suite[i].reset();
  }
}

bool SrtpMedia::secure(Side s) const {
  return std::any_of(streams_.begin(), streams_.end(),
                     [s](const StreamState& st) { return st.applied[index_of(s)].secure(); });
}

const std::vector<std::uint8_t>& SrtpMedia::own_key(Side s, SrtpSuite suite) {
  auto& key = legs_[index_of(s)].own_keys[static_cast<std::size_t>(suite)];
  if (key.empty()) {
    key.resize(srtp_key_length(suite) + srtp_salt_length(suite));
    random_bytes(std::as_writable_bytes(std::span(key)));  // the kernel CSPRNG
  }
  return key;
}

Error SrtpMedia::refuse(Side s, Error e) {
  if (e.reason == "srtp_no_usable_crypto") {
    ++stats_.srtp_no_usable_crypto;
  } else if (e.reason == "srtp_unsupported_lifetime") {
    ++stats_.srtp_unsupported_lifetime;
  } else if (e.reason == "srtp_unsupported_mki") {
    ++stats_.srtp_unsupported_mki;
  } else {
    ++stats_.srtp_malformed_crypto;
  }
  // The detail names the problem, never the key (parse errors do not quote key material).
  log::warn("media.srtp_refused",
            {{"call", log_id_},
             {"side", side_name(s)},
             {"media_security", policy::to_string(legs_[index_of(s)].security.mode)},
             {"reason", e.reason},
             {"detail", e.detail}});
  return e;
}

std::optional<Error> SrtpMedia::rewrite(Side from, SdpRole role, std::size_t index, sdp::Media& m) {
  if (streams_.size() <= index) {
    streams_.resize(index + 1);
  }
  StreamState& st = streams_[index];
  const Side to = other(from);
  if (role == SdpRole::Offer) {
    if (auto err = take_offer(from, st, m)) {
      return refuse(from, std::move(*err));
    }
    write_offer(to, st, m);
  } else {
    if (auto err = take_answer(from, st, m)) {
      return refuse(from, std::move(*err));
    }
    write_answer(to, st, m);
  }
  return std::nullopt;
}

std::optional<Error> SrtpMedia::take_offer(Side from, StreamState& st, const sdp::Media& m) {
  const std::size_t f = index_of(from);
  const policy::LegMediaSecurity& sec = legs_[f].security;
  st.offer_proto[f] = m.proto;
  st.offer_crypto[f].reset();
  const bool savp = sdp::is_savp(m.proto);
  if (sec.mode == policy::MediaSecurity::Rtp && !savp) {
    return std::nullopt;  // plain leg: a=crypto on RTP/AVP is ignored (and not relayed)
  }
  // An RTP/SAVP offer is taken as SRTP even where the policy says rtp: it cannot be answered
  // with plain RTP (RFC 3264 §6: the answer keeps the offer's transport).
  std::optional<Error> skipped;  // the last usable-looking line refused for lifetime or MKI
  for (const sdp::Attribute& a : m.attributes) {
    if (!iequals(a.name, "crypto")) {
      continue;
    }
    auto c = sdp::parse_crypto(a.value.value_or(""));
    if (!c) {
      const std::string reason = reason_of(c.error().reason);
      if (reason == "srtp_malformed_crypto") {
        return Error{reason, "the offer's a=crypto is malformed: " + c.error().detail};
      }
      skipped = Error{reason, c.error().detail};
      continue;
    }
    if (!c->suite || !allowed(sec, *c->suite) || st.offer_crypto[f]) {
      continue;  // the offerer's order among the suites the policy allows (RFC 4568 §7.1.1)
    }
    st.offer_crypto[f] = std::move(c).value();
  }
  if (st.offer_crypto[f] || (!savp && sec.mode == policy::MediaSecurity::Optional)) {
    return std::nullopt;
  }
  if (skipped) {
    return skipped;
  }
  return Error{"srtp_no_usable_crypto",
               savp ? "the RTP/SAVP offer has no a=crypto with a suite the policy allows"
                    : "media_security srtp, and the offer has no a=crypto line"};
}

void SrtpMedia::write_offer(Side to, StreamState& st, sdp::Media& m) {
  const std::size_t t = index_of(to);
  const policy::LegMediaSecurity& sec = legs_[t].security;
  sdp::remove_attributes(m.attributes, "crypto");
  st.offered_to[t].clear();
  if (sec.mode == policy::MediaSecurity::Rtp) {
    m.proto = sdp::plain_profile(m.proto);
    return;
  }
  m.proto = sec.mode == policy::MediaSecurity::Srtp ? sdp::secure_profile(m.proto)
                                                    : sdp::plain_profile(m.proto);
  std::uint32_t tag = 0;
  for (SrtpSuite suite : sec.suites) {
    st.offered_to[t].push_back(Offered{++tag, suite});
    m.attributes.push_back({"crypto", sdp::format_crypto(tag, suite, own_key(to, suite))});
  }
}

std::optional<Error> SrtpMedia::take_answer(Side from, StreamState& st, const sdp::Media& m) {
  const std::size_t f = index_of(from);
  st.peer_key[f].reset();
  st.own_suite[f].reset();
  if (st.offered_to[f].empty()) {
    return std::nullopt;  // Portico offered plain RTP: any a=crypto in the answer is ignored
  }
  std::optional<Error> refused;
  for (const sdp::Attribute& a : m.attributes) {
    if (!iequals(a.name, "crypto")) {
      continue;
    }
    auto c = sdp::parse_crypto(a.value.value_or(""));
    if (!c) {
      return Error{reason_of(c.error().reason), "the answer's a=crypto: " + c.error().detail};
    }
    // RFC 4568 §7.1.2: the answer echoes the tag and suite of one offered line.
    const auto offered = std::find_if(
        st.offered_to[f].begin(), st.offered_to[f].end(),
        [&](const Offered& o) { return o.tag == c->tag && c->suite && o.suite == *c->suite; });
    if (offered == st.offered_to[f].end()) {
      refused =
          Error{"srtp_no_usable_crypto", "the answer's a=crypto:" + std::to_string(c->tag) + " " +
                                             c->suite_name + " matches no line Portico offered"};
      continue;
    }
    st.peer_key[f] = key_of(*c);
    st.own_suite[f] = offered->suite;
    return std::nullopt;
  }
  if (refused) {
    return refused;
  }
  if (legs_[f].security.mode == policy::MediaSecurity::Optional && !sdp::is_savp(m.proto)) {
    return std::nullopt;  // best effort: plain RTP accepted
  }
  return Error{"srtp_no_usable_crypto", "media_security srtp, and the answer has no a=crypto"};
}

void SrtpMedia::write_answer(Side to, StreamState& st, sdp::Media& m) {
  const std::size_t t = index_of(to);
  sdp::remove_attributes(m.attributes, "crypto");
  st.peer_key[t].reset();
  st.own_suite[t].reset();
  if (!st.offer_proto[t].empty()) {
    m.proto = st.offer_proto[t];  // the answer keeps the offer's profile (RFC 3264 §6)
  }
  const auto& chosen = st.offer_crypto[t];
  if (!chosen) {
    m.proto = sdp::plain_profile(m.proto);
    return;
  }
  st.peer_key[t] = key_of(*chosen);
  st.own_suite[t] = *chosen->suite;
  m.attributes.push_back(
      {"crypto", sdp::format_crypto(chosen->tag, *chosen->suite, own_key(to, *chosen->suite))});
}

void SrtpMedia::install(std::size_t index, media::RelayStream& stream) {
  if (index >= streams_.size()) {
    return;
  }
  StreamState& st = streams_[index];
  std::array<media::SrtpLeg, 2> legs{};
  for (Side s : {Side::A, Side::B}) {
    const std::size_t i = index_of(s);
    if (st.peer_key[i] && st.own_suite[i]) {
      legs[i].inbound = st.peer_key[i];
      legs[i].outbound = media::SrtpKey{*st.own_suite[i], own_key(s, *st.own_suite[i])};
    }
  }
  if (st.installed_on == &stream && legs == st.applied) {
    return;  // nothing changed: the running contexts (ROC, replay window) stay as they are
  }
  const bool any = legs[0].secure() || legs[1].secure();
  if (!any) {
    if (st.installed_on == &stream) {
      stream.set_transform(nullptr);
    }
    st.applied = legs;
    st.installed_on = &stream;
    return;
  }
  auto t = media::make_srtp_transform(legs[0], legs[1]);
  if (!t) {
    log::error("media.srtp_setup", {{"call", log_id_},
                                    {"stream", index},
                                    {"reason", t.error().reason},
                                    {"detail", t.error().detail}});
    return;
  }
  for (Side s : {Side::A, Side::B}) {
    const std::size_t i = index_of(s);
    if (legs[i].secure() && !(st.installed_on == &stream && st.applied[i].secure())) {
      ++stats_.srtp_legs;
    }
  }
  stream.set_transform(std::move(t).value());
  log::info("media.srtp",
            {{"call", log_id_},
             {"stream", index},
             {"caller", legs[0].secure() ? to_string(legs[0].inbound->suite) : "rtp"},
             {"callee", legs[1].secure() ? to_string(legs[1].inbound->suite) : "rtp"}});
  st.applied = std::move(legs);
  st.installed_on = &stream;
}

}  // namespace portico::b2bua
