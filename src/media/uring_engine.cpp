// UringEngine: ring set-up, the provided-buffer ring, multishot receives and batched sends.
//
//   eventfd readable ─► reap CQEs (all sockets) ─► per received datagram: the stream's relay
//   stages ─► sendmsg SQE on the partner socket ─► … ─► one io_uring_submit for the batch
//
// Nothing here allocates per packet: buffers, send headers and port slots exist up front.

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <asio/post.hpp>

#include <cstring>

#include "sockaddr.hpp"
#include "uring_impl.hpp"

namespace portico::media {

namespace {

constexpr std::uint64_t kGenMask = (1ULL << 30) - 1;

std::uint64_t user_data(std::uint64_t kind, std::uint32_t gen, std::uint32_t id) {
  return (kind << 62) | ((gen & kGenMask) << 32) | id;
}

}  // namespace

UringEngine::Impl::Impl(asio::io_context& ctx, int efd) : io(ctx), event(ctx, efd) {
  recv_template.msg_namelen = sizeof(sockaddr_in6);
  recv_template.msg_controllen = 0;
}

UringEngine::Impl::~Impl() {
  std::error_code ec;
  event.close(ec);  // aborts the pending wait; the handler sees the expired guard
  if (ring_ready) {
    io_uring_queue_exit(&ring);  // the kernel cancels every outstanding request
  }
  if (buf_ring != nullptr) {
    munmap(buf_ring, sizeof(io_uring_buf) * kUringBuffers);
  }
  if (buffers != nullptr) {
    munmap(buffers, std::size_t{kUringBuffers} * kUringBufSize);
  }
}

bool UringEngine::Impl::init(std::string& why) {
  // Plain flags: no SINGLE_ISSUER (the control thread creates the ring, the shard thread uses
  // it) and no COOP/DEFER_TASKRUN (the shard sleeps in epoll_wait, and receive completions must
  // wake it, not wait for its next system call).
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = kUringEntries * 4;
  int rc = io_uring_queue_init_params(kUringEntries, &ring, &params);
  if (rc < 0) {
    why = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return false;
  }
  ring_ready = true;
  // IORING_FEAT_FAST_POLL (5.7) and multishot recvmsg (6.0) are what the path relies on;
  // registering the buffer ring (5.19) and arming a receive prove them below.
  void* br = mmap(nullptr, sizeof(io_uring_buf) * kUringBuffers, PROT_READ | PROT_WRITE,
                  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* bufs = mmap(nullptr, std::size_t{kUringBuffers} * kUringBufSize, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED || bufs == MAP_FAILED) {
    why = "mmap of the receive buffers failed";
    return false;
  }
  buf_ring = static_cast<io_uring_buf_ring*>(br);
  buffers = static_cast<std::uint8_t*>(bufs);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buf_ring);
  reg.ring_entries = kUringBuffers;
  reg.bgid = kUringBufGroup;
  rc = io_uring_register_buf_ring(&ring, &reg, 0);
  if (rc < 0) {
    why = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc);
    return false;
  }
  io_uring_buf_ring_init(buf_ring);
  for (unsigned i = 0; i < kUringBuffers; ++i) {
    recycle(static_cast<std::uint16_t>(i));
  }
  flush_recycled();
  rc = io_uring_register_eventfd(&ring, event.native_handle());
  if (rc < 0) {
    why = std::string("io_uring_register_eventfd: ") + std::strerror(-rc);
    return false;
  }
  // Probe: a multishot recvmsg on a throwaway socket must be accepted (kernel >= 6.0).
  const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    why = "socket() failed for the io_uring probe";
    return false;
  }
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  io_uring_prep_recvmsg_multishot(s, probe, &recv_template, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kUringBufGroup;
  io_uring_sqe_set_data64(s, user_data(kCancel, 0, 0));
  io_uring_submit(&ring);
  s = io_uring_get_sqe(&ring);
  io_uring_prep_cancel64(s, user_data(kCancel, 0, 0), 0);
  io_uring_sqe_set_data64(s, user_data(kCancel, 0, 1));
  io_uring_submit(&ring);
  bool supported = true;
  for (int seen = 0; seen < 2;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) < 0) {
      break;
    }
    if ((cqe->user_data & 0xffffffffULL) == 0 && cqe->res == -EINVAL) {
      supported = false;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER) {
      recycle(static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
      ++seen;
    }
    io_uring_cqe_seen(&ring, cqe);
  }
  flush_recycled();
  ::close(probe);
  if (!supported) {
    why = "multishot recvmsg is not supported by this kernel (needs Linux 6.0)";
    return false;
  }
  arm_wait();
  return true;
}

void UringEngine::Impl::arm_wait() {
  event.async_wait(asio::posix::stream_descriptor::wait_read,
                   [this, guard = std::weak_ptr<int>(life)](const std::error_code& ec) {
                     if (guard.expired() || ec == asio::error::operation_aborted) {
                       return;
                     }
                     on_ready();
                   });
}

void UringEngine::Impl::on_ready() {
  ++stats.wakes;
  for (unsigned round = 0; round < kMaxReapRounds; ++round) {
    reap();
    if (io_uring_sq_ready(&ring) > 0) {
      ++stats.submits;
      io_uring_submit(&ring);  // sends complete inline here and post their CQEs at once
    }
    if (io_uring_cq_ready(&ring) > 0) {
      continue;
    }
    // Reset the eventfd only now: our own sends signalled it too, and asio reports it while
    // its counter is non-zero. A completion posted after this read signals it again, and one
    // posted before it is seen by the check below, so no wake-up is lost.
    std::uint64_t signalled = 0;
    if (::read(event.native_handle(), &signalled, sizeof(signalled)) < 0) {
      signalled = 0;  // EAGAIN: already reset
    }
    if (io_uring_cq_ready(&ring) == 0) {
      arm_wait();
      return;
    }
  }
  // Still busy: let timers and signalling run, then continue.
  asio::post(io, [this, guard = std::weak_ptr<int>(life)] {
    if (!guard.expired()) {
      on_ready();
    }
  });
}

void UringEngine::Impl::reap() {
  unsigned head = 0;
  unsigned count = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring, head, cqe) {
    ++count;
    const std::uint64_t ud = cqe->user_data;
    const auto kind = ud >> 62;
    const auto gen = static_cast<std::uint32_t>((ud >> 32) & kGenMask);
    const auto id = static_cast<std::uint32_t>(ud & 0xffffffffULL);
    if (kind == kRecv) {
      on_recv(*cqe, id, gen);
    } else if (kind == kSend) {
      on_send(*cqe, static_cast<std::uint16_t>(id));
    } else if (cqe->flags & IORING_CQE_F_BUFFER) {
      recycle(static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
  }
  io_uring_cq_advance(&ring, count);
  stats.completions += count;
  flush_recycled();
}

void UringEngine::Impl::on_recv(const io_uring_cqe& cqe, std::uint32_t slot, std::uint32_t gen) {
  Port* port = slot < ports.size() ? &ports[slot] : nullptr;
  const bool live = port != nullptr && port->in_use && port->gen == gen;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const auto bid = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    consumed = false;
    if (live && port->sink != nullptr && cqe.res > 0) {
      std::uint8_t* buf = buffer(bid);
      io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buf, cqe.res, &recv_template);
      if (out != nullptr) {
        auto* payload = static_cast<std::uint8_t*>(io_uring_recvmsg_payload(out, &recv_template));
        const auto len = io_uring_recvmsg_payload_length(out, cqe.res, &recv_template);
        const std::size_t capacity = static_cast<std::size_t>(buf + kUringBufSize - payload);
        port->sink->on_uring_packet(
            port->index, bid, std::span<std::uint8_t>(payload, len), capacity,
            static_cast<const sockaddr*>(io_uring_recvmsg_name(out)),
            static_cast<socklen_t>(out->namelen), (out->flags & MSG_TRUNC) != 0);
      }
    }
    if (!consumed) {
      recycle(bid);
    }
  } else if (cqe.res == -ENOBUFS) {
    ++stats.no_buffer;  // the datagram stays queued in the socket for the re-armed receive
  }
  if (cqe.flags & IORING_CQE_F_MORE) {
    return;
  }
  // The multishot receive ended (cancelled, buffer ring ran dry, error).
  if (port == nullptr || port->gen != gen) {
    return;
  }
  port->armed = false;
  if (port->sink != nullptr) {
    ++stats.rearms;
    arm_recv(slot);
  } else if (port->in_use) {
    port->in_use = false;  // removed and now quiet: the slot may be reused
    free_ports.push_back(slot);
  }
}

void UringEngine::Impl::on_send(const io_uring_cqe& cqe, std::uint16_t bid) {
  SendSlot& s = sends[bid];
  Port* port = s.port < ports.size() ? &ports[s.port] : nullptr;
  if (port != nullptr && port->in_use && port->gen == s.gen && port->sink != nullptr) {
    port->sink->on_uring_sent(s.dir, s.iov.iov_len, cqe.res >= 0);
  }
  recycle(bid);
}

std::uint32_t UringEngine::Impl::add_port(UringSink* sink, std::size_t index, int fd) {
  std::uint32_t slot;
  if (!free_ports.empty()) {
    slot = free_ports.back();
    free_ports.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(ports.size());
    ports.emplace_back();
  }
  Port& p = ports[slot];
  p.sink = sink;
  p.index = index;
  p.fd = fd;
  p.gen = (p.gen + 1) & static_cast<std::uint32_t>(kGenMask);
  p.in_use = true;
  arm_recv(slot);
  ++stats.submits;
  io_uring_submit(&ring);  // stream set-up: start receiving now, not at the next wake-up
  return slot;
}

void UringEngine::Impl::remove_port(std::uint32_t slot) {
  if (slot >= ports.size() || !ports[slot].in_use) {
    return;
  }
  Port& p = ports[slot];
  p.sink = nullptr;
  if (!p.armed) {
    p.in_use = false;
    free_ports.push_back(slot);
    return;
  }
  // The socket closes right after this; the kernel keeps the file until the cancel lands, and
  // the final completion (no F_MORE) frees the slot.
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, user_data(kRecv, p.gen, slot), 0);
  io_uring_sqe_set_data64(s, user_data(kCancel, 0, slot));
  ++stats.submits;
  io_uring_submit(&ring);
}

void UringEngine::Impl::arm_recv(std::uint32_t slot) {
  Port& p = ports[slot];
  io_uring_sqe* s = sqe();
  io_uring_prep_recvmsg_multishot(s, p.fd, &recv_template, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kUringBufGroup;
  io_uring_sqe_set_data64(s, user_data(kRecv, p.gen, slot));
  p.armed = true;
}

io_uring_sqe* UringEngine::Impl::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  if (s == nullptr) {
    ++stats.sq_full;
    ++stats.submits;
    io_uring_submit(&ring);  // make room: a full SQ is a batch ready to go anyway
    s = io_uring_get_sqe(&ring);
  }
  return s;  // never null after a submit: the SQ was just emptied
}

void UringEngine::Impl::send(std::uint32_t from_port, std::uint16_t bid,
                             std::span<const std::uint8_t> packet, int fd,
                             const transport::Endpoint& dest, Direction dir) {
  SendSlot& s = sends[bid];
  s.iov.iov_base = const_cast<std::uint8_t*>(packet.data());
  s.iov.iov_len = packet.size();
  s.msg = msghdr{};
  s.msg.msg_name = &s.to;
  s.msg.msg_namelen = sockaddr_from(dest, s.to);
  s.msg.msg_iov = &s.iov;
  s.msg.msg_iovlen = 1;
  s.port = from_port;
  s.gen = ports[from_port].gen;
  s.dir = dir;
  io_uring_sqe* q = sqe();
  io_uring_prep_sendmsg(q, fd, &s.msg, 0);
  io_uring_sqe_set_data64(q, user_data(kSend, 0, bid));
  consumed = true;
}

void UringEngine::Impl::recycle(std::uint16_t bid) {
  io_uring_buf_ring_add(buf_ring, buffer(bid), kUringBufSize, bid,
                        io_uring_buf_ring_mask(kUringBuffers), recycled++);
}

void UringEngine::Impl::flush_recycled() {
  if (recycled > 0) {
    io_uring_buf_ring_advance(buf_ring, recycled);
    recycled = 0;
  }
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<UringEngine> UringEngine::create(asio::io_context& io, std::string& why) {
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    why = "eventfd() failed";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>(io, efd);
  if (!impl->init(why)) {
    return nullptr;
  }
  return std::unique_ptr<UringEngine>(new UringEngine(std::move(impl)));
}

UringEngine::UringEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UringEngine::~UringEngine() = default;

const UringStats& UringEngine::stats() const { return impl_->stats; }

}  // namespace portico::media
