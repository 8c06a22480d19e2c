// Remembers the last reported value of each (device, aspect) so that drivers
// of publishers that repeat their whole state (Zigbee2MQTT's cache_state) emit
// an event only when something changed. The first value seen is reported.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace eg::drivers {

class StateCache {
 public:
  // True (and remembers `signature`) when it differs from the last one stored
  // for (device, aspect) or none was stored.
  bool changed(std::string_view device, std::string_view aspect, std::string signature);
  void forget_device(std::string_view device);
  std::size_t size() const { return values_.size(); }
  void clear() { values_.clear(); }
  static constexpr std::size_t kMaxEntries = 20'000;  // 2,000 devices with a handful of aspects each

 private:
  std::unordered_map<std::string, std::string> values_;  // key: device '\0' aspect
};

}  // namespace eg::drivers
