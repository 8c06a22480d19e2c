// Notices devices that have gone quiet: a battery Zigbee sensor that has not
// spoken for 25 h (Zigbee2MQTT's own offline mark), a water meter whose
// silence can mean its reader or its resident is in trouble. Sans-I/O: the
// gateway tells it who spoke when, and asks at intervals who is now silent.
// Each silence is reported once, until the device speaks again.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "eg/common/clock.hpp"

namespace eg::gateway {

class SilenceWatch {
 public:
  // A device heard from at `when`, expected to speak at least every `limit`.
  // Monotonic time: a step of the wall clock makes nobody silent. True when
  // the device had been reported silent: it is back.
  bool heard(const std::string& device, SteadyTime when, std::chrono::seconds limit) {
    auto& entry = devices_[device];
    entry.last_heard = when;
    entry.limit = limit;
    return std::exchange(entry.reported, false);
  }

  // Devices silent for longer than their limit at `now`, not reported before.
  std::vector<std::string> newly_silent(SteadyTime now) {
    std::vector<std::string> out;
    for (auto& [device, entry] : devices_) {
      if (entry.reported || now - entry.last_heard <= entry.limit) continue;
      entry.reported = true;
      out.push_back(device);
    }
    return out;
  }

  std::size_t watched() const { return devices_.size(); }
  bool contains(const std::string& device) const { return devices_.contains(device); }

 private:
  struct Entry {
    SteadyTime last_heard;
    std::chrono::seconds limit{0};
    bool reported = false;
  };
  std::unordered_map<std::string, Entry> devices_;
};

}  // namespace eg::gateway
