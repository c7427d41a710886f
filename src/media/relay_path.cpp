// The relay packet path (docs/style.md, "Packet path"):
//
//   readable ─► recvmmsg (≤ kBatch) ─► per packet: size ─► demux ─► latch ─► destination
//             ─► transform ─► enqueue ─► … ─► sendmmsg on the egress socket (sendto on partial)
//
// Readiness comes from the shard's EpollSet (every socket registered once, edge-triggered) or,
// without one, from an asio wait per socket. A wake-up drains at most kMaxBatchesPerWake batches, then posts itself, so one flooded
// socket cannot starve the rest of the shard. Every dropped packet is counted by reason.
// Nothing here allocates or throws: buffers and vectors live in the shard's RelayBatch.
// With a UringEngine the same stages run on datagrams the engine delivers from its provided
// buffers (on_uring_packet), and stage_enqueue queues an io_uring send instead.

#include <arpa/inet.h>

#include <asio/post.hpp>

#include <algorithm>
#include <cstring>

#include "relay_impl.hpp"
#include "rtcp_reports.hpp"
#include "rtp_header.hpp"
#include "sockaddr.hpp"

namespace portico::media {

RelayBatch::RelayBatch() {
  for (std::size_t i = 0; i < kBatch; ++i) {
    rx_iov[i] = iovec{data[i].data(), kMaxPacket};
    rx[i].msg_hdr.msg_name = &rx_from[i];
    rx[i].msg_hdr.msg_iov = &rx_iov[i];
    rx[i].msg_hdr.msg_iovlen = 1;
  }
}

RelayBatch& shard_batch() {
  thread_local const std::unique_ptr<RelayBatch> batch = std::make_unique<RelayBatch>();
  return *batch;
}

void RelayStream::Impl::on_readable(std::size_t port) {
  RelayPort& in = ports[port];
  RelayBatch& bt = shard_batch();
  const TimePoint now = deps.timers.now();  // one clock read per wake-up, not per packet
  for (unsigned round = 0; round < kMaxBatchesPerWake; ++round) {
    const int got = receive_batch(in);
    for (int i = 0; i < got; ++i) {
      const auto slot = static_cast<std::size_t>(i);
      const std::size_t len = bt.rx[slot].msg_len;
      PacketCtx ctx{in,
                    bt.data[slot].data(),
                    kSlot,
                    0,
                    std::span<std::uint8_t>(bt.data[slot].data(), std::min(len, kMaxPacket)),
                    endpoint_from(bt.rx_from[slot]),
                    in.channel,
                    direction_from(in.side),
                    {},
                    now,
                    (bt.rx[slot].msg_hdr.msg_flags & MSG_TRUNC) != 0 || len > kMaxPacket};
      process(ctx);
    }
    flush(in);
    if (got < static_cast<int>(kBatch)) {
      // Drained (recvmmsg saw an empty queue): a later datagram raises a new readiness edge,
      // which the shard's EpollSet reports; without one, wait on this socket again.
      if (epoll == nullptr || epoll_slots[port] == EpollSet::kNoSlot) {
        arm(port);
      }
      return;
    }
  }
  asio::post(deps.io, [this, guard = std::weak_ptr<int>(life), port] {
    if (!guard.expired()) {
      on_readable(port);
    }
  });
}

int RelayStream::Impl::receive_batch(RelayPort& in) {
  RelayBatch& bt = shard_batch();
  for (auto& m : bt.rx) {
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);  // the rest was wired once (RelayBatch)
  }
  const int n = ::recvmmsg(in.fd, bt.rx.data(), kBatch, MSG_DONTWAIT,
                           nullptr);
  // EAGAIN is the normal end of a drain; other errors (EINTR, ENOMEM) end it too and the
  // next readiness edge resumes.
  return n < 0 ? 0 : n;
}

void RelayStream::Impl::on_uring_packet(std::size_t index, std::uint16_t bid,
                                        std::span<std::uint8_t> packet, std::size_t capacity,
                                        const sockaddr* from, socklen_t from_len,
                                        bool truncated) {
  RelayPort& in = ports[index];
  sockaddr_storage ss{};
  std::memcpy(&ss, from, std::min<std::size_t>(from_len, sizeof(ss)));
  PacketCtx ctx{in,
                packet.data(),
                std::min(capacity, kSlot),
                bid,
                packet.first(std::min(packet.size(), kMaxPacket)),
                endpoint_from(ss),
                in.channel,
                direction_from(in.side),
                {},
                deps.timers.now(),
                truncated || packet.size() > kMaxPacket};
  process(ctx);
}

void RelayStream::Impl::on_uring_sent(Direction dir, std::size_t len, bool ok) {
  if (ok) {
    count_sent(dir, len);
  } else {
    counters.send_error.add();
  }
}

void RelayStream::Impl::process(PacketCtx& ctx) {
  // Each stage returns false after counting why it dropped the packet.
  if (stage_size(ctx) && stage_demux(ctx) && stage_latch(ctx) && stage_observe(ctx) &&
      stage_destination(ctx) && stage_transform(ctx)) {
    stage_enqueue(ctx);
  }
}

bool RelayStream::Impl::stage_size(PacketCtx& ctx) {
  // recvmmsg reads at most kMaxPacket bytes (the rest of the slot is transform tailroom) and
  // flags a longer datagram with MSG_TRUNC: relaying its first 2 KiB would corrupt it.
  if (ctx.truncated) {
    counters.oversize.add();
    return false;
  }
  return true;
}

bool RelayStream::Impl::stage_demux(PacketCtx& ctx) {
  // RFC 5761 §4: a muxed port carries both flows; RTCP must reach the RTCP latch and the
  // transform as RTCP (SRTCP is protected differently). Unmuxed ports know their channel.
  // STUN/DTLS demux (RFC 7983) goes here once ICE and DTLS-SRTP exist.
  if (rtcp_mux) {
    ctx.channel = classify_muxed(ctx.packet);
  }
  return true;
}

bool RelayStream::Impl::stage_latch(PacketCtx& ctx) {
  Latch& l = latch(ctx.in.side, ctx.channel);
  switch (l.on_packet(ctx.source, packet_ssrc(ctx.channel, ctx.packet), ctx.now,
                      relatch_after)) {
    case Latch::Verdict::Hijack:
      counters.hijack_dropped.add();
      return false;
    case Latch::Verdict::Stranger:
      counters.source_dropped.add();
      return false;
    case Latch::Verdict::Malformed:
      counters.malformed_rtp.add();
      return false;
    case Latch::Verdict::Latched:
      counters.latched.add();
      break;
    case Latch::Verdict::Relatched:
      counters.relatched.add();
      break;
    case Latch::Verdict::Accept:
      break;
  }
  last_rx[static_cast<std::size_t>(ctx.in.side)].store(ctx.now.time_since_epoch().count(),
                                                        std::memory_order_relaxed);
  return true;
}

bool RelayStream::Impl::stage_observe(PacketCtx& ctx) {
  // Plain RTCP only: SRTCP report blocks are encrypted (an SRTP leg's reception quality is not
  // read; its header alone is in clear).
  if (ctx.channel == Channel::Rtcp && !(transform && transform->inbound_encrypted(ctx.direction))) {
    SharedReception& shared = reception[static_cast<std::size_t>(ctx.in.side)];
    ReceptionQuality q = shared.load();
    const std::size_t n =
        for_each_report_block(ctx.packet, [&q](const ReportBlock& r) { add_report(q, r); });
    if (n > 0) {
      shared.store(q);
      counters.rtcp_reports[static_cast<std::size_t>(ctx.direction)].add(n);
    }
  }
  return true;
}

bool RelayStream::Impl::stage_destination(PacketCtx& ctx) {
  const auto& dest = latch(other(ctx.in.side), ctx.channel).destination();
  if (!dest) {
    counters.no_destination.add();  // the other peer's address is not known yet
    return false;
  }
  ctx.destination = *dest;
  return true;
}

bool RelayStream::Impl::stage_transform(PacketCtx& ctx) {
  if (!transform) {
    return true;
  }
  std::uint8_t* const start = ctx.packet.data();
  std::span<std::uint8_t> p = ctx.packet;
  // The transform may only resize within this slot; anything else is a bug in it, and the
  // packet is dropped rather than sending foreign memory.
  if (!transform->apply(ctx.direction, ctx.channel, p, ctx.capacity) || p.data() != start ||
      p.size() > ctx.capacity) {
    counters.transform_dropped.add();
    const TransformDrop why = transform->last_drop();
    if (why == TransformDrop::AuthFail) {
      counters.transform_auth_fail.add();
    } else if (why == TransformDrop::Replay) {
      counters.transform_replay.add();
    } else {
      counters.transform_other.add();
    }
    return false;
  }
  ctx.packet = p;
  return true;
}

void RelayStream::Impl::stage_enqueue(PacketCtx& ctx) {
  if (uring != nullptr) {
    // Same buffer, no copy: the engine returns it to the ring when the send completes.
    const auto index = static_cast<std::size_t>(&ctx.in - ports.data());
    uring->send(uring_slots[index], ctx.bid, ctx.packet, uring_slots[ctx.in.egress],
                ctx.destination, ctx.direction);
    return;
  }
  RelayBatch& bt = shard_batch();
  const std::size_t i = bt.tx_count++;
  bt.tx_iov[i] = iovec{ctx.packet.data(), ctx.packet.size()};
  bt.tx[i] = mmsghdr{};
  bt.tx[i].msg_hdr.msg_name = &bt.tx_to[i];
  bt.tx[i].msg_hdr.msg_namelen = sockaddr_from(ctx.destination, bt.tx_to[i]);
  bt.tx[i].msg_hdr.msg_iov = &bt.tx_iov[i];
  bt.tx[i].msg_hdr.msg_iovlen = 1;
}

void RelayStream::Impl::flush(RelayPort& in) {
  RelayBatch& bt = shard_batch();
  const std::size_t n = bt.tx_count;
  bt.tx_count = 0;
  if (n == 0) {
    return;
  }
  const int fd = ports[in.egress].fd;
  const Direction dir = direction_from(in.side);
  const int sent = ::sendmmsg(fd, bt.tx.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
  std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
  for (std::size_t i = 0; i < done; ++i) {
    count_sent(dir, bt.tx_iov[i].iov_len);
  }
  // Partial send: sendmmsg stops at the first failing datagram. Send the rest one by one so a
  // single bad destination (or a momentarily full buffer) costs only its own packets.
  for (std::size_t i = done; i < n; ++i) {
    const auto& h = bt.tx[i].msg_hdr;
    if (::sendto(fd, bt.tx_iov[i].iov_base, bt.tx_iov[i].iov_len, MSG_DONTWAIT,
                 static_cast<const sockaddr*>(h.msg_name), h.msg_namelen) < 0) {
      counters.send_error.add();
    } else {
      count_sent(dir, bt.tx_iov[i].iov_len);
    }
  }
}

void RelayStream::Impl::count_sent(Direction dir, std::size_t len) {
  const auto d = static_cast<std::size_t>(dir);
  counters.packets[d].add();
  counters.bytes[d].add(len);
}

}  // namespace portico::media
