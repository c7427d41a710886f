// The ring-driven shard loop (UringEngine::run):
//
//   ┌─► io.poll() if asio had work ─► io_uring_enter(submit the batch's sends, wait for 1) ─┐
//   └── retire the sends ◄─ relay the received datagrams (queue sends) ◄─ reap completions ◄┘
//
// Asio wakes only threads blocked inside asio, so the ring must watch for asio's work itself:
// a multishot poll on asio's epoll descriptor (its sockets, its timerfd) and a read on the
// doorbell eventfd that other threads ring after posting. Asio keeps its epoll descriptor
// private; it is found as the epoll instance in which the doorbell was registered.

#include <dirent.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "uring_impl.hpp"

namespace portico::media {

namespace {

constexpr std::uint64_t loop_user_data(std::uint32_t id) {
  return (std::uint64_t{UringEngine::Impl::kCancel} << 62) | id;
}

}  // namespace

/// The epoll descriptor of this process that has `member` registered in it, or -1.
int epoll_holding(int member) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    return -1;
  }
  int found = -1;
  const std::string wanted = std::to_string(member);
  while (const dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == member) {
      continue;
    }
    char target[64] = {};
    const std::string path = std::string("/proc/self/fd/") + e->d_name;
    const auto n = ::readlink(path.c_str(), target, sizeof(target) - 1);
    if (n <= 0 || std::string_view(target, static_cast<std::size_t>(n)) != "anon_inode:[eventpoll]") {
      continue;
    }
    // fdinfo lists one "tfd: <fd> events: ..." line per registered descriptor.
    std::ifstream info(std::string("/proc/self/fdinfo/") + e->d_name);
    std::string key;
    std::string value;
    while (info >> key) {
      if (key == "tfd:" && info >> value && value == wanted) {
        found = fd;
        break;
      }
    }
    if (found >= 0) {
      break;
    }
  }
  ::closedir(dir);
  return found;
}

void UringEngine::Impl::run() {
  enable();
  asio_ready = true;  // whatever was posted before the loop started
  while (!io.stopped()) {
    arm_loop_requests();
    if (asio_ready) {
      asio_ready = false;
      io.poll();  // asio's ready handlers and its reactor, without blocking
      if (io.stopped()) {
        break;
      }
    }
    // The one system call of a wake-up: issue the last batch's sends, run the receives that
    // are waiting, and sleep only if nothing completed.
    round(Enter::Wait);
  }
}

void UringEngine::Impl::poll() {
  enable();
  io.poll();
  round(Enter::GetEvents);
}

void UringEngine::Impl::round(Enter how) {
  submit_queued(how);
  ++stats.wakes;
  reap();
  retire_sends();
}

void UringEngine::Impl::arm_loop_requests() {
  if (!asio_poll_armed) {
    io_uring_sqe* s = sqe();
    io_uring_prep_poll_multishot(s, asio_fd, POLLIN);
    io_uring_sqe_set_data64(s, loop_user_data(kAsioPoll));
    asio_poll_armed = true;
  }
  if (!doorbell_armed) {
    io_uring_sqe* s = sqe();
    io_uring_prep_read(s, doorbell.native_handle(), &doorbell_value, sizeof(doorbell_value), 0);
    io_uring_sqe_set_data64(s, loop_user_data(kDoorbellRead));
    doorbell_armed = true;
  }
}

void UringEngine::Impl::on_loop_completion(const io_uring_cqe& cqe, std::uint32_t id) {
  asio_ready = true;
  if (id == kDoorbellRead) {
    doorbell_armed = false;  // a read completes once; re-armed before the next sleep
  } else if (!(cqe.flags & IORING_CQE_F_MORE)) {
    asio_poll_armed = false;  // the multishot poll ended (CQ overflow, error): re-arm it
  }
}

}  // namespace portico::media
