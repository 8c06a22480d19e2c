// Seeds a Mersenne Twister from the kernel's entropy pool across its whole
// state. `std::mt19937_64 engine(std::random_device{}())` puts one 32-bit word
// into 312 words of state, so every id it will ever produce is one of 2^32
// sequences: an attacker who sees one id can find the seed and predict the
// rest. getrandom(2) blocks only until the pool is first initialised at boot.
#pragma once

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <random>
#include <system_error>

namespace eg::gateway {

// Fills the whole buffer from getrandom(2), retrying short reads and EINTR.
inline void fill_from_kernel(void* buffer, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(buffer);
  std::size_t done = 0;
  while (done < size) {
    ssize_t got = ::getrandom(bytes + done, size - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    done += static_cast<std::size_t>(got);
  }
}

// An mt19937_64 whose 19,968 bits of state all come from the kernel.
inline std::mt19937_64 kernel_seeded_engine() {
  std::array<std::uint32_t, std::mt19937_64::state_size * 2> words{};
  fill_from_kernel(words.data(), sizeof words);
  std::seed_seq seed(words.begin(), words.end());
  return std::mt19937_64(seed);
}

}  // namespace eg::gateway
