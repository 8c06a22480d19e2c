// Random (version 4) UUIDs for event and alert ids.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace eg::gateway {

class UuidGenerator {
 public:
  UuidGenerator() : engine_(std::random_device{}()) {}

  std::string next() {
    std::uint64_t hi = engine_(), lo = engine_();
    hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
    char text[37];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                  static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return text;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace eg::gateway
