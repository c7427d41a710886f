// write(2) on an O_APPEND descriptor rather than stdio: it reports exactly how many bytes
// reached the file, so a disk-full error can be charged to what it really lost.

#include "portico/common/file_write.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace portico {
namespace {

/// A regular file accepts a whole chunk in one or two calls; this only bounds the loop.
constexpr int kMaxWriteCalls = 1000;

}  // namespace

WriteResult write_all(int fd, std::string_view data) {
  WriteResult res;
  for (int call = 0; res.bytes < data.size() && call < kMaxWriteCalls; ++call) {
    const ssize_t n = ::write(fd, data.data() + res.bytes, data.size() - res.bytes);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      res.error = n < 0 ? errno : EIO;
      return res;
    }
    res.bytes += static_cast<std::size_t>(n);
  }
  if (res.bytes < data.size()) {
    res.error = EIO;
  }
  return res;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

bool once_per(std::atomic<std::int64_t>& last_ns, std::chrono::milliseconds interval) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t prev = last_ns.load(std::memory_order_relaxed);
  if (prev != 0 && now - prev < std::chrono::nanoseconds(interval).count()) {
    return false;
  }
  return last_ns.compare_exchange_strong(prev, now, std::memory_order_relaxed);
}

}  // namespace portico
