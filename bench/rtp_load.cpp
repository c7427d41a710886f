// RTP load generator and receiver for bench/media.sh (not part of the build or the test suite).
//
//   g++ -std=c++20 -O2 -pthread -o rtp_load bench/rtp_load.cpp
//   rtp_load --plan FILE [--warmup S] [--duration S] [--drain S] [--tick-us N] [--cpu-pid PID]...
//            [--softirq-pid PID]... [--rx-poll-us N] [--late-ms N] [--no-timestamps]
//            [--no-realtime]
//
// The plan (written by bench/media_bench.py) lists the sockets to bind and the streams to send:
//
//   sock   <sock_id> <ipv4> <port>
//   stream <stream_id> <src_sock_id> <dst_ipv4> <dst_port> <rx_sock_id>
//
// A stream is one direction of one call's RTP: 50 packets/s (20 ms ptime), each a 172-byte UDP
// payload (12-byte RTP header, PT 0 PCMU, + 160 bytes). The 28 bytes after the RTP header carry
// a magic, the stream id, a 32-bit sequence number, the packet's global index and its
// CLOCK_MONOTONIC send time (ns); the rest is PCMU silence (0xff). A stream leaves from socket
// src_sock_id towards the relay's port dst and is expected back on socket rx_sock_id. Several
// streams may share one socket (the receiver tells them apart by the stream id in the payload),
// so sending and receiving are batched with sendmmsg/recvmmsg.
//
// Pacing: stream s of N has phase s * 20 ms / N; its k-th packet (global index k * N + s) is due
// at t0 + k * 20 ms + phase: absolute deadlines, no drift. The sender thread sleeps on an
// absolute clock_nanosleep until the next deadline, but at least --tick-us (default 200 us)
// after its previous wake-up, and sends everything due, one sendmmsg per source socket. It runs
// SCHED_FIFO with no timer slack (--no-realtime: plain SCHED_OTHER): a late sender sends its
// backlog as one burst, and every relay would then show the burst as latency. How late it sent
// (send time - due time) is reported as send_late_us.
//
// Timeline: t0 ... warm-up ... w0 = t0 + warmup ... window ... w1 = w0 + duration (sending stops)
// ... w1 + drain (receiving stops). Only packets sent inside [w0, w1) are counted: a packet is
// lost if it did not arrive by w1 + drain; one the relay held more than --late-ms (default 50;
// added latency below) is counted as late: too late for a jitter buffer. Latency, two ways:
//   added: kernel software timestamps (SO_TIMESTAMPING), both CLOCK_REALTIME. From the TX
//          timestamp of the packet the generator sent (taken by the loopback device as the
//          packet heads for the relay; read back from the sending socket's error queue,
//          identified by the packet's global index passed as SCM_TS_OPT_ID) to the RX timestamp of
//          the relayed copy (taken as the relay's output enters the loopback device). That is the
//          relay's residence time (wake-up, recvmmsg, processing, sendmmsg) and ~0 with no relay in
//          the path: the generator's own scheduling is not in it.
//   e2e:   CLOCK_MONOTONIC read just before each sendmmsg (written in the payload) to
//          CLOCK_MONOTONIC read by the receiver thread when recvmmsg returns (one read per batch):
//          what an application sees, including the generator's own delays on a busy host and
//          up to --rx-poll-us of polling.
// Receiving: with --rx-poll-us N > 0 (default 100) the receiver thread wakes every N us and
// drains whatever is ready (epoll_wait with no timeout, recvmmsg per ready socket), like a NIC's
// interrupt moderation. Nobody sleeps on the sockets then, so a datagram delivered over loopback
// does not make its *sender* pay for a cross-CPU wake-up of the receiver: a relay is charged for
// its own work, not for waking the generator. N = 0 blocks in epoll_wait instead.
// --no-timestamps turns the kernel timestamps off (no added-latency figure).
// The CPU time (utime + stime from /proc/PID/stat, all threads) of every --cpu-pid and of this
// process, and the busy share of the whole machine (/proc/stat), are read at w0 and at w1.
//
// Output: one JSON object on stdout. Diagnostics on stderr. Exit status 0 unless set-up failed.

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81  // Linux 6.13+: per-sendmsg id for OPT_ID timestamps
#endif

namespace {

constexpr std::int64_t kPeriodNs = 20'000'000;  // 20 ms ptime
constexpr std::size_t kRtpHeader = 12;
constexpr std::size_t kPayload = 160;
constexpr std::size_t kPacket = kRtpHeader + kPayload;  // 172 bytes of UDP payload
constexpr std::uint32_t kMagic = 0x50544d42;
constexpr std::size_t kBatch = 64;
constexpr std::int64_t kHistNs = 1000;         // 1 us buckets
constexpr std::size_t kHistBuckets = 200'000;  // up to 200 ms, then one overflow bucket

// Payload layout after the RTP header.
constexpr std::size_t kOffMagic = kRtpHeader, kOffStream = kRtpHeader + 4, kOffSeq = kRtpHeader + 8,
                      kOffIndex = kRtpHeader + 12, kOffSent = kRtpHeader + 16;

std::int64_t now_ns(clockid_t c = CLOCK_MONOTONIC) {
  timespec ts{};
  clock_gettime(c, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until(std::int64_t t) {
  timespec ts{static_cast<time_t>(t / 1'000'000'000), static_cast<long>(t % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "rtp_load: %s\n", msg.c_str());
  std::exit(2);
}

sockaddr_in make_addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) die("bad IPv4 address " + ip);
  if ((ntohl(a.sin_addr.s_addr) >> 24) != 127) die("refusing a non-loopback address: " + ip);
  return a;
}

template <class T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::int64_t ts_ns(const timespec& ts) {
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// One generator endpoint: two sockets bound on the same address with SO_REUSEPORT and a
/// classic BPF program that steers every incoming datagram to the first one. `rx` receives (the
/// receiver thread's epoll); `tx` sends and keeps its TX timestamps on its own error queue,
/// drained by the sender thread right after each sendmmsg, so a timestamp wakes nobody up.
/// To a relay the two are one address: RTP leaves from, and returns to, the same port.
struct Sock {
  int rx = -1;
  int tx = -1;
  sockaddr_in addr{};
};

struct Stream {
  std::uint32_t src = 0;  // index into socks
  std::uint32_t rx = 0;   // socket the relayed stream is expected on
  sockaddr_in dst{};
  std::uint64_t sent_window = 0;  // sender thread
  std::uint64_t send_fail = 0;    // sender thread
};

/// Receiver-side state of one stream (receiver thread only).
struct RxStream {
  std::uint64_t got_window = 0;  // unique in-window packets that arrived before w1 + drain
  std::uint64_t got_total = 0;
  std::uint64_t dups = 0;
  std::uint64_t reordered = 0;
  std::uint64_t misrouted = 0;  // arrived on a socket other than rx
  std::int64_t max_seq = -1;
  std::array<std::uint64_t, 16> seen{};  // last 1024 sequence numbers (duplicate detection)
};

/// recvmmsg vectors for up to kBatch datagrams of at most Size bytes, with ancillary data.
template <std::size_t Size>
struct RecvBatch {
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<std::array<std::uint8_t, Size>, kBatch> data{};
  std::array<std::array<std::uint8_t, 256>, kBatch> ctrl{};

  int receive(int fd, int flags) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      iov[i] = iovec{data[i].data(), data[i].size()};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = ctrl[i].data();
      msgs[i].msg_hdr.msg_controllen = ctrl[i].size();
    }
    return recvmmsg(fd, msgs.data(), kBatch, flags | MSG_DONTWAIT, nullptr);
  }
};

struct Hist {
  std::vector<std::uint64_t> b = std::vector<std::uint64_t>(kHistBuckets + 1, 0);
  std::uint64_t n = 0;
  std::int64_t max = 0;
  long double sum = 0;
  void add(std::int64_t ns) {
    ns = std::max<std::int64_t>(ns, 0);
    ++b[std::min(static_cast<std::size_t>(ns / kHistNs), kHistBuckets)];
    ++n;
    sum += ns;
    max = std::max(max, ns);
  }
  /// Upper edge of the 1 us bucket that holds the q-th percentile.
  double pct_us(double q) const {
    if (n == 0) return NAN;
    auto want = static_cast<std::uint64_t>(std::ceil(q / 100.0 * static_cast<double>(n)));
    want = std::max<std::uint64_t>(want, 1);
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i <= kHistBuckets; ++i) {
      acc += b[i];
      if (acc >= want) {
        return std::min(static_cast<double>((i + 1) * kHistNs), static_cast<double>(max)) / 1e3;
      }
    }
    return static_cast<double>(max) / 1e3;
  }
  double mean_us() const { return n ? static_cast<double>(sum / n) / 1e3 : NAN; }
};

double proc_ticks(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto p = s.rfind(')');
  if (p == std::string::npos) return NAN;
  std::istringstream is(s.substr(p + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && (is >> field); ++i) {  // field 3 = state; 14 utime, 15 stime
    if (i == 14) ut = std::stod(field);
    if (i == 15) st = std::stod(field);
  }
  return ut + st;
}

struct CpuSample {
  double relay = 0, self = 0, softirq = 0;
  std::uint64_t busy = 0, total = 0;  // /proc/stat, all CPUs
};

struct Options {
  std::string plan;
  double warmup = 2.0, duration = 10.0, drain = 0.5;
  std::int64_t tick_ns = 200'000;
  std::vector<int> cpu_pids;
  std::vector<int> softirq_pids;  // ksoftirqd/N: packet work the kernel deferred to a thread
  bool timestamps = true;
  bool realtime = true;               // SCHED_FIFO sender thread
  std::int64_t late_ns = 50'000'000;  // held longer by the relay = useless to a jitter buffer
  std::int64_t rx_poll_ns = 100'000;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--plan") {
      o.plan = val();
    } else if (a == "--warmup") {
      o.warmup = std::stod(val());
    } else if (a == "--duration") {
      o.duration = std::stod(val());
    } else if (a == "--drain") {
      o.drain = std::stod(val());
    } else if (a == "--tick-us") {
      o.tick_ns = std::stoll(val()) * 1000;
    } else if (a == "--cpu-pid") {
      o.cpu_pids.push_back(std::stoi(val()));
    } else if (a == "--softirq-pid") {
      o.softirq_pids.push_back(std::stoi(val()));
    } else if (a == "--no-timestamps") {
      o.timestamps = false;
    } else if (a == "--no-realtime") {
      o.realtime = false;
    } else if (a == "--late-ms") {
      o.late_ns = std::stoll(val()) * 1'000'000;
    } else if (a == "--rx-poll-us") {
      o.rx_poll_ns = std::stoll(val()) * 1000;
    } else {
      die("unknown option " + a);
    }
  }
  if (o.plan.empty()) die("--plan FILE is required");
  if (o.duration <= 0 || o.warmup < 0 || o.drain < 0 || o.tick_ns < 20'000) die("bad timing");
  return o;
}

class Generator {
 public:
  explicit Generator(Options o) : opt_(std::move(o)) {}

  void load_plan() {
    std::ifstream f(opt_.plan);
    if (!f) die("cannot read " + opt_.plan);
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream is(line);
      std::string kind;
      if (!(is >> kind) || kind[0] == '#') continue;
      std::uint32_t id = 0;
      std::string ip;
      int port = 0;
      if (kind == "sock") {
        if (!(is >> id >> ip >> port) || id != socks_.size()) die("bad sock line: " + line);
        socks_.push_back(Sock{-1, -1, make_addr(ip, port)});
      } else if (kind == "stream") {
        Stream s;
        if (!(is >> id >> s.src >> ip >> port >> s.rx) || id != streams_.size()) {
          die("bad stream line: " + line);
        }
        if (s.src >= socks_.size() || s.rx >= socks_.size()) die("unknown sock in: " + line);
        s.dst = make_addr(ip, port);
        streams_.push_back(s);
      } else {
        die("bad plan line: " + line);
      }
    }
    if (streams_.empty()) die("no streams in the plan");
    rx_.resize(streams_.size());
  }

  int open_one(const sockaddr_in& addr, int ts_flags) const {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
    int buf = 8 << 20;  // as root the FORCE variants lift rmem_max/wmem_max
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    if (opt_.timestamps &&
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts_flags, sizeof ts_flags) != 0) {
      die(std::string("SO_TIMESTAMPING: ") + std::strerror(errno));
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
      die(std::string("bind ") + ip + ":" + std::to_string(ntohs(addr.sin_port)) + ": " +
          std::strerror(errno));
    }
    return fd;
  }

  void open_sockets() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    // "return 0": every datagram for the group goes to its first socket, the rx one
    sock_filter steer[] = {{BPF_RET | BPF_K, 0, 0, 0}};
    sock_fprog prog{1, steer};
    for (std::size_t i = 0; i < socks_.size(); ++i) {
      Sock& s = socks_[i];
      s.rx = open_one(s.addr, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
      if (setsockopt(s.rx, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) {
        die(std::string("SO_ATTACH_REUSEPORT_CBPF: ") + std::strerror(errno));
      }
      s.tx = open_one(s.addr, SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                                  SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      epoll_ctl(epfd_, EPOLL_CTL_ADD, s.rx, &ev);
    }
  }

  void run() {
    t0_ = now_ns() + 100'000'000;
    w0_ = t0_ + static_cast<std::int64_t>(opt_.warmup * 1e9);
    w1_ = w0_ + static_cast<std::int64_t>(opt_.duration * 1e9);
    end_ = w1_ + static_cast<std::int64_t>(opt_.drain * 1e9);
    // Global packet indexes run from 0 to below `packets_`; TX/RX kernel timestamps by index.
    const auto n = static_cast<std::int64_t>(streams_.size());
    packets_ = static_cast<std::uint64_t>(((w1_ - t0_) / kPeriodNs + 2) * n);
    if (packets_ > 0xffffffffULL) die("too many packets for 32-bit indexes");
    tx_ts_.assign(packets_, 0);
    rx_ts_.assign(packets_, 0);

    std::thread rx([this] { receive_loop(); });
    std::thread tx([this] { send_loop(); });
    sleep_until(w0_);
    sample(cpu0_);
    sleep_until(w1_);
    sample(cpu1_);
    tx.join();
    rx.join();
    for (std::uint64_t g = 0; g < packets_; ++g) {
      if (rx_ts_[g] == 0) continue;
      if (tx_ts_[g] == 0) {
        ++tx_ts_missing_;
        continue;
      }
      added_.add(rx_ts_[g] - tx_ts_[g]);
      if (rx_ts_[g] - tx_ts_[g] > opt_.late_ns) ++late_;
    }
  }

  /// Packets due inside [w0, w1): what a generator that keeps up sends in the window.
  std::uint64_t scheduled() const {
    const std::uint64_t n = streams_.size();
    std::uint64_t count = 0;
    for (std::uint64_t s = 0; s < n; ++s) {
      const std::int64_t phase =
          static_cast<std::int64_t>(s) * kPeriodNs / static_cast<std::int64_t>(n);
      // k-th packet due at t0 + k * period + phase; count k with w0 <= due < w1
      auto first_at_or_after = [&](std::int64_t t) {
        const std::int64_t x = t - t0_ - phase;
        return x <= 0 ? 0 : (x + kPeriodNs - 1) / kPeriodNs;
      };
      count += static_cast<std::uint64_t>(first_at_or_after(w1_) - first_at_or_after(w0_));
    }
    return count;
  }

  void report() const {
    std::uint64_t sent = 0, fail = 0, got = 0, got_total = 0, dups = 0, reord = 0, misr = 0;
    std::uint64_t lossy_streams = 0;
    double worst = 0;
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      const Stream& s = streams_[i];
      const RxStream& r = rx_[i];
      sent += s.sent_window;
      fail += s.send_fail;
      got += std::min(r.got_window, s.sent_window);
      got_total += r.got_total;
      dups += r.dups;
      reord += r.reordered;
      misr += r.misrouted;
      if (r.got_window < s.sent_window) {
        ++lossy_streams;
        worst = std::max(
            worst, 1.0 - static_cast<double>(r.got_window) / static_cast<double>(s.sent_window));
      }
    }
    const double tck = static_cast<double>(sysconf(_SC_CLK_TCK));
    auto num = [](double x) {
      if (std::isnan(x)) return std::string("null");
      char b[64];
      std::snprintf(b, sizeof b, "%.3f", x);
      return std::string(b);
    };
    auto hist = [&](const Hist& h) {
      return "{\"n\": " + std::to_string(h.n) + ", \"p50\": " + num(h.pct_us(50)) +
             ", \"p90\": " + num(h.pct_us(90)) + ", \"p99\": " + num(h.pct_us(99)) +
             ", \"p999\": " + num(h.pct_us(99.9)) +
             ", \"max\": " + num(static_cast<double>(h.max) / 1e3) +
             ", \"mean\": " + num(h.mean_us()) + "}";
    };
    const double busy = cpu1_.total > cpu0_.total
                            ? static_cast<double>(cpu1_.busy - cpu0_.busy) /
                                  static_cast<double>(cpu1_.total - cpu0_.total)
                            : NAN;
    std::printf(
        "{\"streams\": %zu, \"sockets\": %zu, \"window_s\": %.3f, \"sent\": %" PRIu64
        ", \"send_fail\": %" PRIu64 ", \"received\": %" PRIu64 ", \"lost\": %" PRIu64
        ", \"loss\": %.6f, \"late\": %" PRIu64
        ", \"late_ms\": %.0f"
        ", \"lossy_streams\": %" PRIu64
        ", \"worst_stream_loss\": %.4f"
        ", \"received_total\": %" PRIu64 ", \"dups\": %" PRIu64 ", \"reordered\": %" PRIu64
        ", \"misrouted\": %" PRIu64 ", \"foreign\": %" PRIu64 ", \"tx_ts_missing\": %" PRIu64
        ", \"lat_added_us\": %s, \"lat_e2e_us\": %s, \"send_late_us\": %s, \"relay_cpu_s\": %s"
        ", \"generator_cpu_s\": %s, \"softirq_cpu_s\": %s, \"host_busy\": %s"
        ", \"scheduled\": %" PRIu64 ", \"clk_tck\": %.0f}\n",
        streams_.size(), socks_.size(), static_cast<double>(w1_ - w0_) / 1e9, sent, fail, got,
        sent - got, sent ? static_cast<double>(sent - got) / static_cast<double>(sent) : 1.0, late_,
        static_cast<double>(opt_.late_ns) / 1e6, lossy_streams, worst, got_total, dups, reord, misr,
        foreign_, tx_ts_missing_, hist(added_).c_str(), hist(e2e_).c_str(),
        hist(send_late_).c_str(),
        opt_.cpu_pids.empty() ? "null" : num((cpu1_.relay - cpu0_.relay) / tck).c_str(),
        num((cpu1_.self - cpu0_.self) / tck).c_str(),
        num((cpu1_.softirq - cpu0_.softirq) / tck).c_str(), num(busy).c_str(), scheduled(), tck);
  }

 private:
  void sample(CpuSample& c) const {
    c.relay = 0;
    for (int pid : opt_.cpu_pids) c.relay += proc_ticks(pid);
    for (int pid : opt_.softirq_pids) c.softirq += proc_ticks(pid);
    c.self = proc_ticks(getpid());
    std::ifstream f("/proc/stat");
    std::string cpu;
    std::uint64_t v[10] = {};
    f >> cpu;
    for (auto& x : v) f >> x;
    c.total = 0;
    for (int i = 0; i < 8; ++i) c.total += v[i];  // guest time (8, 9) is already in user
    c.busy = c.total - v[3] - v[4];               // minus idle and iowait
  }

  // ---- sender thread ----------------------------------------------------------------------

  struct Out {  // pending datagrams of one source socket
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iov{};
    std::array<std::array<std::uint8_t, kPacket>, kBatch> data{};
    std::array<std::array<std::uint8_t, CMSG_SPACE(sizeof(std::uint32_t))>, kBatch> ctrl{};
    std::array<std::uint32_t, kBatch> index{};
    std::size_t count = 0;
  };

  /// When packet g is due (stream g % N, round g / N).
  std::int64_t deadline(std::uint64_t g) const {
    const auto n = static_cast<std::uint64_t>(streams_.size());
    return t0_ + static_cast<std::int64_t>(g / n) * kPeriodNs +
           static_cast<std::int64_t>(g % n) * kPeriodNs / static_cast<std::int64_t>(n);
  }

  void send_loop() {
    // The sender is the clock of the benchmark: a late wake-up turns into a burst that every
    // relay then queues. Real-time priority (root) and no timer slack keep it on schedule; it
    // sleeps between wake-ups, so it cannot starve the relay.
    if (opt_.realtime) {
      sched_param sp{};
      sp.sched_priority = 10;
      if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) {
        std::fprintf(stderr, "rtp_load: SCHED_FIFO not available; sender runs SCHED_OTHER\n");
      }
      prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    }
    const std::uint64_t n = streams_.size();
    std::vector<Out> out(socks_.size());
    std::vector<std::size_t> used;
    std::uint64_t g = 0;
    std::int64_t wake = t0_;
    while (deadline(g) < w1_) {
      sleep_until(wake);
      const std::int64_t now = now_ns();
      // Everything due by now. After a late wake-up the backlog goes at once; its send time is
      // the real one, so lateness shows in the e2e latency instead of being hidden.
      for (; deadline(g) <= now && deadline(g) < w1_; ++g) {
        const std::uint32_t src = streams_[g % n].src;
        Out& o = out[src];
        if (o.count == 0) used.push_back(src);
        o.index[o.count++] = static_cast<std::uint32_t>(g);
        if (o.count == kBatch) flush(o, src);
      }
      for (std::size_t src : used) flush(out[src], src);
      used.clear();
      wake = std::max(deadline(g), now + opt_.tick_ns);
    }
  }

  void flush(Out& o, std::size_t sock) {
    if (o.count == 0) return;
    const std::uint64_t n = streams_.size();
    const std::int64_t t = now_ns();
    for (std::size_t i = 0; i < o.count; ++i) {
      const std::uint32_t g = o.index[i];
      const auto id = static_cast<std::uint32_t>(g % n);
      const auto seq = static_cast<std::uint32_t>(g / n);
      std::uint8_t* p = o.data[i].data();
      p[0] = 0x80;  // V=2
      p[1] = 0;     // PT 0 (PCMU)
      const std::uint16_t seq16 = htons(static_cast<std::uint16_t>(seq));
      const std::uint32_t rtp_ts = htonl(seq * 160u);
      const std::uint32_t ssrc = htonl(0x10000000u + id);
      std::memcpy(p + 2, &seq16, 2);
      std::memcpy(p + 4, &rtp_ts, 4);
      std::memcpy(p + 8, &ssrc, 4);
      std::memcpy(p + kOffMagic, &kMagic, 4);
      std::memcpy(p + kOffStream, &id, 4);
      std::memcpy(p + kOffSeq, &seq, 4);
      std::memcpy(p + kOffIndex, &g, 4);
      std::memcpy(p + kOffSent, &t, 8);
      std::memset(p + kOffSent + 8, 0xff, kPacket - kOffSent - 8);
      o.iov[i] = iovec{p, kPacket};
      o.msgs[i] = mmsghdr{};
      msghdr& h = o.msgs[i].msg_hdr;
      h.msg_name = &streams_[id].dst;
      h.msg_namelen = sizeof(sockaddr_in);
      h.msg_iov = &o.iov[i];
      h.msg_iovlen = 1;
      if (!opt_.timestamps) continue;
      h.msg_control = o.ctrl[i].data();
      h.msg_controllen = o.ctrl[i].size();
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_TS_OPT_ID;  // the TX timestamp comes back tagged with g
      c->cmsg_len = CMSG_LEN(sizeof(std::uint32_t));
      std::memcpy(CMSG_DATA(c), &g, sizeof g);
    }
    const bool in_window = t >= w0_ && t < w1_;
    if (in_window) {
      for (std::size_t i = 0; i < o.count; ++i) send_late_.add(t - deadline(o.index[i]));
    }
    std::size_t done = 0;
    while (done < o.count) {
      const int r =
          sendmmsg(socks_[sock].tx, o.msgs.data() + done, static_cast<unsigned>(o.count - done), 0);
      if (r < 0 && errno == EINTR) continue;
      const std::size_t ok = r > 0 ? static_cast<std::size_t>(r) : 0;
      if (in_window) {
        for (std::size_t i = done; i < done + ok; ++i) ++streams_[o.index[i] % n].sent_window;
      }
      done += ok;
      if (ok == 0) {
        // EAGAIN (full send buffer) or an error on this datagram: not sent, and not counted
        // as sent (a generator shortfall, reported as send_fail, not relay loss).
        ++streams_[o.index[done] % n].send_fail;
        ++done;
      }
    }
    o.count = 0;
    if (opt_.timestamps) drain_tx_timestamps(socks_[sock].tx);
  }

  /// The TX timestamps of what was just sent (loopback takes them inside sendmmsg).
  void drain_tx_timestamps(int fd) {
    for (;;) {
      const int got = ts_batch_->receive(fd, MSG_ERRQUEUE);
      if (got <= 0) return;
      for (int i = 0; i < got; ++i) on_tx_timestamp(ts_batch_->msgs[static_cast<std::size_t>(i)]);
      if (got < static_cast<int>(kBatch)) return;
    }
  }

  // ---- receiver thread --------------------------------------------------------------------

  void receive_loop() {
    auto batch = std::make_unique<RecvBatch<2048>>();
    std::vector<epoll_event> evs(512);
    for (;;) {
      const std::int64_t now = now_ns();
      if (now >= end_) break;
      int timeout_ms = 0;
      if (opt_.rx_poll_ns > 0) {
        sleep_until(std::min(now + opt_.rx_poll_ns, end_));  // then look at what arrived
      } else {
        timeout_ms = static_cast<int>(std::min<std::int64_t>((end_ - now) / 1'000'000 + 1, 100));
      }
      const int ne = epoll_wait(epfd_, evs.data(), static_cast<int>(evs.size()), timeout_ms);
      for (int e = 0; e < ne; ++e) {
        const epoll_event& ev = evs[static_cast<std::size_t>(e)];
        const std::uint32_t sock = ev.data.u32;
        const int fd = socks_[sock].rx;
        if (ev.events & EPOLLIN) {
          for (;;) {
            const int got = batch->receive(fd, 0);
            if (got <= 0) break;
            const std::int64_t t = now_ns();
            for (int i = 0; i < got; ++i) {
              const auto k = static_cast<std::size_t>(i);
              on_packet(sock, batch->msgs[k], batch->data[k].data(), t);
            }
            if (got < static_cast<int>(kBatch)) break;
          }
        }
      }
    }
  }

  static std::int64_t kernel_ts(msghdr& h, const sock_extended_err** ee) {
    std::int64_t t = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
        scm_timestamping s;
        std::memcpy(&s, CMSG_DATA(c), sizeof s);
        t = ts_ns(s.ts[0]);
      } else if (ee != nullptr && ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))) {
        *ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      }
    }
    return t;
  }

  void on_tx_timestamp(mmsghdr& m) {
    const sock_extended_err* ee = nullptr;
    const std::int64_t t = kernel_ts(m.msg_hdr, &ee);
    if (ee == nullptr || ee->ee_origin != SO_EE_ORIGIN_TIMESTAMPING || t == 0) return;
    if (ee->ee_data < packets_) tx_ts_[ee->ee_data] = t;
  }

  void on_packet(std::uint32_t sock, mmsghdr& m, const std::uint8_t* p, std::int64_t t_user) {
    if (m.msg_len != kPacket || load<std::uint32_t>(p + kOffMagic) != kMagic) {
      ++foreign_;
      return;
    }
    const auto id = load<std::uint32_t>(p + kOffStream);
    const auto seq = load<std::uint32_t>(p + kOffSeq);
    const auto g = load<std::uint32_t>(p + kOffIndex);
    const auto sent = load<std::int64_t>(p + kOffSent);
    if (id >= rx_.size() || g >= packets_) {
      ++foreign_;
      return;
    }
    RxStream& r = rx_[id];
    ++r.got_total;
    if (sock != streams_[id].rx) ++r.misrouted;
    const std::int64_t s = seq;
    auto bit = [&](std::int64_t x) -> std::uint64_t& {
      return r.seen[static_cast<std::size_t>((x / 64) % 16)];
    };
    const std::uint64_t mask = std::uint64_t{1} << (s % 64);
    if (r.max_seq >= 0 && s <= r.max_seq) {
      if (r.max_seq - s >= 1024 || (bit(s) & mask) != 0) {
        ++r.dups;  // (or too old to tell: never counted as a fresh arrival)
        return;
      }
      bit(s) |= mask;
      ++r.reordered;
    } else {
      for (std::int64_t x = std::max(r.max_seq + 1, s - 1023); x < s; ++x) {
        bit(x) &= ~(std::uint64_t{1} << (x % 64));
      }
      bit(s) |= mask;
      r.max_seq = s;
    }
    if (sent < w0_ || sent >= w1_) return;
    ++r.got_window;
    e2e_.add(t_user - sent);
    if (!opt_.timestamps && t_user - sent > opt_.late_ns) ++late_;
    rx_ts_[g] = kernel_ts(m.msg_hdr, nullptr);
  }

  Options opt_;
  std::vector<Sock> socks_;
  std::vector<Stream> streams_;
  std::vector<RxStream> rx_;  // receiver thread
  int epfd_ = -1;
  std::int64_t t0_ = 0, w0_ = 0, w1_ = 0, end_ = 0;
  std::uint64_t packets_ = 0;
  std::vector<std::int64_t> tx_ts_;  // sender thread, by global index
  std::vector<std::int64_t> rx_ts_;  // receiver thread, by global index
  std::unique_ptr<RecvBatch<64>> ts_batch_ = std::make_unique<RecvBatch<64>>();  // sender thread
  Hist added_, e2e_;
  Hist send_late_;  // sender thread: send time - due time, for the in-window packets
  std::uint64_t foreign_ = 0, tx_ts_missing_ = 0;
  // in-window packets the relay delayed by more than --late-ms (added latency; e2e latency
  // with --no-timestamps)
  std::uint64_t late_ = 0;
  CpuSample cpu0_, cpu1_;
};

}  // namespace

int main(int argc, char** argv) {
  Generator g(parse(argc, argv));
  g.load_plan();
  g.open_sockets();
  g.run();
  g.report();
  return 0;
}
