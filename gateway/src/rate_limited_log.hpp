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
    if (entries_.size() >= kMaxKeys && !entries_.contains(key)) forget_quiet(now);
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

  std::size_t size() const { return entries_.size(); }

 private:
  // Keys come from the network (topics): bounded. Keys quiet for a whole
  // interval carry nothing worth keeping; if all are loud, start afresh
  // (a few more lines in the log, never unbounded memory).
  static constexpr std::size_t kMaxKeys = 4096;
  void forget_quiet(SteadyTime now) {
    std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.last_logged >= interval_; });
    if (entries_.size() >= kMaxKeys) entries_.clear();
  }

  struct Entry {
    SteadyTime last_logged;
    std::uint64_t suppressed;
  };
  std::chrono::seconds interval_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace eg::gateway
