// RelayStream set-up, peers and teardown. The packet path itself is in relay_path.cpp.
//
// Port layout: 0 = A RTP, 1 = B RTP, and without rtcp-mux 2 = A RTCP, 3 = B RTCP. Each port
// sends what it receives out of its partner (0<->1, 2<->3), so a packet never changes between
// RTP and RTCP sockets; with rtcp-mux (RFC 5761) both flows share ports 0 and 1.

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
  malformed_rtp += o.malformed_rtp;
  send_error += o.send_error;
  oversize += o.oversize;
  transform_dropped += o.transform_dropped;
  latched += o.latched;
  relatched += o.relatched;
  return *this;
}

RelayStream::Impl::Impl(RelayDeps d, RelayStream& o, PortLease pa, PortLease pb)
    : deps(d),
      owner(o),
      a(std::move(pa)),
      b(std::move(pb)),
      uring(d.uring != nullptr ? &d.uring->impl() : nullptr),
      epoll(d.uring == nullptr ? d.epoll : nullptr) {
  epoll_slots.fill(EpollSet::kNoSlot);
  ports[0] = RelayPort{&a.rtp_socket(), a.rtp_fd(), Side::A, Channel::Rtp, 1};
  ports[1] = RelayPort{&b.rtp_socket(), b.rtp_fd(), Side::B, Channel::Rtp, 0};
  port_count = 2;
  if (!a.rtcp_mux()) {
    ports[2] = RelayPort{&a.rtcp_socket(), a.rtcp_fd(), Side::A, Channel::Rtcp, 3};
    ports[3] = RelayPort{&b.rtcp_socket(), b.rtcp_fd(), Side::B, Channel::Rtcp, 2};
    port_count = 4;
  }
  for (std::size_t i = 0; i < port_count; ++i) {
    locals[i] = local_of(*ports[i].socket);
  }
}

RelayStream::Impl::~Impl() {
  if (uring != nullptr) {
    // Before the leases close the sockets: no completion may reach this object any more.
    for (std::size_t i = 0; i < port_count; ++i) {
      uring->remove_port(uring_slots[i]);
    }
  }
  if (epoll != nullptr) {
    for (std::size_t i = 0; i < port_count; ++i) {
      epoll->remove(epoll_slots[i]);  // before the leases close the sockets
    }
  }
}

Latch& RelayStream::Impl::latch(Side s, Channel c) {
  // Muxed streams have one flow per side, so RTCP shares the RTP latch.
  const std::size_t ch = a.rtcp_mux() ? 0 : static_cast<std::size_t>(c);
  return latches[static_cast<std::size_t>(s) * 2 + ch];
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
      impl_(std::make_unique<Impl>(deps, *this, std::move(a), std::move(b))) {
  set_peer(Side::A, config_.a.peer_rtp, config_.a.peer_rtcp);
  set_peer(Side::B, config_.b.peer_rtp, config_.b.peer_rtcp);
}

// Impl's members go in reverse order: the liveness guard first, then the sockets (leases), so
// the aborted completions asio posts for them find an expired guard.
RelayStream::~RelayStream() = default;

void RelayStream::start() {
  Impl& m = *impl_;
  bool all_elsewhere = true;  // every port waits in the ring or the set, none through asio
  for (std::size_t i = 0; i < m.port_count; ++i) {
    const int fd = m.ports[i].fd;
    if (m.uring != nullptr) {
      m.uring_slots[i] = m.uring->add_port(&m, i, fd);
      continue;
    }
    if (m.epoll != nullptr) {
      m.epoll_slots[i] = m.epoll->add(&m, i, fd);
    }
    if (m.epoll_slots[i] == EpollSet::kNoSlot) {
      m.arm(i);  // no set, or the kernel refused the registration: wait on the socket itself
      all_elsewhere = false;
    }
  }
  if (all_elsewhere) {
    m.a.detach_from_reactor();
    m.b.detach_from_reactor();
  }
}

Endpoint RelayStream::local_rtp(Side s) const {
  return impl_->locals[s == Side::A ? 0 : 1];
}

Endpoint RelayStream::local_rtcp(Side s) const {
  if (config_.rtcp_mux) {
    return local_rtp(s);
  }
  return impl_->locals[s == Side::A ? 2 : 3];
}

void RelayStream::set_peer(Side s, std::optional<Endpoint> rtp, std::optional<Endpoint> rtcp) {
  SideConfig& side = s == Side::A ? config_.a : config_.b;
  side.peer_rtp = std::move(rtp);
  side.peer_rtcp = std::move(rtcp);
  impl_->latch(s, Channel::Rtp).reset(side.peer_rtp, side.latch, side.latch_any_ip);
  if (!config_.rtcp_mux) {
    impl_->latch(s, Channel::Rtcp)
        .reset(rtcp_default(side.peer_rtp, side.peer_rtcp), side.latch, side.latch_any_ip);
  }
}

std::optional<Endpoint> RelayStream::destination(Side s, Channel c) const {
  return impl_->latch(s, c).destination();
}

void RelayStream::set_transform(PacketTransformPtr transform) {
  impl_->transform = std::move(transform);
}

}  // namespace portico::media
