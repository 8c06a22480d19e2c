// A per-device token bucket for routine readings. One broken or hostile
// device publishing 50,000 readings a second must not fill the store or push
// its neighbours' alarms back in the queue: past its rate, its routine
// readings (vitals, presence, bed, meter) are dropped and counted. Alarms and
// state changes are never asked: the caller only checks routine kinds.
//
// The ids come from the network, so the table is bounded: when it is full, the
// least recently heard device makes room if its bucket has refilled (it is then
// indistinguishable from a new one); otherwise newcomers share one overflow
// bucket, which limits a publisher cycling through fresh ids as one device.
// O(1) per reading. Loop thread only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

#include "eg/common/clock.hpp"

namespace eg::gateway {

class DeviceRateLimit {
 public:
  struct Options {
    double per_second = 20;  // sustained readings per device; 0 turns the limit off
    double burst = 200;      // readings a device may send at once after a quiet spell
    std::size_t max_devices = 5'000;
  };

  explicit DeviceRateLimit(Options options) : options_(options), overflow_{options.burst, {}, {}} {}

  // True when `device` may send one more routine reading at `now`.
  bool admit(const std::string& device, SteadyTime now) {
    if (options_.per_second <= 0) return true;
    auto found = buckets_.find(device);
    if (found == buckets_.end()) {
      if (buckets_.size() >= options_.max_devices && !evict_oldest_if_refilled(now)) return take(overflow_, now);
      by_age_.push_back(device);
      found = buckets_.emplace(device, Bucket{options_.burst, now, std::prev(by_age_.end())}).first;
    } else {
      by_age_.splice(by_age_.end(), by_age_, found->second.age);  // now the most recently heard
    }
    return take(found->second, now);
  }

  std::size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    SteadyTime last;
    std::list<std::string>::iterator age;
  };

  void refill(Bucket& bucket, SteadyTime now) const {
    double elapsed = std::chrono::duration<double>(now - bucket.last).count();
    if (elapsed > 0) bucket.tokens = std::min(options_.burst, bucket.tokens + elapsed * options_.per_second);
    bucket.last = std::max(bucket.last, now);
  }

  bool take(Bucket& bucket, SteadyTime now) {
    refill(bucket, now);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  bool evict_oldest_if_refilled(SteadyTime now) {
    auto oldest = buckets_.find(by_age_.front());
    refill(oldest->second, now);
    if (oldest->second.tokens < options_.burst) return false;
    buckets_.erase(oldest);
    by_age_.pop_front();
    return true;
  }

  Options options_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> by_age_;  // least recently heard first
  Bucket overflow_;
};

}  // namespace eg::gateway
