// Port allocation for media relays (docs/style.md, "Threading": each shard owns a slice).
//
// Ports are tracked one by one (Free / InUse / Quarantined). A pair is an even RTP port plus
// the odd port above it (RFC 3550 §11); with rtcp-mux (RFC 5761 §4) any single free port will
// do. A round-robin cursor spreads reuse over the whole slice, and released ports sit in a FIFO
// quarantine (LiveKit's drain idea) so stray packets of an old call never reach a new one.

#include "portico/media/port_allocator.hpp"

#include <unistd.h>

#include <asio/ip/v6_only.hpp>

#include <stdexcept>
#include <string>

namespace portico::media {

PortLease::PortLease(PortAllocator& owner, std::uint16_t port, bool rtcp_mux,
                     asio::ip::udp::socket rtp, asio::ip::udp::socket rtcp)
    : owner_(&owner), port_(port), rtcp_mux_(rtcp_mux), rtp_(std::move(rtp)),
      rtcp_(std::move(rtcp)),
      rtp_fd_(rtp_.is_open() ? rtp_.native_handle() : -1),
      rtcp_fd_(rtcp_.is_open() ? rtcp_.native_handle() : -1) {}

PortLease::PortLease(PortLease&& other) noexcept
    : owner_(other.owner_), port_(other.port_), rtcp_mux_(other.rtcp_mux_),
      rtp_(std::move(other.rtp_)), rtcp_(std::move(other.rtcp_)), rtp_fd_(other.rtp_fd_),
      rtcp_fd_(other.rtcp_fd_), detached_(other.detached_) {
  other.owner_ = nullptr;
  other.rtp_fd_ = -1;
  other.rtcp_fd_ = -1;
  other.detached_ = false;
}

void PortLease::detach_from_reactor() {
  if (detached_) {
    return;
  }
  std::error_code ignored;
  if (rtp_.is_open()) {
    rtp_.release(ignored);
  }
  if (rtcp_.is_open()) {
    rtcp_.release(ignored);
  }
  detached_ = true;
}

std::pair<int, int> PortLease::release_fds() {
  detach_from_reactor();
  const std::pair<int, int> out{rtp_fd_, rtcp_fd_};
  rtp_fd_ = -1;
  rtcp_fd_ = -1;
  return out;
}

PortLease::~PortLease() {
  // Close first: the port must not be bindable by this process while it is still "in use".
  std::error_code ignored;
  rtp_.close(ignored);
  rtcp_.close(ignored);
  if (detached_) {
    for (int fd : {rtp_fd_, rtcp_fd_}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  if (owner_ != nullptr) {
    owner_->release(port_, rtcp_mux_);
  }
}

PortAllocator::PortAllocator(asio::io_context& io, TimerService& timers,
                             PortAllocatorConfig config)
    : io_(io), config_(config), cursor_(config.range.lo), timers_(timers),
      quarantine_timer_(timers) {
  if (config_.range.lo == 0 || config_.range.lo > config_.range.hi) {
    throw std::invalid_argument("media port range " + std::to_string(config_.range.lo) + "-" +
                                std::to_string(config_.range.hi) + " is empty or starts at 0");
  }
  state_.assign(std::size_t{config_.range.hi} - config_.range.lo + 1, PortState::Free);
  free_ = state_.size();
  if (config_.max_bind_attempts == 0) {
    config_.max_bind_attempts = 1;
  }
}

bool PortAllocator::is_free(std::uint32_t port) const {
  return port >= config_.range.lo && port <= config_.range.hi &&
         state_[port - config_.range.lo] == PortState::Free;
}

void PortAllocator::set_state(std::uint16_t port, PortState s) {
  PortState& cur = state_[port - config_.range.lo];
  if (cur == PortState::Free) {
    --free_;
  } else if (cur == PortState::InUse) {
    --in_use_;
  }
  if (s == PortState::Free) {
    ++free_;
  } else if (s == PortState::InUse) {
    ++in_use_;
  }
  cur = s;
}

std::uint16_t PortAllocator::next_candidate(bool rtcp_mux) {
  // One pass over the slice at most: the scan is bounded by the range size.
  const std::uint32_t lo = config_.range.lo;
  const std::uint32_t size = static_cast<std::uint32_t>(state_.size());
  for (std::uint32_t i = 0; i < size; ++i) {
    std::uint32_t port = lo + (cursor_ - lo + i) % size;
    bool fits = rtcp_mux ? is_free(port) : (port % 2 == 0 && is_free(port) && is_free(port + 1));
    if (fits) {
      cursor_ = lo + (port - lo + (rtcp_mux ? 1 : 2)) % size;
      return static_cast<std::uint16_t>(port);
    }
  }
  return 0;
}

std::error_code PortAllocator::bind_one(asio::ip::udp::socket& s, const asio::ip::address& local,
                                        std::uint16_t port) {
  // No SO_REUSEADDR: on Linux it would let two UDP sockets share the port, and a media port
  // must belong to exactly one stream.
  std::error_code ec;
  asio::ip::udp::endpoint ep(local, port);
  s.open(ep.protocol(), ec);
  if (!ec && local.is_v6()) {
    s.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    s.bind(ep, ec);
  }
  if (!ec) {
    s.non_blocking(true, ec);  // drained with recvmmsg until EAGAIN; never block the shard
  }
  if (ec) {
    std::error_code ignored;
    s.close(ignored);
  }
  return ec;
}

Result<PortLease> PortAllocator::allocate(const asio::ip::address& local, bool rtcp_mux) {
  std::error_code last;
  for (unsigned attempt = 0; attempt < config_.max_bind_attempts; ++attempt) {
    std::uint16_t port = next_candidate(rtcp_mux);
    if (port == 0) {
      return make_error("ports_exhausted", "no free media port in " +
                                               std::to_string(config_.range.lo) + "-" +
                                               std::to_string(config_.range.hi));
    }
    asio::ip::udp::socket rtp(io_);
    asio::ip::udp::socket rtcp(io_);
    if ((last = bind_one(rtp, local, port))) {
      ++bind_failures_;
      quarantine(port);  // taken by someone else: retry it only after a drain period
      continue;
    }
    if (!rtcp_mux && (last = bind_one(rtcp, local, static_cast<std::uint16_t>(port + 1)))) {
      ++bind_failures_;
      quarantine(static_cast<std::uint16_t>(port + 1));
      continue;  // `rtp` closes here; its port stays free for a muxed stream
    }
    set_state(port, PortState::InUse);
    if (!rtcp_mux) {
      set_state(static_cast<std::uint16_t>(port + 1), PortState::InUse);
    }
    return PortLease(*this, port, rtcp_mux, std::move(rtp), std::move(rtcp));
  }
  return make_error("ports_exhausted", "bind failed on " + std::to_string(
                                           config_.max_bind_attempts) +
                                           " media ports: " + last.message());
}

void PortAllocator::release(std::uint16_t port, bool rtcp_mux) {
  quarantine(port);
  if (!rtcp_mux) {
    quarantine(static_cast<std::uint16_t>(port + 1));
  }
}

void PortAllocator::quarantine(std::uint16_t port) {
  set_state(port, PortState::Quarantined);
  quarantine_.emplace_back(timers_.now() + config_.quarantine, port);
  arm_quarantine_timer();
}

void PortAllocator::arm_quarantine_timer() {
  // The delay is the same for every entry, so the FIFO head is always the earliest deadline:
  // one timer covers the whole queue.
  if (quarantine_timer_.armed() || quarantine_.empty()) {
    return;
  }
  auto delay = std::chrono::ceil<Millis>(quarantine_.front().first - timers_.now());
  quarantine_timer_.start(std::max(delay, Millis{0}), [this] { drain_quarantine(); });
}

void PortAllocator::drain_quarantine() {
  quarantine_timer_.fired();
  const TimePoint now = timers_.now();
  while (!quarantine_.empty() && quarantine_.front().first <= now) {
    set_state(quarantine_.front().second, PortState::Free);
    quarantine_.pop_front();
  }
  arm_quarantine_timer();
}

}  // namespace portico::media
