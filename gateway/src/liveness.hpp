// Who has been heard. A device is alive whenever it speaks: every device a
// sensor message names counts, changed or not (a water meter whose index did
// not move because nobody used water; a sensor's unchanged hourly report), and
// every device of a message that names several. Reports of a device being
// gone (its bridge's "offline", a Zigbee leave) are not the device speaking.
// Sans-I/O around SilenceWatch: the gateway feeds it, housekeeping asks it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/drivers/driver.hpp"
#include "silence_watch.hpp"

namespace eg::gateway {

class Liveness {
 public:
  // Registry devices are always watched; beyond them at most `capacity`
  // devices in all, so invented ids cannot grow the watch list without bound.
  Liveness(std::function<bool(const std::string&)> registered, std::size_t capacity)
      : registered_(std::move(registered)), capacity_(capacity) {}

  // Devices of `driver` are expected to speak at least every `silence_after`.
  void watch(const drivers::Driver& driver, std::chrono::seconds silence_after) { limits_[&driver] = silence_after; }

  // Notes the devices one decoded message showed alive (`events` and what the
  // driver heard without news). Returns those that had been reported silent:
  // the caller says they are back, which clears a "silent" alert.
  std::vector<std::string> heard(drivers::Driver& driver, const drivers::Events& events, SteadyTime now);

  SilenceWatch& silence() { return silence_; }

 private:
  void note(const std::string& device, std::chrono::seconds limit, SteadyTime now, std::vector<std::string>& back);

  std::function<bool(const std::string&)> registered_;
  std::size_t capacity_;
  std::unordered_map<const drivers::Driver*, std::chrono::seconds> limits_;
  SilenceWatch silence_;
};

}  // namespace eg::gateway
