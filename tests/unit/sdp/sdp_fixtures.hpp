#pragma once
// Shared by the sdp unit tests: the fixture list and a reader for tests/fixtures/sdp/.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "portico/sdp/session.hpp"

namespace portico::sdp::test {

inline const std::vector<std::string>& fixture_names() {
  static const std::vector<std::string> kNames = {
      "pbx_g711.sdp",          "webrtc_opus_g722.sdp",
      "srtp_sdes.sdp",         "ipv6.sdp",
      "hold_sendonly.sdp",     "two_media_one_disabled.sdp",
      "session_direction.sdp", "unknown_lines.sdp"};
  return kNames;
}

/// Test name for a fixture parameter: the file name without ".sdp".
inline std::string fixture_test_name(const ::testing::TestParamInfo<std::string>& p) {
  return p.param.substr(0, p.param.find('.'));
}

/// The bytes of tests/fixtures/sdp/<name>; fails the test when the file cannot be read.
inline std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(PORTICO_SOURCE_DIR) + "/tests/fixtures/sdp/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open fixture " << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Parses a fixture that must be valid.
inline Session parse_fixture(const std::string& name) {
  auto r = parse(read_fixture(name));
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().detail);
  return r.ok() ? r.value() : Session{};
}

/// Joins lines with CRLF, each line ended (what serialize() produces).
inline std::string crlf(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (auto l : lines) {
    out += l;
    out += "\r\n";
  }
  return out;
}

}  // namespace portico::sdp::test
