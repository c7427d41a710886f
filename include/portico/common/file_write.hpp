#pragma once
// Helpers of the writer threads that append to files off the shards (CDRs, SIP traces).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico {

struct WriteResult {
  std::size_t bytes = 0;  // bytes that reached the file
  int error = 0;          // errno of the failure, 0 if everything was written
};

/// write(2) until `data` is written, retrying EINTR and short writes (a bounded number of
/// calls). Any thread.
WriteResult write_all(int fd, std::string_view data);

/// strerror text of an errno value. Any thread.
std::string errno_text(int err);

/// True for at most one caller per `interval`, across threads sharing `last_ns`: a full queue
/// or a full disk must not turn into a log flood.
bool once_per(std::atomic<std::int64_t>& last_ns, std::chrono::milliseconds interval);

}  // namespace portico
