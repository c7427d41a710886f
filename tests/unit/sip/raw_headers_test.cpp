// The raw-header scanner: line ends, folding, compact forms, the end of the header section.

#include "portico/sip/raw_headers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::sip {
namespace {

constexpr std::string_view kRegister =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
    "To: <sip:15550100@example.com>\r\n"
    "From: <sip:15550100@example.com>;tag=a1\r\n"
    "Call-ID: reg-1@192.0.2.10\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

std::vector<std::pair<std::string, std::string>> all_fields(std::string_view bytes) {
  std::vector<std::pair<std::string, std::string>> out;
  RawHeaderScanner scan(bytes);
  while (const auto f = scan.next()) {
    out.emplace_back(f->name, f->value);
  }
  return out;
}

TEST(RawHeaders, FindsByNameWithCrlfLineEnds) {
  EXPECT_EQ(find_raw_header(kRegister, "To", "t"), "<sip:15550100@example.com>");
  EXPECT_EQ(find_raw_header(kRegister, "Call-ID", "i"), "reg-1@192.0.2.10");
  EXPECT_EQ(find_raw_header(kRegister, "CSeq"), "1 REGISTER");
  EXPECT_EQ(find_raw_header(kRegister, "Content-Length", "l"), "0");
}

TEST(RawHeaders, FindsWithBareLfLineEnds) {
  constexpr std::string_view kLf =
      "OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\nCall-ID: lf@h\nTo: <sip:a@b>\n"
      "\nbody";
  EXPECT_EQ(find_raw_header(kLf, "Call-ID"), "lf@h");
  EXPECT_EQ(find_raw_header(kLf, "To"), "<sip:a@b>");
  EXPECT_EQ(find_raw_header(kLf, "Body"), std::nullopt);
}

TEST(RawHeaders, MixedLineEndsAndSpaceAroundTheColon) {
  EXPECT_EQ(find_raw_header("X\r\nVia: a\nCALL-ID  :\t spaced  \r\n\r\n", "Call-ID"), "spaced");
}

TEST(RawHeaders, NamesAreCaseInsensitive) {
  EXPECT_EQ(find_raw_header("X\r\ncall-id: q\r\n\r\n", "Call-ID"), "q");
  EXPECT_EQ(find_raw_header("X\r\nCALL-ID: q\r\n\r\n", "call-id"), "q");
  EXPECT_EQ(find_raw_header("X\r\nT: <sip:a@b>\r\n\r\n", "To", "t"), "<sip:a@b>");
}

TEST(RawHeaders, CompactFormsOnlyWhenAsked) {
  constexpr std::string_view kCompact = "INVITE sip:a@b SIP/2.0\r\ni: c1\r\nt: <sip:a@b>\r\n\r\n";
  EXPECT_EQ(find_raw_header(kCompact, "Call-ID", "i"), "c1");
  EXPECT_EQ(find_raw_header(kCompact, "To", "t"), "<sip:a@b>");
  EXPECT_EQ(find_raw_header(kCompact, "Call-ID"), std::nullopt);
}

TEST(RawHeaders, FirstOfSeveralWins) {
  EXPECT_EQ(find_raw_header("X\r\ni: compact\r\nCall-ID: long\r\n\r\n", "Call-ID", "i"), "compact");
}

TEST(RawHeaders, FoldedValueIsOneFieldAndUnfolds) {
  constexpr std::string_view kFolded =
      "REGISTER sip:example.com SIP/2.0\r\n"
      "To:\r\n <sip:15550100@example.com>\r\n"
      "Subject: first\r\n\t second \r\n   third\r\n"
      "Authorization: Digest username=\"u\",\n realm=\"r\"\n"
      "CSeq: 1 REGISTER\r\n"
      "\r\n";
  // §7.3.1: the white space before the value may include a line break.
  EXPECT_EQ(find_raw_header(kFolded, "To", "t"), "<sip:15550100@example.com>");
  const auto subject = find_raw_header(kFolded, "Subject", "s");
  ASSERT_TRUE(subject);
  EXPECT_EQ(*subject, "first\r\n\t second \r\n   third");
  EXPECT_EQ(unfold(*subject), "first second third");
  EXPECT_EQ(unfold(*find_raw_header(kFolded, "Authorization")),
            "Digest username=\"u\", realm=\"r\"");
  // The continuation lines are not fields of their own.
  const auto fields = all_fields(kFolded);
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[3].first, "CSeq");
}

TEST(RawHeaders, UnfoldLeavesOneLineValuesAlone) {
  EXPECT_EQ(unfold("a  b"), "a  b");
  EXPECT_EQ(unfold(""), "");
}

TEST(RawHeaders, AbsentHeaderIsNullopt) {
  EXPECT_EQ(find_raw_header(kRegister, "Contact", "m"), std::nullopt);
  EXPECT_EQ(find_raw_header("", "Call-ID", "i"), std::nullopt);
  // The start line is never a header, even if it looks like one.
  EXPECT_EQ(find_raw_header("Call-ID: start-line-only", "Call-ID"), std::nullopt);
}

TEST(RawHeaders, HeaderInTheBodyIsNotFound) {
  constexpr std::string_view kWithBody =
      "MESSAGE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\nContent-Length: 20\r\n\r\n"
      "Call-ID: in-the-body\r\n";
  EXPECT_EQ(find_raw_header(kWithBody, "Call-ID", "i"), std::nullopt);
  EXPECT_EQ(find_raw_header("X\nTo: a\n\nCall-ID: lf-body\n", "Call-ID"), std::nullopt);
}

TEST(RawHeaders, OnlyWholeNamesAtLineStartMatch) {
  EXPECT_EQ(find_raw_header("X\r\nX-Call-ID: no\r\nSubject: i: no\r\n\r\n", "Call-ID", "i"),
            std::nullopt);
}

TEST(RawHeaders, EmptyValueIsPresentButEmpty) {
  const auto v = find_raw_header("X\r\nSubject:\r\nTo: <sip:a@b>\r\n\r\n", "Subject");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "");
  const auto w = find_raw_header("X\r\nSubject:   \r\n\r\n", "Subject");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, "");
}

TEST(RawHeaders, UnterminatedLastLineIsRead) {
  EXPECT_EQ(find_raw_header("X\r\nCall-ID: unterminated", "Call-ID"), "unterminated");
  EXPECT_EQ(find_raw_header("X\r\nSubject: a\r\n b", "Subject"), "a\r\n b");
}

TEST(RawHeaders, LinesWithoutAColonAreSkipped) {
  const auto fields = all_fields("X\r\ngarbage\r\n folded garbage\r\nTo: t\r\n\r\n");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>{"To", "t"}));
}

TEST(RawHeaders, ScannerListsFieldsInWireOrder) {
  const auto fields = all_fields(kRegister);
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[0].first, "Via");
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>{"To", "<sip:15550100@example.com>"}));
  EXPECT_EQ(fields[5], (std::pair<std::string, std::string>{"Content-Length", "0"}));
}

TEST(RawHeaders, ValuesAreViewsIntoTheBytes) {
  const std::string bytes(kRegister);
  const auto to = find_raw_header(bytes, "To");
  ASSERT_TRUE(to);
  EXPECT_GE(to->data(), bytes.data());
  EXPECT_LE(to->data() + to->size(), bytes.data() + bytes.size());
}

TEST(CountHeaders, CountsFieldsAndViaValuesUpToTheHeaderEnd) {
  const std::string msg =
      "INVITE sip:a@b SIP/2.0\r\n"
      "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n"
      "v: SIP/2.0/UDP c;x=\"1,2\"\r\n"  // a comma inside quotes is no new value
      "Subject: a,\r\n b\r\n"           // folded: one field
      "To: <sip:a@b>\r\n"
      "\r\n"
      "Via: in the body: not counted\r\n";
  const HeaderCount c = count_headers(msg, 100, 100);
  EXPECT_EQ(c.fields, 4u);
  EXPECT_EQ(c.vias, 3u);
}

TEST(CountHeaders, StopsAsSoonAsACapIsPassed) {
  std::string msg = "OPTIONS sip:a@b SIP/2.0\r\n";
  for (int i = 0; i < 7000; ++i) {
    msg += "X-Pad: " + std::to_string(i) + "\r\n";
  }
  msg += "\r\n";
  const HeaderCount capped = count_headers(msg, 128, 16);
  EXPECT_EQ(capped.fields, 129u);  // one past the cap: the rest is never read
  EXPECT_EQ(count_headers(msg, 10000, 16).fields, 7000u);

  std::string vias = "OPTIONS sip:a@b SIP/2.0\r\nVia: a";
  for (int i = 0; i < 100; ++i) {
    vias += ", b";
  }
  vias += "\r\nTo: x\r\n\r\n";
  const HeaderCount v = count_headers(vias, 128, 16);
  EXPECT_EQ(v.fields, 1u);
  EXPECT_EQ(v.vias, 101u);
}

}  // namespace
}  // namespace portico::sip
