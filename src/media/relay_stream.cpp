// RelayStream set-up, peers and teardown. The packet path itself is in relay_path.cpp.
//
// Port layout: 0 = A RTP, 1 = B RTP, and without rtcp-mux 2 = A RTCP, 3 = B RTCP. Each port
// sends what it receives out of its partner (0<->1, 2<->3), so a packet never changes between
// RTP and RTCP sockets; with rtcp-mux (RFC 5761) both flows share ports 0 and 1.

#include <unistd.h>

#include <asio/post.hpp>

#include <tuple>

#include "portico/common/log.hpp"
#include "relay_impl.hpp"

namespace portico::media {

namespace {

Endpoint local_of(asio::ip::udp::socket& s) {
  std::error_code ec;
  auto ep = s.local_endpoint(ec);
  return ec ? Endpoint{} : Endpoint{ep.address(), ep.port()};
}

/// RFC 3605: without a=rtcp the RTCP port is the RTP port + 1 on the same address.
std::optional<Endpoint> rtcp_default(const std::optional<Endpoint>& rtp,
                                     const std::optional<Endpoint>& rtcp) {
  if (rtcp || !rtp) {
    return rtcp;
  }
  return Endpoint{rtp->address, static_cast<std::uint16_t>(rtp->port + 1)};
}

}  // namespace

RelayStats& RelayStats::operator+=(const RelayStats& o) {
  for (std::size_t i = 0; i < 2; ++i) {
    packets[i] += o.packets[i];
    bytes[i] += o.bytes[i];
    rtcp_reports[i] += o.rtcp_reports[i];
  }
  no_destination += o.no_destination;
  hijack_dropped += o.hijack_dropped;
  source_dropped += o.source_dropped;
  malformed_rtp += o.malformed_rtp;
  send_error += o.send_error;
  oversize += o.oversize;
  transform_dropped += o.transform_dropped;
  transform_auth_fail += o.transform_auth_fail;
  transform_replay += o.transform_replay;
  transform_other += o.transform_other;
  latched += o.latched;
  relatched += o.relatched;
  return *this;
}

RelayStats StreamCounters::load() const {
  RelayStats out;
  for (std::size_t i = 0; i < 2; ++i) {
    out.packets[i] = packets[i].get();
    out.bytes[i] = bytes[i].get();
    out.rtcp_reports[i] = rtcp_reports[i].get();
  }
  out.no_destination = no_destination.get();
  out.hijack_dropped = hijack_dropped.get();
  out.source_dropped = source_dropped.get();
  out.malformed_rtp = malformed_rtp.get();
  out.send_error = send_error.get();
  out.oversize = oversize.get();
  out.transform_dropped = transform_dropped.get();
  out.transform_auth_fail = transform_auth_fail.get();
  out.transform_replay = transform_replay.get();
  out.transform_other = transform_other.get();
  out.latched = latched.get();
  out.relatched = relatched.get();
  return out;
}

ReceptionQuality SharedReception::load() const {
  constexpr auto r = std::memory_order_relaxed;
  return ReceptionQuality{reports.load(r), cumulative_lost.load(r), max_fraction_lost.load(r),
                          max_jitter.load(r)};
}

void SharedReception::store(const ReceptionQuality& q) {
  constexpr auto r = std::memory_order_relaxed;
  reports.store(q.reports, r);
  cumulative_lost.store(q.cumulative_lost, r);
  max_fraction_lost.store(q.max_fraction_lost, r);
  max_jitter.store(q.max_jitter, r);
}

RelayStream::Impl::Impl(RelayDeps d, RelaySockets s, Millis relatch)
    : deps(d),
      relatch_after(relatch),
      rtcp_mux(s.rtcp_mux),
      owns_fds(s.owns_fds),
      uring(d.uring != nullptr ? &d.uring->impl() : nullptr),
      epoll(d.uring == nullptr ? d.epoll : nullptr) {
  epoll_slots.fill(EpollSet::kNoSlot);
  port_count = s.rtcp_mux ? 2 : 4;
  for (std::size_t i = 0; i < port_count; ++i) {
    // 0 = A RTP, 1 = B RTP, 2 = A RTCP, 3 = B RTCP; each sends out of its partner (i ^ 1).
    ports[i] = RelayPort{s.sockets[i], s.fds[i], i % 2 == 0 ? Side::A : Side::B,
                         i < 2 ? Channel::Rtp : Channel::Rtcp, i ^ 1U};
  }
}

RelayStream::Impl::~Impl() {
  if (uring != nullptr) {
    // Before the sockets close: no completion may reach this object any more.
    for (std::size_t i = 0; i < port_count; ++i) {
      uring->remove_port(uring_slots[i]);
    }
  }
  if (epoll != nullptr) {
    for (std::size_t i = 0; i < port_count; ++i) {
      epoll->remove(epoll_slots[i]);  // before the sockets close
    }
  }
  if (owns_fds) {
    for (std::size_t i = 0; i < port_count; ++i) {
      if (ports[i].fd >= 0) {
        ::close(ports[i].fd);
      }
    }
  }
}

void RelayStream::Impl::start() {
  bool elsewhere = true;  // every port waits in the ring or the set, none through asio
  for (std::size_t i = 0; i < port_count; ++i) {
    const int fd = ports[i].fd;
    if (uring != nullptr) {
      uring_slots[i] = uring->add_port(this, i, fd);
      continue;
    }
    if (epoll != nullptr) {
      epoll_slots[i] = epoll->add(this, i, fd);
    }
    if (epoll_slots[i] == EpollSet::kNoSlot) {
      elsewhere = false;
      if (ports[i].socket != nullptr && ports[i].socket->is_open()) {
        arm(i);  // no set, or the kernel refused the registration: wait on the socket itself
      } else {
        // The sockets left their io_context for a media shard whose set refused them.
        log::warn("media.port_unserved", {{"fd", fd}, {"reason", "epoll_ctl failed"}});
      }
    }
  }
  all_elsewhere = elsewhere;
}

Latch& RelayStream::Impl::latch(Side s, Channel c) {
  // Muxed streams have one flow per side, so RTCP shares the RTP latch.
  const std::size_t ch = rtcp_mux ? 0 : static_cast<std::size_t>(c);
  return latches[static_cast<std::size_t>(s) * 2 + ch];
}

void RelayStream::Impl::reset_latches(Side s, std::optional<Endpoint> rtp,
                                      std::optional<Endpoint> rtcp, const SideConfig& mode) {
  latch(s, Channel::Rtp).reset(rtp, mode.latch, mode.latch_any_ip, mode.strict_port);
  if (!rtcp_mux) {
    latch(s, Channel::Rtcp)
        .reset(rtcp_default(rtp, rtcp), mode.latch, mode.latch_any_ip, mode.strict_port);
  }
}

void RelayStream::Impl::arm(std::size_t port) {
  ports[port].socket->async_wait(
      asio::ip::udp::socket::wait_read,
      [this, guard = std::weak_ptr<int>(life), port](const std::error_code& ec) {
        if (guard.expired() || ec == asio::error::operation_aborted) {
          return;  // the stream is gone (or closing): touch nothing
        }
        on_readable(port);
      });
}

Result<RelayStreamPtr> RelayStream::open(RelayDeps deps, StreamConfig config) {
  auto a = deps.a_ports.allocate(config.a.local, config.rtcp_mux);
  if (!a) {
    return a.error();
  }
  auto b = deps.b_ports.allocate(config.b.local, config.rtcp_mux);
  if (!b) {
    return b.error();  // A's lease returns its ports (to quarantine) on the way out
  }
  RelayStreamPtr stream(
      new RelayStream(deps, std::move(config), std::move(a).value(), std::move(b).value()));
  stream->start();
  return stream;
}

RelayStream::RelayStream(RelayDeps deps, StreamConfig config, PortLease a, PortLease b)
    : config_(std::move(config)),
      remote_(deps.remote && (deps.uring != nullptr || deps.epoll != nullptr)),
      media_io_(&deps.io),
      media_uring_(deps.uring),
      a_(std::move(a)),
      b_(std::move(b)) {
  RelaySockets s;
  s.rtcp_mux = a_.rtcp_mux();
  s.sockets = {&a_.rtp_socket(), &b_.rtp_socket(), &a_.rtcp_socket(), &b_.rtcp_socket()};
  const std::size_t n = s.rtcp_mux ? 2 : 4;
  for (std::size_t i = 0; i < n; ++i) {
    locals_[i] = local_of(*s.sockets[i]);  // before any detach closes the handles
  }
  if (remote_) {
    // The media shard's thread owns the descriptors from now on; the leases keep the ports.
    std::tie(s.fds[0], s.fds[2]) = a_.release_fds();
    std::tie(s.fds[1], s.fds[3]) = b_.release_fds();
    s.sockets = {};
    s.owns_fds = true;
  } else {
    s.fds = {a_.rtp_fd(), b_.rtp_fd(), a_.rtcp_fd(), b_.rtcp_fd()};
  }
  impl_ = std::make_unique<Impl>(deps, s, config_.relatch_after);
  set_peer(Side::A, config_.a.peer_rtp, config_.a.peer_rtcp);
  set_peer(Side::B, config_.b.peer_rtp, config_.b.peer_rtcp);
}

template <class Fn>
void RelayStream::on_media_shard(Fn&& fn) {
  if (!remote_) {
    fn(*impl_);
    return;
  }
  // The Impl outlives every task posted before its own deletion, which is posted last.
  asio::post(*media_io_, [impl = impl_.get(), fn = std::forward<Fn>(fn)]() mutable { fn(*impl); });
  if (media_uring_ != nullptr) {
    media_uring_->wake();
  }
}

RelayStream::~RelayStream() {
  if (remote_ && impl_) {
    // Sockets close on the media shard, after the packets it is handling; the ports return to
    // this shard's allocator now, into quarantine, which outlasts that by far.
    asio::post(*media_io_, [impl = std::move(impl_)] {});
    if (media_uring_ != nullptr) {
      media_uring_->wake();
    }
  }
  // Otherwise impl_ goes first (declared after the leases): ports leave the loop, then close.
}

void RelayStream::start() {
  if (remote_) {
    on_media_shard([](Impl& m) { m.start(); });
    return;
  }
  impl_->start();
  if (impl_->all_elsewhere) {
    a_.detach_from_reactor();
    b_.detach_from_reactor();
  }
}

Endpoint RelayStream::local_rtp(Side s) const {
  return locals_[s == Side::A ? 0 : 1];
}

Endpoint RelayStream::local_rtcp(Side s) const {
  if (config_.rtcp_mux) {
    return local_rtp(s);
  }
  return locals_[s == Side::A ? 2 : 3];
}

void RelayStream::set_peer(Side s, std::optional<Endpoint> rtp, std::optional<Endpoint> rtcp) {
  SideConfig& side = s == Side::A ? config_.a : config_.b;
  side.peer_rtp = rtp;
  side.peer_rtcp = rtcp;
  on_media_shard([s, rtp, rtcp, mode = side](Impl& m) { m.reset_latches(s, rtp, rtcp, mode); });
}

std::optional<Endpoint> RelayStream::destination(Side s, Channel c) const {
  return impl_->latch(s, c).destination();
}

void RelayStream::set_transform(PacketTransformPtr transform) {
  on_media_shard([t = std::move(transform)](Impl& m) mutable {
    if (t && m.transform) {
      t->take_over(*m.transform);
    }
    m.transform = std::move(t);
  });
}

RelayStats RelayStream::stats() const {
  return impl_->counters.load();
}

TimePoint RelayStream::last_rx(Side s) const {
  return TimePoint(Clock::duration(
      impl_->last_rx[static_cast<std::size_t>(s)].load(std::memory_order_relaxed)));
}

ReceptionQuality RelayStream::reception(Side s) const {
  return impl_->reception[static_cast<std::size_t>(s)].load();
}

}  // namespace portico::media
