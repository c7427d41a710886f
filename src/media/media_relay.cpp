// MediaRelay: the streams of one call, indexed like the SDP m= lines (RFC 3264 §6: answer
// m= lines match the offer's by position), plus the call's running totals.

#include "portico/media/relay.hpp"

namespace portico::media {

Result<RelayStream*> MediaRelay::open_stream(std::size_t index, StreamConfig config) {
  close_stream(index);  // a replaced stream's ports drain before the new ones are taken
  auto opened = RelayStream::open(deps_, std::move(config));
  if (!opened) {
    return opened.error();
  }
  if (streams_.size() <= index) {
    streams_.resize(index + 1);
  }
  streams_[index] = std::move(opened).value();
  return streams_[index].get();
}

RelayStream* MediaRelay::stream(std::size_t index) {
  return index < streams_.size() ? streams_[index].get() : nullptr;
}

void MediaRelay::close_stream(std::size_t index) {
  if (index < streams_.size() && streams_[index]) {
    closed_totals_ += streams_[index]->stats();
    streams_[index].reset();
  }
}

void MediaRelay::close() {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    close_stream(i);
  }
}

std::size_t MediaRelay::open_streams() const {
  std::size_t n = 0;
  for (const auto& s : streams_) {
    n += s ? 1 : 0;
  }
  return n;
}

RelayStats MediaRelay::stats() const {
  RelayStats total = closed_totals_;
  for (const auto& s : streams_) {
    if (s) {
      total += s->stats();
    }
  }
  return total;
}

}  // namespace portico::media
