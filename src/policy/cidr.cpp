// CIDR blocks: where a trunk's or access peer's requests may come from.

#include <algorithm>
#include <array>

#include "portico/common/strings.hpp"
#include "portico/policy/model.hpp"

namespace portico::policy {

namespace {

// Both families as byte arrays, so one prefix comparison serves v4 and v6.
template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  int prefix) {
  const int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  const int rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

template <std::size_t N>
std::array<unsigned char, N> network_of(const std::array<unsigned char, N>& a, int prefix) {
  std::array<unsigned char, N> out = a;
  for (std::size_t i = 0; i < N; ++i) {
    const int bits = std::max(0, std::min(8, prefix - static_cast<int>(i) * 8));
    out[i] = static_cast<unsigned char>(a[i] & (bits == 0 ? 0 : 0xff << (8 - bits)));
  }
  return out;
}

// True when every bit after `prefix` is zero.
template <std::size_t N>
bool host_bits_clear(const std::array<unsigned char, N>& a, int prefix) {
  return network_of(a, prefix) == a;
}

}  // namespace

bool Cidr::contains(const asio::ip::address& a) const {
  if (network.is_v4()) {
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they still match IPv4 rules.
    asio::ip::address_v4 v4;
    if (a.is_v4()) {
      v4 = a.to_v4();
    } else if (a.to_v6().is_v4_mapped()) {
      v4 = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    } else {
      return false;
    }
    return prefix_equal(network.to_v4().to_bytes(), v4.to_bytes(), prefix);
  }
  if (!a.is_v6()) {
    return false;
  }
  return prefix_equal(network.to_v6().to_bytes(), a.to_v6().to_bytes(), prefix);
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

Result<Cidr> parse_cidr(std::string_view text) {
  const std::string whole(text);
  const auto slash = text.find('/');
  asio::error_code ec;
  const auto addr = asio::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) {
    return make_error("bad_cidr", "\"" + whole + "\" is not an address or CIDR block");
  }
  const int max = addr.is_v4() ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const auto p = parse_uint(text.substr(slash + 1));
    if (!p || *p > static_cast<std::uint64_t>(max)) {
      return make_error("bad_cidr",
                        "\"" + whole + "\": the prefix length must be 0.." + std::to_string(max));
    }
    prefix = static_cast<int>(*p);
  }
  // "10.0.0.1/8" is almost always a typo for 10.0.0.0/8 or 10.0.0.1/32: refuse to guess which.
  const bool clear = addr.is_v4() ? host_bits_clear(addr.to_v4().to_bytes(), prefix)
                                  : host_bits_clear(addr.to_v6().to_bytes(), prefix);
  if (!clear) {
    const Cidr fixed{
        addr.is_v4()
            ? asio::ip::address(asio::ip::address_v4(network_of(addr.to_v4().to_bytes(), prefix)))
            : asio::ip::address(asio::ip::address_v6(network_of(addr.to_v6().to_bytes(), prefix))),
        prefix};
    return make_error("bad_cidr", "\"" + whole + "\" has host bits set (did you mean \"" +
                                      fixed.to_string() + "\"?)");
  }
  return Cidr{addr, prefix};
}

}  // namespace portico::policy
