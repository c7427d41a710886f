#pragma once
// The SessionMediaFactory of a shard whose realms have media: one AnchoredMedia per call, the
// media shard its relays run on, and the shard's media counters.

#include <asio/io_context.hpp>

#include <memory>
#include <set>
#include <string>

#include "portico/b2bua/media_ports.hpp"
#include "portico/b2bua/media_stats.hpp"
#include "portico/b2bua/session_media.hpp"
#include "portico/common/timer_service.hpp"
#include "portico/media/relay.hpp"

namespace portico::b2bua {

class AnchoredMedia;

/// Creates the media session of each call on one shard and keeps the shard's media counters.
/// Shard-local.
class AnchoredMediaFactory final : public SessionMediaFactory {
 public:
  /// `uring` and `epoll` (the shard's media I/O, see media::RelayDeps; either may be null)
  /// must outlive the factory and every session.
  AnchoredMediaFactory(asio::io_context& io, TimerService& timers, MediaPorts& ports,
                       media::UringEngine* uring = nullptr, media::EpollSet* epoll = nullptr);
  ~AnchoredMediaFactory() override;

  /// Relays the media of this shard's calls on another shard's thread (server.media_shards):
  /// its loop, clock and media I/O (uring or epoll, one of them non-null), which must outlive
  /// every session. Before the first call.
  void relay_on(asio::io_context& io, TimerService& timers, media::UringEngine* uring,
                media::EpollSet* epoll);

  SessionMediaPtr create(const std::string& call_log_id,
                         const std::shared_ptr<const policy::PolicySnapshot>& policy) override;
  /// Totals of ended sessions plus the live ones.
  MediaStats stats() const;

 private:
  friend class AnchoredMedia;
  asio::io_context& io_;
  TimerService& timers_;
  MediaPorts& ports_;
  asio::io_context* relay_io_;  // the media shard's loop (this shard's unless relay_on)
  TimerService* relay_timers_;  // the media shard's clock
  media::UringEngine* uring_;   // the media shard's media I/O
  media::EpollSet* epoll_;
  bool remote_ = false;  // the media shard is another thread
  std::set<const AnchoredMedia*> live_;
  MediaStats closed_;  // counters of ended sessions and events
};

}  // namespace portico::b2bua
