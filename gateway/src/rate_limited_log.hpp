// Decides whether a repeated complaint about the same key (a topic, a device)
// should reach the log now, so a sensor spewing garbage at 50 Hz yields one
// line a minute, with the count of what was suppressed, not 3,000.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "eg/common/clock.hpp"

namespace eg::gateway {

class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::seconds interval) : interval_(interval) {}

  // nullopt: stay quiet. Otherwise log now, mentioning the returned number of
  // complaints suppressed since the last line for this key.
  std::optional<std::uint64_t> admit(const std::string& key, SteadyTime now) {
    auto [it, inserted] = entries_.try_emplace(key, Entry{now, 0});
    if (inserted) return 0;
    if (now - it->second.last_logged < interval_) {
      ++it->second.suppressed;
      return std::nullopt;
    }
    auto suppressed = it->second.suppressed;
    it->second = Entry{now, 0};
    return suppressed;
  }

 private:
  struct Entry {
    SteadyTime last_logged;
    std::uint64_t suppressed;
  };
  std::chrono::seconds interval_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace eg::gateway
