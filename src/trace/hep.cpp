// HEPv3 encoding and the per-shard sender (see hep.hpp for the chunk list).

#include "portico/trace/hep.hpp"

#include <cstring>
#include <system_error>

namespace portico::trace {
namespace {

enum Chunk : std::uint16_t {
  kFamily = 0x0001,
  kProtocol = 0x0002,
  kSrc4 = 0x0003,
  kDst4 = 0x0004,
  kSrc6 = 0x0005,
  kDst6 = 0x0006,
  kSrcPort = 0x0007,
  kDstPort = 0x0008,
  kSeconds = 0x0009,
  kMicros = 0x000a,
  kPayloadType = 0x000b,
  kAgentId = 0x000c,
  kAuthKey = 0x000e,
  kPayload = 0x000f,
  kCorrelation = 0x0011,
};

constexpr std::size_t kChunkHeader = 6;
constexpr std::uint8_t kAfInet = 2;
constexpr std::uint8_t kAfInet6 = 10;
constexpr std::uint8_t kSip = 1;

/// Appends into a fixed span; once something does not fit, every later put is refused too.
class Out {
 public:
  explicit Out(std::span<std::uint8_t> buf) : buf_(buf) {}
  bool ok() const { return ok_; }
  std::size_t size() const { return at_; }
  void raw(const void* p, std::size_t n) {
    if (!ok_ || n > buf_.size() - at_) {
      ok_ = false;
      return;
    }
    std::memcpy(buf_.data() + at_, p, n);
    at_ += n;
  }
  void u8(std::uint8_t v) { raw(&v, 1); }
  void u16(std::uint16_t v) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    raw(b, 2);
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void chunk(std::uint16_t type, const void* value, std::size_t n) {
    if (n > 0xffff - kChunkHeader) {
      ok_ = false;
      return;
    }
    u16(0);  // generic vendor
    u16(type);
    u16(static_cast<std::uint16_t>(kChunkHeader + n));
    raw(value, n);
  }
  void chunk_u8(std::uint16_t type, std::uint8_t v) { chunk(type, &v, 1); }
  void chunk_u16(std::uint16_t type, std::uint16_t v) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    chunk(type, b, 2);
  }
  void chunk_u32(std::uint16_t type, std::uint32_t v) {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24),
                               static_cast<std::uint8_t>(v >> 16),
                               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    chunk(type, b, 4);
  }

 private:
  std::span<std::uint8_t> buf_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace

std::size_t encode_hep3(std::span<std::uint8_t> out, const HepFields& f) {
  const auto& m = f.meta;
  if (m.src.address.is_v4() != m.dst.address.is_v4()) {
    return 0;
  }
  Out o(out);
  o.raw("HEP3", 4);
  o.u16(0);  // total length, set below
  const bool v4 = m.src.address.is_v4();
  o.chunk_u8(kFamily, v4 ? kAfInet : kAfInet6);
  o.chunk_u8(kProtocol, m.protocol == transport::Protocol::Udp ? 17 : 6);
  if (v4) {
    const auto s = m.src.address.to_v4().to_bytes();
    const auto d = m.dst.address.to_v4().to_bytes();
    o.chunk(kSrc4, s.data(), s.size());
    o.chunk(kDst4, d.data(), d.size());
  } else {
    const auto s = m.src.address.to_v6().to_bytes();
    const auto d = m.dst.address.to_v6().to_bytes();
    o.chunk(kSrc6, s.data(), s.size());
    o.chunk(kDst6, d.data(), d.size());
  }
  o.chunk_u16(kSrcPort, m.src.port);
  o.chunk_u16(kDstPort, m.dst.port);
  const SecUsec ts = split_time(m.time);
  o.chunk_u32(kSeconds, ts.sec);
  o.chunk_u32(kMicros, ts.usec);
  o.chunk_u8(kPayloadType, kSip);
  o.chunk_u32(kAgentId, f.agent_id);
  if (!f.password.empty()) {
    o.chunk(kAuthKey, f.password.data(), f.password.size());
  }
  if (!f.correlation.empty()) {
    o.chunk(kCorrelation, f.correlation.data(), f.correlation.size());
  }
  o.chunk(kPayload, f.payload.data(), f.payload.size());
  if (!o.ok() || o.size() > 0xffff) {
    return 0;
  }
  out[4] = static_cast<std::uint8_t>(o.size() >> 8);
  out[5] = static_cast<std::uint8_t>(o.size());
  return o.size();
}

HepSender::HepSender(asio::io_context& io, transport::Endpoint collector, std::uint32_t agent_id,
                     std::string password)
    : socket_(io),
      collector_(collector.address, collector.port),
      agent_id_(agent_id),
      password_(std::move(password)) {
  socket_.open(collector_.protocol());  // throws at start-up only
  socket_.non_blocking(true);
}

void HepSender::send(const PacketMeta& meta, std::string_view correlation, std::string_view sip) {
  const std::size_t n =
      encode_hep3(buf_, HepFields{meta, agent_id_, password_, correlation, sip});
  if (n == 0) {
    ++stats_.send_errors;
    return;
  }
  std::error_code ec;
  socket_.send_to(asio::buffer(buf_.data(), n), collector_, 0, ec);
  if (ec) {
    ++stats_.send_errors;  // would_block (buffer full), refused, unreachable: counted, not retried
  } else {
    ++stats_.sent;
  }
}

}  // namespace portico::trace
