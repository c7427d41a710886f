// The per-thread buffer of kernel random bytes behind random_bytes(), random_u64() and
// random_token().

#include "portico/common/random.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace portico {
namespace {

/// One refill serves 256 tokens of 16 hex digits; getrandom(2) never blocks or returns short
/// for requests up to 256 bytes once the pool is initialised, and rarely for 4 KiB.
constexpr std::size_t kBlock = 4096;

[[noreturn]] void die(int err) {
  std::fprintf(stderr,
               "portico: getrandom(2) failed: %s; cannot generate unpredictable "
               "tags and Call-IDs\n",
               std::strerror(err));
  std::abort();
}

/// Fills `out` from the kernel, retrying on EINTR and short reads.
void fill_from_kernel(std::byte* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      die(errno);
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

/// This thread's unread kernel bytes: block[used, kBlock). Thread-local, so no lock.
struct Pool {
  std::byte block[kBlock];
  std::size_t used = kBlock;  // empty until first use

  void take(std::byte* out, std::size_t n) {
    while (n > 0) {
      if (used == kBlock) {
        fill_from_kernel(block, kBlock);
        used = 0;
      }
      const std::size_t k = std::min(n, kBlock - used);
      std::memcpy(out, block + used, k);
      // Bytes handed out are not kept: a later memory disclosure cannot replay them.
      std::memset(block + used, 0, k);
      used += k;
      out += k;
      n -= k;
    }
  }
};

thread_local Pool t_pool;

}  // namespace

void random_bytes(std::span<std::byte> out) { t_pool.take(out.data(), out.size()); }

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  t_pool.take(reinterpret_cast<std::byte*>(&v), sizeof v);
  return v;
}

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  t_pool.take(reinterpret_cast<std::byte*>(&v), sizeof v);
  return v;
}

}  // namespace portico
