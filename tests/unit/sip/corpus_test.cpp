// RFC 4475 (SIP torture tests) and RFC 5118 (IPv6 torture tests) through parse() + validate().
// Expected outcomes follow RFC 4475 §3 and RFC 5118 §4 (see the corpus READMEs): every valid
// message is accepted; every message the RFC says must get a 400 (or be dropped) is rejected,
// with the reason token asserted so a rejection for the wrong cause fails the test. Messages
// that are odd only at the application layer (RFC 4475 §3.3: unknown Require, unknown
// Content-Type, Max-Forwards 0...) are syntactically valid and accepted here.
//
// Also a robustness sweep: every corpus message truncated at every 7th byte and with bytes
// mutated must parse or fail cleanly, never crash (run it under ASan for full value).

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "portico/sip/message.hpp"
#include "portico/sip/message_builder.hpp"

namespace portico::sip {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir(const std::string& name) {
  fs::path fixtures = fs::path(PORTICO_SOURCE_DIR) / "tests" / "fixtures" / name;
  if (fs::exists(fixtures)) {
    return fixtures;
  }
  return fs::path(PORTICO_SOURCE_DIR) / ".." / "shared" / "corpus" / name;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// "" = accept; otherwise the Error.reason of the parse or validate failure.
std::string outcome(const std::string& bytes) {
  auto r = Message::parse(bytes);
  if (!r.ok()) {
    return r.error().reason;
  }
  auto e = r->validate();
  return e ? e->reason : "";
}

struct Case {
  const char* dir;
  const char* file;
  const char* expected;  // "" accept, else the reason token
};

const Case kCases[] = {
    // RFC 4475 §3.1.1: valid messages.
    {"rfc4475", "wsinv.dat", ""},
    {"rfc4475", "intmeth.dat", ""},
    {"rfc4475", "esc01.dat", ""},
    {"rfc4475", "escnull.dat", ""},
    {"rfc4475", "esc02.dat", ""},
    {"rfc4475", "lwsdisp.dat", ""},
    {"rfc4475", "longreq.dat", ""},
    {"rfc4475", "dblreq.dat", ""},
    {"rfc4475", "semiuri.dat", ""},
    {"rfc4475", "transports.dat", ""},
    {"rfc4475", "mpart01.dat", ""},
    {"rfc4475", "unreason.dat", ""},
    {"rfc4475", "noreason.dat", ""},
    // RFC 4475 §3.1.2: invalid messages (400 or drop).
    {"rfc4475", "badinv01.dat", "unparseable"},
    {"rfc4475", "clerr.dat", "bad_content_length"},
    {"rfc4475", "ncl.dat", "bad_content_length"},
    {"rfc4475", "scalar02.dat", "bad_cseq"},
    {"rfc4475", "scalarlg.dat", "bad_cseq"},
    {"rfc4475", "quotbal.dat", "unparseable"},
    {"rfc4475", "ltgtruri.dat", "unparseable"},
    {"rfc4475", "lwsruri.dat", "unparseable"},
    {"rfc4475", "lwsstart.dat", "unparseable"},
    {"rfc4475", "trws.dat", "unparseable"},
    {"rfc4475", "escruri.dat", "bad_request_uri"},
    {"rfc4475", "baddate.dat", "bad_date"},
    {"rfc4475", "regbadct.dat", "bad_contact"},
    {"rfc4475", "badaspec.dat", "unparseable"},
    {"rfc4475", "baddn.dat", "unparseable"},
    {"rfc4475", "variants/baddn.ersip-with-final-crlf.dat", "unparseable"},
    {"rfc4475", "badvers.dat", "bad_sip_version"},
    {"rfc4475", "mismatch01.dat", "cseq_method_mismatch"},
    {"rfc4475", "mismatch02.dat", "cseq_method_mismatch"},
    {"rfc4475", "bigcode.dat", "bad_status"},
    // RFC 4475 §3.2 / §3.3 / §3.4.
    {"rfc4475", "badbranch.dat", ""},
    {"rfc4475", "insuf.dat", "missing_from"}  /* also lacks To, Call-ID */,
    {"rfc4475", "unkscm.dat", "unsupported_uri_scheme"},
    {"rfc4475", "novelsc.dat", "unparseable"},
    {"rfc4475", "unksm2.dat", ""},
    {"rfc4475", "bext01.dat", ""},
    {"rfc4475", "invut.dat", ""},
    {"rfc4475", "regaut01.dat", ""},
    {"rfc4475", "multi01.dat", "unparseable"},
    {"rfc4475", "mcl01.dat", "bad_content_length"},
    {"rfc4475", "bcast.dat", ""},
    {"rfc4475", "zeromf.dat", ""},
    {"rfc4475", "cparam01.dat", ""},
    {"rfc4475", "cparam02.dat", ""},
    {"rfc4475", "regescrt.dat", ""},
    {"rfc4475", "sdp01.dat", ""},
    {"rfc4475", "inv2543.dat", ""},
    // RFC 5118 §4.
    {"rfc5118", "ipv6-good.dat", ""},
    {"rfc5118", "port-ambiguous.dat", ""},
    {"rfc5118", "port-unambiguous.dat", ""},
    {"rfc5118", "ipv6-bad.dat", "bad_request_uri"},
    {"rfc5118", "ipv6-bug-abnf-3-colons.dat", ""},
    {"rfc5118", "ipv6-correct-abnf-2-colons.dat", ""},
    {"rfc5118", "via-received-param-with-delim.dat", ""},
    {"rfc5118", "via-received-param-no-delim.dat", ""},
    {"rfc5118", "mult-ip-in-header.dat", ""},
    {"rfc5118", "ipv6-in-sdp.dat", ""},  /* Content-Length < body: extra octets */
    {"rfc5118", "mult-ip-in-sdp.dat", ""},  /* Content-Length < body: extra octets */
    {"rfc5118", "ipv4-mapped-ipv6.dat", ""},  /* Content-Length < body: extra octets */
};

TEST(CorpusTest, EveryFileHasTheExpectedOutcome) {
  int checked = 0;
  for (const auto& c : kCases) {
    fs::path p = corpus_dir(c.dir) / c.file;
    ASSERT_TRUE(fs::exists(p)) << p;
    std::string got = outcome(read_file(p));
    EXPECT_EQ(got, c.expected) << c.dir << "/" << c.file;
    ++checked;
  }
  EXPECT_EQ(checked, 62);
}

TEST(CorpusTest, TableCoversEveryCorpusFile) {
  std::set<std::string> listed;
  for (const auto& c : kCases) {
    listed.insert(std::string(c.dir) + "/" + c.file);
  }
  for (const char* dir : {"rfc4475", "rfc5118"}) {
    for (const auto& e : fs::recursive_directory_iterator(corpus_dir(dir))) {
      if (e.path().extension() == ".dat") {
        std::string rel = std::string(dir) + "/" +
                          fs::relative(e.path(), corpus_dir(dir)).generic_string();
        EXPECT_TRUE(listed.count(rel) == 1) << "not in the table: " << rel;
      }
    }
  }
}

Message parse_corpus(const char* dir, const char* file) {
  auto r = Message::parse(read_file(corpus_dir(dir) / file));
  EXPECT_TRUE(r.ok()) << file;
  return std::move(r).value();
}

TEST(CorpusTest, AccessorsOnTortureMessages) {
  Message intmeth = parse_corpus("rfc4475", "intmeth.dat");
  EXPECT_EQ(intmeth.method(), "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(intmeth.call_id(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  EXPECT_EQ(intmeth.cseq(), 139122385u);
  EXPECT_EQ(intmeth.from().tag, "_token~1'+`*%!-.");

  Message dblreq = parse_corpus("rfc4475", "dblreq.dat");
  EXPECT_EQ(dblreq.body(), "");  // Content-Length 0: the trailing INVITE is not a body

  Message mpart = parse_corpus("rfc4475", "mpart01.dat");
  EXPECT_EQ(mpart.body().size(), 553u);
  EXPECT_EQ(mpart.content_type(), "multipart/mixed; boundary=7a9cbec02ceef655");  // osip spelling

  Message wsinv = parse_corpus("rfc4475", "wsinv.dat");
  EXPECT_EQ(wsinv.vias().size(), 3u);
  EXPECT_EQ(wsinv.max_forwards(), 68);
  EXPECT_EQ(wsinv.cseq(), 9u);

  Message amb = parse_corpus("rfc5118", "port-ambiguous.dat");
  auto uri = amb.request_uri_parts();
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->host, "2001:db8::10:5070");
  EXPECT_FALSE(uri->port.has_value());

  Message unamb = parse_corpus("rfc5118", "port-unambiguous.dat");
  auto uri2 = unamb.request_uri_parts();
  ASSERT_TRUE(uri2.ok());
  EXPECT_EQ(uri2->host, "2001:db8::10");
  EXPECT_EQ(uri2->port, 5070);

  Message good = parse_corpus("rfc5118", "ipv6-good.dat");
  EXPECT_EQ(good.top_via().host, "2001:db8::9:1");

  Message nodelim = parse_corpus("rfc5118", "via-received-param-no-delim.dat");
  EXPECT_EQ(nodelim.top_via().received, "2001:db8::9:255");
}

/// Touches everything a caller could read from a parsed message.
std::size_t exercise(const std::string& bytes) {
  std::size_t sink = find_call_id(bytes).size();
  auto r = Message::parse(bytes);
  if (!r.ok()) {
    return sink + r.error().reason.size();
  }
  const Message& m = *r;
  auto e = m.validate();
  sink += e ? e->detail.size() : 0;
  sink += m.method().size() + m.request_uri().size() + m.call_id().size() + m.body().size();
  sink += m.vias().size() + m.top_via().host.size() + m.contacts().size() + m.routes().size();
  sink += m.record_routes().size() + m.headers().size() + m.header_values("v").size();
  sink += m.from().raw.size() + m.to().tag.size() + m.content_type().size();
  sink += m.has_option("Supported", "100rel") ? 1 : 0;
  auto uri = m.request_uri_parts();
  sink += uri.ok() ? uri->host.size() : uri.error().reason.size();
  if (!e && m.is_request()) {
    ResponseParts parts;
    parts.status = 400;
    parts.to_tag = "t";
    sink += build_response(m, via_with_received(m.top_via(), "192.0.2.1", 5060), parts).size();
  }
  return sink;
}

std::vector<std::string> all_corpus_messages() {
  std::vector<std::string> out;
  for (const auto& c : kCases) {
    out.push_back(read_file(corpus_dir(c.dir) / c.file));
  }
  return out;
}

TEST(CorpusRobustnessTest, TruncatedAtEvery7thByteNeverCrashes) {
  std::size_t runs = 0;
  std::size_t sink = 0;
  for (const auto& msg : all_corpus_messages()) {
    for (std::size_t n = 0; n <= msg.size(); n += 7) {
      sink += exercise(msg.substr(0, n));
      ++runs;
    }
  }
  EXPECT_GT(runs, 1000u);
  EXPECT_GT(sink, 0u);
}

TEST(CorpusRobustnessTest, MutatedBytesNeverCrash) {
  // Deterministic mutations: overwrite one byte every 7 with a value from a fixed set that
  // tends to hit parser edge cases (NUL, CR, LF, separators, high bytes).
  const char kBytes[] = {'\0', '\r', '\n', ':', ';', '<', '>', '"', '\\', '@', '[', ']', ' ',
                         ',', '?', '%', '\x80', '\xff', '0', '9'};
  std::size_t runs = 0;
  std::size_t sink = 0;
  for (const auto& msg : all_corpus_messages()) {
    for (std::size_t pos = 0; pos < msg.size(); pos += 7) {
      std::string mutated = msg;
      mutated[pos] = kBytes[(pos / 7) % sizeof(kBytes)];
      sink += exercise(mutated);
      mutated.insert(pos, "\r\n\r\n");  // an early blank line: body/header split moves
      sink += exercise(mutated);
      runs += 2;
    }
  }
  EXPECT_GT(runs, 2000u);
  EXPECT_GT(sink, 0u);
}

}  // namespace
}  // namespace portico::sip
