// UringEngine: ring set-up, the provided-buffer ring, multishot receives and batched sends.
//
//   enter (submit the last batch's sends, run the deferred receives) ─► reap CQEs (all sockets)
//   ─► per received datagram: the stream's relay stages ─► send SQE on the partner socket ─► …
//   ─► retire the issued sends (their buffers go back to the ring) ─► next enter
//
// Who calls enter: the ring-driven loop (uring_loop.cpp), and add_port/remove_port to start or
// cancel a socket's receive at once.
//
// Nothing here allocates per packet: buffers, send headers and port slots exist up front.

#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sockaddr.hpp"
#include "uring_impl.hpp"

namespace portico::media {

namespace {

constexpr std::uint64_t kGenMask = (1ULL << 30) - 1;

std::uint64_t user_data(std::uint64_t kind, std::uint32_t gen, std::uint32_t id) {
  return (kind << 62) | ((gen & kGenMask) << 32) | id;
}

// IORING_OP_SEND with a destination (sendto) skips the msghdr that SENDMSG copies in per packet.
// Kernels that ignore the address fail the probe's send on the unconnected socket.
bool send_to_supported() {
  io_uring probe_ring{};
  if (io_uring_queue_init(2, &probe_ring, 0) < 0) {
    return false;
  }
  const int rx = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int tx = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(to);
  bool ok = false;
  if (rx >= 0 && tx >= 0 && ::bind(rx, reinterpret_cast<sockaddr*>(&to), len) == 0 &&
      ::getsockname(rx, reinterpret_cast<sockaddr*>(&to), &len) == 0) {
    static const char byte = 0;
    io_uring_sqe* s = io_uring_get_sqe(&probe_ring);
    io_uring_prep_send(s, tx, &byte, 1, MSG_DONTWAIT);
    io_uring_prep_send_set_addr(s, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    io_uring_cqe* cqe = nullptr;
    if (io_uring_submit(&probe_ring) == 1 && io_uring_wait_cqe(&probe_ring, &cqe) == 0) {
      ok = cqe->res == 1;
    }
  }
  for (const int fd : {rx, tx}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  io_uring_queue_exit(&probe_ring);
  return ok;
}

}  // namespace

UringEngine::Impl::Impl(asio::io_context& ctx, int doorbell_fd)
    : io(ctx), doorbell(ctx, doorbell_fd) {
  recv_template.msg_namelen = sizeof(sockaddr_in6);
  recv_template.msg_controllen = 0;
}

UringEngine::Impl::~Impl() {
  if (ring_ready) {  // before the doorbell closes: the ring may still read it
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
  // DEFER_TASKRUN: a datagram arriving on a socket only queues the receive as work for this
  // ring; the receives run, all at once, when the shard next enters the ring (submit_queued), with
  // no wake-up per packet and no signal-based task work. Only a thread waiting in the ring is
  // woken by that work (an eventfd registered with the ring is signalled late, through RCU, or
  // not at all while work is pending: seen on Linux 6.18), so the shard must sleep in the ring
  // (run()), and create() refuses to build an engine that could not. DEFER_TASKRUN needs
  // SINGLE_ISSUER, and a single-issuer ring belongs to the thread that enables it: created
  // disabled here (the control thread builds shards), enabled on first use by the shard
  // thread. DEFER_TASKRUN (6.1) also proves multishot recvmsg (6.0) and CQE_SKIP_SUCCESS (5.17).
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
                 IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED;
  params.cq_entries = kUringEntries * 4;
  int rc = io_uring_queue_init_params(kUringEntries, &ring, &params);
  if (rc < 0) {
    why = std::string("io_uring_queue_init: ") + std::strerror(-rc) +
          (rc == -EINVAL ? " (deferred task running needs Linux 6.1)" : "");
    return false;
  }
  ring_ready = true;
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
  send_to = send_to_supported();
  // A registered file table spares every request the descriptor lookup and its reference
  // count. Its size counts against RLIMIT_NOFILE; ports beyond it use plain descriptors.
  rlimit files{};
  const unsigned wanted =
      ::getrlimit(RLIMIT_NOFILE, &files) == 0
          ? static_cast<unsigned>(std::min<rlim_t>(files.rlim_cur / 2, kUringFixedFiles))
          : 0;
  if (wanted > 0 && io_uring_register_files_sparse(&ring, wanted) == 0) {
    fixed_files = wanted;
  }
  // The loop watches asio's own epoll descriptor; without it there is no loop to sleep in.
  asio_fd = epoll_holding(doorbell.native_handle());
  if (asio_fd < 0) {
    why = "asio's reactor not found in /proc/self/fdinfo";
    return false;
  }
  return true;
}

void UringEngine::Impl::enable() {
  if (!enabled) {
    // Raw system call: liburing 2.3 declares io_uring_enable_rings but does not export it.
    enabled = ::syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
                        nullptr, 0) == 0;
  }
}

void UringEngine::Impl::submit_queued(Enter how) {
  for (std::size_t i = 0; i < queued_count; ++i) {
    issued[issued_count++] = queued[i];
  }
  queued_count = 0;
  ++stats.submits;
  switch (how) {
    case Enter::Submit:
      io_uring_submit(&ring);
      break;
    case Enter::GetEvents:
      io_uring_submit_and_get_events(&ring);
      break;
    case Enter::Wait:
      if (issued_count > 0) {
        // Still one system call (EXT_ARG); under load a packet ends the sleep long before.
        __kernel_timespec ts{0, kRetireWaitNs};
        io_uring_cqe* first = nullptr;
        io_uring_submit_and_wait_timeout(&ring, &first, 1, &ts, nullptr);  // -ETIME: quiet
      } else {
        io_uring_submit_and_wait(&ring, 1);  // EINTR (a signal) just returns
      }
      break;
  }
  sq_drained = io_uring_sq_ready(&ring) == 0;
}

void UringEngine::Impl::retire_sends() {
  // A send whose SQE is still in the ring (the kernel took only part of the SQ) still reads
  // its buffer: keep them all until a submit empties the SQ. (SQEs queued since, by the reap
  // that followed, are not issued ones.)
  if (issued_count == 0 || !sq_drained) {
    return;
  }
  for (std::size_t i = 0; i < issued_count; ++i) {
    const std::uint16_t bid = issued[i];
    SendSlot& s = sends[bid];
    Port* port = s.port < ports.size() ? &ports[s.port] : nullptr;
    if (port != nullptr && port->in_use && port->gen == s.gen && port->sink != nullptr) {
      port->sink->on_uring_sent(s.dir, s.iov.iov_len, !s.failed);
    }
    recycle(bid);
  }
  issued_count = 0;
  flush_recycled();
}

void UringEngine::Impl::reap() {
  // Until the CQ is empty: a submit made while reaping (a full SQ) may post send failures.
  while (io_uring_cq_ready(&ring) > 0) {
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
        on_send_failed(static_cast<std::uint16_t>(id));
      } else if (id == kAsioPoll || id == kDoorbellRead) {
        on_loop_completion(*cqe, id);
      } else if (cqe->flags & IORING_CQE_F_BUFFER) {
        recycle(static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
      }
    }
    io_uring_cq_advance(&ring, count);
    stats.completions += count;
  }
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

void UringEngine::Impl::on_send_failed(std::uint16_t bid) {
  // Sends post a completion only when they fail (IOSQE_CQE_SKIP_SUCCESS); retire_sends()
  // reports them and returns the buffer.
  sends[bid].failed = true;
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
  enable();
  p.fixed = slot < fixed_files && io_uring_register_files_update(&ring, slot, &fd, 1) == 1;
  arm_recv(slot);
  submit_queued(Enter::Submit);  // stream set-up: start receiving now, not at the next wake-up
  return slot;
}

void UringEngine::Impl::remove_port(std::uint32_t slot) {
  if (slot >= ports.size() || !ports[slot].in_use) {
    return;
  }
  Port& p = ports[slot];
  p.sink = nullptr;
  if (!p.armed) {
    unregister_file(p, slot);
    p.in_use = false;
    free_ports.push_back(slot);
    return;
  }
  // The socket closes right after this; the kernel keeps the file until the cancel lands, and
  // the final completion (no F_MORE) frees the slot.
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, user_data(kRecv, p.gen, slot), 0);
  io_uring_sqe_set_data64(s, user_data(kCancel, 0, slot));
  submit_queued(Enter::Submit);  // also issues every queued send that names this slot, before it goes
  unregister_file(p, slot);
}

void UringEngine::Impl::unregister_file(Port& p, std::uint32_t slot) {
  if (p.fixed) {
    // Requests in flight keep their own reference; the socket closes when they end.
    int none = -1;
    io_uring_register_files_update(&ring, slot, &none, 1);
    p.fixed = false;
  }
}

void UringEngine::Impl::target(io_uring_sqe* s, std::uint32_t slot) {
  const Port& p = ports[slot];
  if (p.fixed) {
    s->fd = static_cast<std::int32_t>(slot);
    s->flags |= IOSQE_FIXED_FILE;
  } else {
    s->fd = p.fd;
  }
}

void UringEngine::Impl::arm_recv(std::uint32_t slot) {
  Port& p = ports[slot];
  io_uring_sqe* s = sqe();
  io_uring_prep_recvmsg_multishot(s, p.fd, &recv_template, 0);
  target(s, slot);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kUringBufGroup;
  io_uring_sqe_set_data64(s, user_data(kRecv, p.gen, slot));
  p.armed = true;
}

io_uring_sqe* UringEngine::Impl::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  if (s == nullptr) {
    ++stats.sq_full;
    submit_queued(Enter::Submit);  // make room: a full SQ is a batch ready to go anyway
    s = io_uring_get_sqe(&ring);
  }
  return s;  // never null after a submit: the SQ was just emptied
}

void UringEngine::Impl::send(std::uint32_t from_port, std::uint16_t bid,
                             std::span<const std::uint8_t> packet, std::uint32_t egress_port,
                             const Endpoint& dest, Direction dir) {
  const int fd = ports[egress_port].fd;
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
  s.failed = false;
  io_uring_sqe* q = sqe();
  // MSG_DONTWAIT: a full socket buffer fails the send at once instead of parking it in the
  // ring, so every send is done when the io_uring_enter that issued it returns.
  if (send_to) {
    io_uring_prep_send(q, fd, s.iov.iov_base, s.iov.iov_len, MSG_DONTWAIT);
    io_uring_prep_send_set_addr(q, reinterpret_cast<const sockaddr*>(&s.to),
                                static_cast<std::uint16_t>(s.msg.msg_namelen));
  } else {
    io_uring_prep_sendmsg(q, fd, &s.msg, MSG_DONTWAIT);
  }
  target(q, egress_port);
  q->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(q, user_data(kSend, 0, bid));
  queued[queued_count++] = bid;
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
  // Blocking: the ring's read of it then waits for a ring instead of failing with EAGAIN.
  const int doorbell = ::eventfd(0, EFD_CLOEXEC);
  if (doorbell < 0) {
    why = "eventfd() failed";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>(io, doorbell);
  if (!impl->init(why)) {
    return nullptr;
  }
  return std::unique_ptr<UringEngine>(new UringEngine(std::move(impl)));
}

UringEngine::UringEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UringEngine::~UringEngine() = default;

const UringStats& UringEngine::stats() const { return impl_->stats; }

void UringEngine::run() { impl_->run(); }

void UringEngine::poll() { impl_->poll(); }

void UringEngine::wake() {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is about to overflow: the loop has a wake-up pending anyway.
  [[maybe_unused]] const auto n = ::write(impl_->doorbell.native_handle(), &one, sizeof(one));
}

}  // namespace portico::media
