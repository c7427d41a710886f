// TraceWriter: per-call pcap files and retention; the queue and the thread are
// common/background_writer.hpp.

#include "portico/trace/trace_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <stdexcept>
#include <system_error>

#include "portico/common/file_write.hpp"
#include "portico/common/log.hpp"

namespace portico::trace {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::seconds kLogInterval{1};
constexpr std::chrono::seconds kPruneInterval{1};
constexpr std::string_view kSuffix = ".pcap";

bool is_message(const TraceEvent& e) { return e.kind == TraceEvent::Kind::Message; }

}  // namespace

/// A call's file while the call lasts (and a short while after: see CallTraces).
struct TraceWriter::OpenTrace {
  std::string path;
  int fd = -1;
  bool created = false;         // the file exists and holds its header
  bool touched = false;         // listed in touched_
  std::string pending;          // encoded records not yet written
  std::uint64_t pending_messages = 0;
  PcapEncoder encoder;
};

std::string trace_file_name(WallClock::time_point start, std::string_view call_log_id) {
  const std::time_t secs = WallClock::to_time_t(start);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[32];
  std::snprintf(ts, sizeof ts, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(ts) + "_" + std::string(call_log_id) + std::string(kSuffix);
}

TraceWriter::TraceWriter(std::string directory, Retention retention, std::size_t capacity)
    : directory_(std::move(directory)),
      retention_(retention),
      queue_(capacity, kDrainTimeout, kPruneInterval, &is_message) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec || ::access(directory_.c_str(), W_OK | X_OK) != 0) {
    const std::string why = ec ? ec.message() : errno_text(errno);
    throw std::runtime_error("traces: cannot write to directory '" + directory_ + "': " + why);
  }
  scan_existing();
  queue_.start(*this);
}

TraceWriter::~TraceWriter() {
  queue_.stop();  // writes what is queued (at most kDrainTimeout) while open_ is whole
  for (auto& [id, t] : open_) {
    if (t->fd >= 0) {
      ::close(t->fd);  // a call still in progress keeps what was written: a valid pcap file
    }
  }
}

void TraceWriter::submit(std::vector<TraceEvent>& batch) {
  // The only lock a shard takes here: once per batch of its messages.
  if (queue_.push(batch) > 0 && once_per(last_drop_warn_ns_, kLogInterval)) {
    log::warn("trace.queue_full",
              {{"capacity", queue_.capacity()}, {"dropped_total", queue_.dropped()}});
  }
}

TraceWriterStats TraceWriter::stats() const {
  return TraceWriterStats{files_written_.load(std::memory_order_relaxed),
                          messages_written_.load(std::memory_order_relaxed), queue_.dropped(),
                          write_errors_.load(std::memory_order_relaxed),
                          files_pruned_.load(std::memory_order_relaxed)};
}

void TraceWriter::write(std::deque<TraceEvent>& batch) {
  write_batch(batch);
  prune();
}

void TraceWriter::abandon(std::deque<TraceEvent>& batch) {
  const auto n = static_cast<std::uint64_t>(std::count_if(batch.begin(), batch.end(), is_message));
  queue_.add_dropped(n);
  log::warn("trace.drain_timeout", {{"abandoned", n}});
}

void TraceWriter::write_batch(std::deque<TraceEvent>& batch) {
  for (TraceEvent& e : batch) {
    switch (e.kind) {
      case TraceEvent::Kind::Begin: {
        auto t = std::make_unique<OpenTrace>();
        t->path = directory_ + "/" + e.text;
        open_[e.trace] = std::move(t);
        break;
      }
      case TraceEvent::Kind::Message: {
        auto it = open_.find(e.trace);
        if (it == open_.end()) {
          queue_.add_dropped(1);  // its Begin was lost
          break;
        }
        OpenTrace& t = *it->second;
        t.encoder.append(t.pending, e.meta, e.text);  // encoded here, off the shard threads
        ++t.pending_messages;
        if (!t.touched) {
          t.touched = true;
          touched_.push_back(e.trace);
        }
        break;
      }
      case TraceEvent::Kind::End:
        finish(e.trace);
        break;
    }
  }
  for (std::uint64_t id : touched_) {
    auto it = open_.find(id);
    if (it != open_.end()) {
      flush(id, *it->second);
      it->second->touched = false;
    }
  }
  touched_.clear();
  if (open_.size() > kMaxOpenFiles) {
    // Many calls at once: give the descriptors back; each file reopens on its next message.
    for (auto& [id, t] : open_) {
      if (t->fd >= 0) {
        ::close(t->fd);
        t->fd = -1;
      }
    }
  }
}

void TraceWriter::flush(std::uint64_t id, OpenTrace& t) {
  if (t.fd < 0) {
    const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (t.created ? 0 : O_CREAT | O_TRUNC);
    t.fd = ::open(t.path.c_str(), flags, 0640);
    if (t.fd >= 0 && !t.created) {
      std::string header;
      append_pcap_file_header(header);
      t.pending.insert(0, header);
      t.created = true;
    }
  }
  int error = t.fd < 0 ? errno : 0;
  if (t.fd >= 0 && !t.pending.empty()) {
    error = write_all(t.fd, t.pending).error;
  }
  if (error == 0) {
    messages_written_.fetch_add(t.pending_messages, std::memory_order_relaxed);
  } else {
    write_errors_.fetch_add(t.pending_messages, std::memory_order_relaxed);
    if (once_per(last_error_log_ns_, kLogInterval)) {
      const std::string text = errno_text(error);
      log::error("trace.write_failed", {{"path", t.path}, {"error", text}, {"trace", id}});
    }
  }
  t.pending.clear();
  t.pending_messages = 0;
}

void TraceWriter::finish(std::uint64_t id) {
  auto it = open_.find(id);
  if (it == open_.end()) {
    return;
  }
  OpenTrace& t = *it->second;
  if (!t.created || !t.pending.empty()) {
    flush(id, t);  // a call whose messages were all dropped still gets its (empty) file
  }
  if (t.fd >= 0) {
    ::close(t.fd);
  }
  if (t.created) {
    std::error_code ec;
    auto mtime = fs::last_write_time(t.path, ec);
    finished_.emplace_back(ec ? fs::file_time_type::clock::now() : mtime, t.path);
    files_written_.fetch_add(1, std::memory_order_relaxed);
  }
  if (t.touched) {
    std::erase(touched_, id);
  }
  open_.erase(it);
}

void TraceWriter::prune() {
  const auto now = fs::file_time_type::clock::now();
  std::size_t work = 0;
  while (!finished_.empty() && work < kMaxPrunePerPass) {
    const auto& [mtime, path] = finished_.front();
    const bool too_many = finished_.size() > retention_.max_files;
    const bool too_old = retention_.max_age.count() > 0 && now - mtime > retention_.max_age;
    if (!too_many && !too_old) {
      break;
    }
    std::error_code ec;
    if (fs::remove(path, ec)) {
      files_pruned_.fetch_add(1, std::memory_order_relaxed);
    }
    finished_.pop_front();
    ++work;
  }
}

void TraceWriter::scan_existing() {
  std::error_code ec;
  for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code fec;
    if (p.extension() == kSuffix && it->is_regular_file(fec)) {
      auto mtime = it->last_write_time(fec);
      if (!fec) {
        finished_.emplace_back(mtime, p.string());
      }
    }
  }
  std::sort(finished_.begin(), finished_.end());
}

}  // namespace portico::trace
