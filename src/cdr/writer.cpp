// CdrWriter: the bounded queue and the writer thread behind it.
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

std::uint64_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

/// What the writer thread takes from the queue in one go.
struct CdrWriter::Batch {
  std::deque<CallRecord> records;
  std::optional<std::size_t> reopen_at;  // reopen after this many records, if set
};

CdrWriter::CdrWriter(std::string path, std::size_t capacity, CdrRotation rotation)
    : path_(std::move(path)), capacity_(capacity), rotation_(rotation) {
  if (capacity_ == 0) {
    throw std::invalid_argument("cdr: queue capacity must be at least 1");
  }
  fd_ = open_append(path_);
  if (fd_ < 0) {
    const int err = errno;
    throw std::runtime_error("cdr: cannot open '" + path_ + "' for appending: " + errno_text(err));
  }
  file_bytes_ = file_size(fd_);
  thread_ = std::thread([this] { run(); });
}

CdrWriter::~CdrWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + kDrainTimeout;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  ::close(fd_);
}

bool CdrWriter::submit(CallRecord&& record) {
  bool accepted = false;
  {
    // The only lock a shard ever takes here: one push per ended call.
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < capacity_) {
      queue_.push_back(std::move(record));
      accepted = true;
    }
  }
  if (accepted) {
    cv_.notify_one();
    return true;
  }
  warn_dropped(dropped_.fetch_add(1, std::memory_order_relaxed) + 1);
  return false;
}

void CdrWriter::reopen() {
  {
    std::lock_guard lock(mu_);
    // Everything queued now was submitted before the rotation and belongs in the old file. A
    // second reopen() before the writer acts moves the split to the later point.
    reopen_at_ = queue_.size();
  }
  cv_.notify_one();
}

CdrStats CdrWriter::stats() const {
  return CdrStats{written_.load(std::memory_order_relaxed),
                  dropped_.load(std::memory_order_relaxed),
                  write_errors_.load(std::memory_order_relaxed)};
}

void CdrWriter::pause_ForTest() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

void CdrWriter::resume_ForTest() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  cv_.notify_one();
}

void CdrWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {  // ends when stopping_ is set and nothing is left: see the destructor
    cv_.wait(lock, [this] {
      return stopping_ || (!paused_ && (!queue_.empty() || reopen_at_.has_value()));
    });
    if (queue_.empty() && !reopen_at_) {
      return;  // only reachable when stopping_ and fully drained
    }
    // Take everything at once: the shards' lock is released for the whole disk write.
    Batch batch;
    batch.records.swap(queue_);
    batch.reopen_at = std::exchange(reopen_at_, std::nullopt);
    lock.unlock();
    write_batch(batch);
    lock.lock();
  }
}

void CdrWriter::write_batch(const Batch& batch) {
  const std::size_t n = batch.records.size();
  const std::size_t split = batch.reopen_at ? std::min(*batch.reopen_at, n) : n;
  bool reopened = !batch.reopen_at.has_value();
  std::size_t begin = 0;
  while (begin < n || !reopened) {  // each pass writes >= 1 record or reopens: <= n + 1 passes
    if (!reopened && begin == split) {
      do_reopen();
      reopened = true;
      continue;
    }
    // A chunk never straddles the reopen point.
    const std::size_t end = std::min(begin + kChunk, begin < split ? split : n);
    if (!write_chunk(batch, begin, end)) {
      const std::size_t abandoned = n - begin;
      dropped_.fetch_add(abandoned, std::memory_order_relaxed);
      log::warn("cdr.drain_timeout", {{"path", path_}, {"abandoned", abandoned}});
      return;
    }
    begin = end;
  }
}

bool CdrWriter::write_chunk(const Batch& batch, std::size_t begin, std::size_t end) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && std::chrono::steady_clock::now() > drain_deadline_) {
      return false;
    }
  }
  std::string buf;
  // A previous failure may have left half a line: end it so this chunk's lines parse.
  if (torn_line_) {
    buf += '\n';
  }
  const std::size_t prefix = buf.size();
  std::vector<std::size_t> line_ends;
  line_ends.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i) {
    buf += to_json_line(batch.records[i]);  // formatted here, off the shard threads
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
  return true;
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
  do_reopen();  // on failure the records keep going to path.1, and the error is logged
}

void CdrWriter::do_reopen() {
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
              {{"path", path_}, {"capacity", capacity_}, {"dropped_total", dropped_total}});
  }
}

}  // namespace portico::cdr
