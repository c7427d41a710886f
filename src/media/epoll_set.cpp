// EpollSet: one edge-triggered epoll set per shard for every media socket (see epoll_set.hpp).
//
//   set readable ─► epoll_wait(0) ─► per ready socket: sink drains it (recvmmsg, stages,
//   sendmmsg) ─► … ─► re-arm the one asio wait on the set
//
// Edge-triggered: a socket is listed once per transition to readable, so a sink must leave it
// empty (recvmmsg returned less than a full batch) or come back to it by itself.

#include "portico/media/epoll_set.hpp"

#include <unistd.h>

#include <asio/post.hpp>

#include <cerrno>
#include <cstring>

namespace portico::media {

namespace {

constexpr std::uint64_t pack(std::uint32_t gen, std::uint32_t slot) {
  return (std::uint64_t{gen} << 32) | slot;
}

}  // namespace

std::unique_ptr<EpollSet> EpollSet::create(asio::io_context& io, std::string& why) {
  const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    why = std::string("epoll_create1: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<EpollSet> set(new EpollSet(io, epfd));
  set->arm();
  return set;
}

EpollSet::EpollSet(asio::io_context& io, int epfd) : io_(io), set_(io, epfd) {}

EpollSet::~EpollSet() {
  std::error_code ec;
  set_.close(ec);  // aborts the pending wait; its handler sees the expired guard
}

std::uint32_t EpollSet::add(ReadySink* sink, std::size_t index, int fd) {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[slot];
  e.gen = e.gen + 1;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = pack(e.gen, slot);
  if (::epoll_ctl(set_.native_handle(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    free_.push_back(slot);
    return kNoSlot;
  }
  e.sink = sink;
  e.index = index;
  e.fd = fd;
  // A socket that already holds datagrams is listed at once: EPOLL_CTL_ADD polls it.
  return slot;
}

void EpollSet::remove(std::uint32_t slot) {
  if (slot >= entries_.size() || entries_[slot].sink == nullptr) {
    return;
  }
  Entry& e = entries_[slot];
  ::epoll_ctl(set_.native_handle(), EPOLL_CTL_DEL, e.fd, nullptr);
  e.sink = nullptr;
  e.fd = -1;
  free_.push_back(slot);
}

void EpollSet::arm() {
  set_.async_wait(asio::posix::stream_descriptor::wait_read,
                  [this, guard = std::weak_ptr<int>(life_)](const std::error_code& ec) {
                    if (guard.expired() || ec == asio::error::operation_aborted) {
                      return;
                    }
                    on_wake();
                  });
}

void EpollSet::on_wake() {
  ++stats_.wakes;
  for (int round = 0; round < kMaxRounds; ++round) {
    const int n = ::epoll_wait(set_.native_handle(), events_.data(), kEvents, 0);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t key = events_[static_cast<std::size_t>(i)].data.u64;
      const auto slot = static_cast<std::uint32_t>(key & 0xffffffffULL);
      // A sink may close other streams' sockets only from other handlers, but an entry can
      // still have been removed and reused since the event was listed: check the generation.
      if (slot < entries_.size() && entries_[slot].sink != nullptr &&
          entries_[slot].gen == static_cast<std::uint32_t>(key >> 32)) {
        ++stats_.events;
        entries_[slot].sink->on_ready(entries_[slot].index);
      }
    }
    if (n < kEvents) {
      arm();  // the set is empty now; the re-arm re-checks it, so no edge is lost
      return;
    }
  }
  // Still more ready sockets: let timers and signalling run, then continue.
  asio::post(io_, [this, guard = std::weak_ptr<int>(life_)] {
    if (!guard.expired()) {
      on_wake();
    }
  });
}

}  // namespace portico::media
