// Remembers the last reported value of each (device, aspect) so that drivers
// of publishers that repeat their whole state (Zigbee2MQTT's cache_state) emit
// an event only when something changed. The first value seen is reported.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace eg::drivers {

class StateCache {
 public:
  // True (and remembers `signature`) when it differs from the last one stored
  // for (device, aspect) or none was stored.
  bool changed(std::string_view device, std::string_view aspect, std::string signature);
  void forget_device(std::string_view device);
  std::size_t size() const { return values_.size(); }
  // Devices asked about since the last take_heard(), changed or not, except
  // for their availability (a bridge's opinion, not the device speaking): a
  // water meter whose index did not move was still heard (issue 12 #13).
  std::vector<std::string> take_heard() { return std::exchange(heard_, {}); }
  // A device heard without a state to compare (a telegram of history only).
  void note_heard(std::string_view device);
  void clear() { values_.clear(); }
  static constexpr std::size_t kMaxEntries = 20'000;  // 2,000 devices with a handful of aspects each

 private:
  std::unordered_map<std::string, std::string> values_;  // key: device '\0' aspect
  std::vector<std::string> heard_;                       // emptied after each message
};

}  // namespace eg::drivers
