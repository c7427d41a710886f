#pragma once
// The two legs of a call, as signalling (b2bua) and media (media) both name them.

#include <cstddef>
#include <cstdint>

namespace portico {

/// Which leg: A is the leg that sent the initial INVITE (the caller side), B the leg Portico
/// created towards the route target. The values index per-leg arrays.
enum class Side : std::uint8_t { A = 0, B = 1 };

constexpr Side other(Side s) { return s == Side::A ? Side::B : Side::A; }

/// 0 for A, 1 for B: the position of a leg's entry in a two-element array.
constexpr std::size_t index_of(Side s) { return static_cast<std::size_t>(s); }

}  // namespace portico
