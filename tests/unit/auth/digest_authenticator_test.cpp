// Nonces (expiry, replay, bounded state) and the authenticator's answers: the same for an
// unknown user as for a wrong password, and every failure reported once.

#include "portico/auth/digest_authenticator.hpp"

#include <gtest/gtest.h>

#include <map>

namespace portico::auth {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

// What a phone sends back for a challenge.
std::string answer(const std::string& challenge, const std::string& user,
                   const std::string& password, Algorithm a, const std::string& nc,
                   const std::string& method = "REGISTER",
                   const std::string& uri = "sip:corp.example") {
  const auto n0 = challenge.find("nonce=\"") + 7;
  const std::string nonce = challenge.substr(n0, challenge.find('"', n0) - n0);
  Credentials c;
  c.username = user;
  c.realm = "corp.example";
  c.nonce = nonce;
  c.uri = uri;
  c.algorithm = a;
  c.qop = "auth";
  c.nc = nc;
  c.cnonce = "0a4f113b";
  const std::string r = expected_response(c, ha1(a, user, c.realm, password), method);
  return "Digest username=\"" + user + "\", realm=\"corp.example\", nonce=\"" + nonce +
         "\", uri=\"" + uri + "\", response=\"" + r + "\", algorithm=" + to_string(a) +
         ", qop=auth, nc=" + nc + ", cnonce=\"0a4f113b\"";
}

class DigestAuthenticatorTest : public ::testing::Test {
 protected:
  DigestAuthenticatorTest() {
    users_["alice"] = {ha1(Algorithm::Md5, "alice", "corp.example", "secret"),
                       ha1(Algorithm::Sha256, "alice", "corp.example", "secret")};
    lookup_ = [this](std::string_view user, std::string_view realm,
                     Algorithm a) -> const std::string* {
      auto it = users_.find(std::string(user));
      if (realm != "corp.example" || it == users_.end()) {
        return nullptr;
      }
      return a == Algorithm::Md5 ? &it->second.first : &it->second.second;
    };
    auth_.set_failure_hook([this](const asio::ip::address& a) { failed_from_.push_back(a); });
  }

  DigestAuthenticator::Outcome check(const std::string& value, TimePoint now = kT0,
                                     const std::string& method = "REGISTER") {
    return auth_.check(method, "corp.example", {value}, lookup_, source_, now).outcome;
  }

  std::map<std::string, std::pair<std::string, std::string>> users_;
  DigestAuthenticator::Ha1Lookup lookup_;
  DigestAuthenticator auth_;
  asio::ip::address source_ = asio::ip::make_address("192.0.2.9");
  std::vector<asio::ip::address> failed_from_;
};

TEST_F(DigestAuthenticatorTest, ChallengeOffersSha256ThenMd5WithOneNonce) {
  const std::string c = auth_.challenge("WWW-Authenticate", "corp.example", false, kT0);
  const auto sha = c.find("algorithm=SHA-256");
  const auto md5 = c.find("algorithm=MD5");
  ASSERT_NE(sha, std::string::npos);
  ASSERT_NE(md5, std::string::npos);
  EXPECT_LT(sha, md5);
  EXPECT_NE(c.find("WWW-Authenticate: Digest realm=\"corp.example\""), std::string::npos);
  EXPECT_NE(c.find("qop=\"auth\""), std::string::npos);
  EXPECT_EQ(c.find("stale"), std::string::npos);
  EXPECT_NE(auth_.challenge("Proxy-Authenticate", "corp.example", true, kT0).find("stale=true"),
            std::string::npos);
}

TEST_F(DigestAuthenticatorTest, RightPasswordBothAlgorithms) {
  for (const Algorithm a : {Algorithm::Sha256, Algorithm::Md5}) {
    const std::string c = auth_.challenge("WWW-Authenticate", "corp.example", false, kT0);
    const auto r = auth_.check("REGISTER", "corp.example",
                               {answer(c, "alice", "secret", a, "00000001")}, lookup_, source_,
                               kT0);
    EXPECT_EQ(r.outcome, DigestAuthenticator::Outcome::Authenticated);
    EXPECT_EQ(r.username, "alice");
  }
  EXPECT_EQ(auth_.stats().successes, 2u);
  EXPECT_TRUE(failed_from_.empty());
}

TEST_F(DigestAuthenticatorTest, UnknownUserAndWrongPasswordLookTheSame) {
  const std::string c = auth_.challenge("WWW-Authenticate", "corp.example", false, kT0);
  const auto wrong = check(answer(c, "alice", "guess", Algorithm::Md5, "00000001"));
  const auto unknown = check(answer(c, "mallory", "guess", Algorithm::Md5, "00000002"));
  EXPECT_EQ(wrong, DigestAuthenticator::Outcome::Failed);
  EXPECT_EQ(unknown, DigestAuthenticator::Outcome::Failed);
  EXPECT_EQ(auth_.stats().failures, 2u);
  ASSERT_EQ(failed_from_.size(), 2u);  // once per failed check, with the source
  EXPECT_EQ(failed_from_[0], source_);
}

TEST_F(DigestAuthenticatorTest, ReplayedNonceCountIsRefused) {
  const std::string c = auth_.challenge("WWW-Authenticate", "corp.example", false, kT0);
  const std::string first = answer(c, "alice", "secret", Algorithm::Sha256, "00000001");
  EXPECT_EQ(check(first), DigestAuthenticator::Outcome::Authenticated);
  EXPECT_EQ(check(first), DigestAuthenticator::Outcome::Failed);  // the same request again
  EXPECT_EQ(auth_.stats().replayed, 1u);
  EXPECT_EQ(check(answer(c, "alice", "secret", Algorithm::Sha256, "00000002")),
            DigestAuthenticator::Outcome::Authenticated);  // the next count is fine
}

TEST_F(DigestAuthenticatorTest, ExpiredForeignAndForgedNoncesAreStale) {
  const std::string c = auth_.challenge("WWW-Authenticate", "corp.example", false, kT0);
  const std::string late = answer(c, "alice", "secret", Algorithm::Md5, "00000001");
  EXPECT_EQ(check(late, kT0 + DigestAuthenticator::kNonceLifetime + seconds(1)),
            DigestAuthenticator::Outcome::Stale);
  DigestAuthenticator other;  // another shard: another key
  const std::string foreign = other.challenge("WWW-Authenticate", "corp.example", false, kT0);
  EXPECT_EQ(check(answer(foreign, "alice", "secret", Algorithm::Md5, "00000001")),
            DigestAuthenticator::Outcome::Stale);
  std::string forged = c;
  const auto n0 = forged.find("nonce=\"") + 7;
  forged[n0] = forged[n0] == '0' ? '1' : '0';
  EXPECT_EQ(check(answer(forged, "alice", "secret", Algorithm::Md5, "00000001")),
            DigestAuthenticator::Outcome::Stale);
  EXPECT_TRUE(failed_from_.empty());  // no password was tried
}

TEST_F(DigestAuthenticatorTest, MethodUriAndRealmAreCovered) {
  const std::string c = auth_.challenge("Proxy-Authenticate", "corp.example", false, kT0);
  EXPECT_EQ(
      check(answer(c, "alice", "secret", Algorithm::Md5, "00000001", "INVITE"), kT0, "REGISTER"),
      DigestAuthenticator::Outcome::Failed);
  // The uri is hashed: changing it after the fact fails ...
  std::string moved = answer(c, "alice", "secret", Algorithm::Md5, "00000002");
  moved.replace(moved.find("uri=\"sip:corp.example\""), 22, "uri=\"sip:other.example\"");
  EXPECT_EQ(check(moved), DigestAuthenticator::Outcome::Failed);
  // ... while one hashed as sent is accepted even when it is not the Request-URI (sipp hashes
  // sip:host:port).
  EXPECT_EQ(check(answer(c, "alice", "secret", Algorithm::Md5, "00000004", "REGISTER",
                         "sip:198.51.100.1:5060")),
            DigestAuthenticator::Outcome::Authenticated);
  std::string other_realm = answer(c, "alice", "secret", Algorithm::Md5, "00000003");
  other_realm.replace(other_realm.find("corp.example"), 12, "evil.example");
  EXPECT_EQ(check(other_realm), DigestAuthenticator::Outcome::Missing);
}

TEST(NonceBook, StateIsBoundedAndForgottenNoncesAreStale) {
  NonceBook book(seconds(300), 2);
  const std::string a = book.issue(kT0);
  const std::string b = book.issue(kT0 + seconds(1));
  const std::string c = book.issue(kT0 + seconds(2));
  const TimePoint now = kT0 + seconds(3);
  for (const auto& n : {a, b, c}) {
    ASSERT_EQ(book.check(n, 1, now), NonceBook::Use::Fresh);
    book.accept(n, 1, now);
  }
  EXPECT_EQ(book.tracked(), 2u);
  // a's count was dropped to make room: it must not be usable again (its nc=1 would replay).
  EXPECT_EQ(book.check(a, 1, now), NonceBook::Use::Stale);
  EXPECT_EQ(book.check(c, 1, now), NonceBook::Use::Replayed);
  EXPECT_EQ(book.check(c, 2, now), NonceBook::Use::Fresh);
  EXPECT_EQ(book.check("zz", 1, now), NonceBook::Use::Unknown);
}

}  // namespace
}  // namespace portico::auth
