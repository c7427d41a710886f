#pragma once
// Random numbers for everything an outsider may see or guess: tags, branches, Call-IDs, SDP
// session ids, CDR ids. They come from the kernel CSPRNG (getrandom(2)), never from a seeded
// PRNG: a few hundred observed outputs of a Mersenne Twister recover its state, and with it
// every tag and Call-ID Portico will generate next.
//
// Each thread keeps its own block of kernel bytes and refills it when used up, so a token costs
// a memcpy, and a system call once every few hundred tokens; no lock is shared between shards.
// getrandom(2) missing or failing (other than EINTR) aborts the process with a message on
// stderr at the first use: only a kernel older than 3.17 lacks it, and Portico must not run
// with predictable identifiers.

#include <cstddef>
#include <cstdint>
#include <span>

namespace portico {

/// Fills `out` with bytes from the kernel CSPRNG. Any thread.
void random_bytes(std::span<std::byte> out);
/// A uniformly random 64-bit value from the kernel CSPRNG. Any thread.
std::uint64_t random_u64();
/// A uniformly random 32-bit value from the kernel CSPRNG. Any thread.
std::uint32_t random_u32();

}  // namespace portico
