// The kernel CSPRNG behind every tag and Call-ID: bytes, words, and the per-thread buffer.

#include "portico/common/random.hpp"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstddef>
#include <set>
#include <vector>

namespace portico {
namespace {

TEST(Random, FillsSpansOfAnySizeAcrossBufferRefills) {
  // Bigger than the per-thread block: the fill must span several refills.
  std::vector<std::byte> big(10000, std::byte{0});
  random_bytes(big);
  std::array<int, 256> counts{};
  for (std::byte b : big) {
    ++counts[static_cast<std::size_t>(b)];
  }
  // 10000 bytes over 256 values: ~39 each; none missing and none above 100 is all but certain.
  for (int c : counts) {
    EXPECT_GT(c, 0);
    EXPECT_LT(c, 100);
  }
  random_bytes({});  // empty is fine
}

TEST(Random, WordsDiffer) {
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(seen.insert(random_u64()).second);
  }
  std::set<std::uint32_t> small;
  for (int i = 0; i < 1000; ++i) {
    small.insert(random_u32());
  }
  EXPECT_GT(small.size(), 990u);  // 1000 draws from 2^32: a few collisions at most
}

TEST(Random, BitsAreBalanced) {
  // 64000 bits: about half set (sd ~ 126); 2% off is > 10 sd.
  int ones = 0;
  for (int i = 0; i < 1000; ++i) {
    ones += std::popcount(random_u64());
  }
  EXPECT_GT(ones, 31360);
  EXPECT_LT(ones, 32640);
}

}  // namespace
}  // namespace portico
