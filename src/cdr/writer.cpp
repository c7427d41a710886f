// CdrWriter: formatting and writing the lines, rotation and reopening; the queue and the
// thread are common/background_writer.hpp.
//
// One write(2) per chunk of lines on an O_APPEND descriptor (common/file_write.hpp): it reports
// exactly how many bytes reached the file, so a disk-full error is charged to the records it
// really lost, and O_APPEND keeps lines whole even if an operator's tool appends to the file.

#include "portico/cdr/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "portico/common/file_write.hpp"
#include "portico/common/log.hpp"

namespace portico::cdr {
namespace {

/// Records per write(2): big enough to amortise the syscall, small enough that the drain
/// deadline is checked often and the line buffer stays around 100 KiB.
constexpr std::size_t kChunk = 256;
constexpr std::chrono::seconds kLogInterval{1};

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

bool log_allowed(std::atomic<std::int64_t>& last_ns) { return once_per(last_ns, kLogInterval); }

std::size_t at_least_one(std::size_t capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("cdr: queue capacity must be at least 1");
  }
  return capacity;
}

std::uint64_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

CdrWriter::CdrWriter(std::string path, std::size_t capacity, CdrRotation rotation)
    : path_(std::move(path)), rotation_(rotation), queue_(at_least_one(capacity), kDrainTimeout) {
  fd_ = open_append(path_);
  if (fd_ < 0) {
    const int err = errno;
    throw std::runtime_error("cdr: cannot open '" + path_ + "' for appending: " + errno_text(err));
  }
  file_bytes_ = file_size(fd_);
  queue_.start(*this);
}

CdrWriter::~CdrWriter() {
  queue_.stop();  // writes what is queued (at most kDrainTimeout) while fd_ is still open
  ::close(fd_);
}

bool CdrWriter::submit(CallRecord&& record) {
  // The only lock a shard ever takes here: one push per ended call.
  if (queue_.push(std::move(record))) {
    return true;
  }
  warn_dropped(queue_.dropped());
  return false;
}

void CdrWriter::reopen() { queue_.reopen(); }

CdrStats CdrWriter::stats() const {
  return CdrStats{written_.load(std::memory_order_relaxed), queue_.dropped(),
                  write_errors_.load(std::memory_order_relaxed)};
}

void CdrWriter::pause_ForTest() { queue_.pause(); }

void CdrWriter::resume_ForTest() { queue_.resume(); }

void CdrWriter::write(std::deque<CallRecord>& records) {
  const std::size_t n = records.size();
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    if (queue_.past_drain_deadline()) {
      abandon_from(records, begin);
      return;
    }
    write_chunk(records, begin, std::min(begin + kChunk, n));
  }
}

void CdrWriter::abandon(std::deque<CallRecord>& records) { abandon_from(records, 0); }

void CdrWriter::abandon_from(const std::deque<CallRecord>& records, std::size_t begin) {
  const std::size_t abandoned = records.size() - begin;
  queue_.add_dropped(abandoned);
  log::warn("cdr.drain_timeout", {{"path", path_}, {"abandoned", abandoned}});
}

void CdrWriter::write_chunk(const std::deque<CallRecord>& records, std::size_t begin,
                            std::size_t end) {
  std::string buf;
  // A previous failure may have left half a line: end it so this chunk's lines parse.
  if (torn_line_) {
    buf += '\n';
  }
  const std::size_t prefix = buf.size();
  std::vector<std::size_t> line_ends;
  line_ends.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    buf += to_json_line(records[i]);  // formatted here, off the shard threads
    line_ends.push_back(buf.size());
  }
  const WriteResult res = write_all(fd_, buf);
  file_bytes_ += res.bytes;
  const auto complete = static_cast<std::size_t>(
      std::upper_bound(line_ends.begin(), line_ends.end(), res.bytes) - line_ends.begin());
  written_.fetch_add(complete, std::memory_order_relaxed);
  if (res.bytes > 0) {
    torn_line_ =
        res.bytes != prefix && !std::binary_search(line_ends.begin(), line_ends.end(), res.bytes);
  }
  if (res.error != 0) {
    const std::size_t lost = (end - begin) - complete;
    write_errors_.fetch_add(lost, std::memory_order_relaxed);
    if (log_allowed(last_error_log_ns_)) {
      const std::string text = errno_text(res.error);
      log::error("cdr.write_failed", {{"path", path_},
                                      {"error", text},
                                      {"lost", lost},
                                      {"write_errors_total", write_errors_.load()}});
    }
  }
  if (rotation_.max_bytes > 0 && file_bytes_ >= rotation_.max_bytes && !torn_line_) {
    rotate_by_size();
  }
}

void CdrWriter::rotate_by_size() {
  // Oldest first, so no rename overwrites a file still to be shifted. A missing number (fewer
  // rotations so far, or an operator removed one) is simply skipped.
  const auto numbered = [this](int i) { return path_ + "." + std::to_string(i); };
  ::unlink(numbered(rotation_.keep).c_str());
  for (int i = rotation_.keep - 1; i >= 1; --i) {
    ::rename(numbered(i).c_str(), numbered(i + 1).c_str());
  }
  if (::rename(path_.c_str(), numbered(1).c_str()) != 0) {
    const std::string text = errno_text(errno);
    log::error("cdr.rotate_failed", {{"path", path_}, {"error", text}});
    file_bytes_ = 0;  // try again after another max_size, not on every write
    return;
  }
  log::info("cdr.rotated", {{"path", path_}, {"bytes", file_bytes_}, {"to", numbered(1)}});
  reopen_output();  // on failure the records keep going to path.1, and the error is logged
}

void CdrWriter::reopen_output() {
  // Open the new file before closing the old one, so a failed reopen loses nothing.
  const int fd = open_append(path_);
  if (fd < 0) {
    const std::string text = errno_text(errno);
    log::error("cdr.reopen_failed", {{"path", path_}, {"error", text}});
    return;
  }
  ::close(fd_);
  fd_ = fd;
  file_bytes_ = file_size(fd_);
  torn_line_ = false;  // the torn line stays in the rotated file; the new one starts clean
  log::info("cdr.reopened", {{"path", path_}});
}

void CdrWriter::warn_dropped(std::uint64_t dropped_total) {
  if (log_allowed(last_drop_warn_ns_)) {
    log::warn("cdr.queue_full",
              {{"path", path_}, {"capacity", queue_.capacity()}, {"dropped_total", dropped_total}});
  }
}

}  // namespace portico::cdr
