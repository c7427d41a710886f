// AnchoredMediaFactory: the media sessions of one shard's calls and their counters (see
// anchored_media_factory.hpp).

#include "portico/b2bua/anchored_media_factory.hpp"

#include "portico/b2bua/anchored_media.hpp"

namespace portico::b2bua {

AnchoredMediaFactory::AnchoredMediaFactory(asio::io_context& io, TimerService& timers,
                                           MediaPorts& ports, media::UringEngine* uring,
                                           media::EpollSet* epoll)
    : io_(io),
      timers_(timers),
      ports_(ports),
      relay_io_(&io),
      relay_timers_(&timers),
      uring_(uring),
      epoll_(epoll) {}

void AnchoredMediaFactory::relay_on(asio::io_context& io, TimerService& timers,
                                    media::UringEngine* uring, media::EpollSet* epoll) {
  relay_io_ = &io;
  relay_timers_ = &timers;
  uring_ = uring;
  epoll_ = epoll;
  remote_ = true;
}

AnchoredMediaFactory::~AnchoredMediaFactory() = default;

SessionMediaPtr AnchoredMediaFactory::create(
    const std::string& call_log_id, const std::shared_ptr<const policy::PolicySnapshot>& policy) {
  return std::make_unique<AnchoredMedia>(*this, call_log_id, policy);
}

MediaStats AnchoredMediaFactory::stats() const {
  MediaStats out = closed_;
  for (const AnchoredMedia* s : live_) {
    s->add_stats(out);
  }
  return out;
}

}  // namespace portico::b2bua
