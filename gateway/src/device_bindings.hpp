// Which driver and which topics each device speaks through. A device id is
// only a name inside a payload or a topic; without a binding, a compromised
// Tasmota plug could publish a "fall cleared" in the native format under the
// radar's id, or a second Zigbee2MQTT bridge could speak for the first one's
// devices. So each device is bound to one driver and one topic filter: pinned
// by the registry ([[devices]] driver = ..., topic = ...) or learned from the
// first message it is heard in (the route's driver and filter). An event for
// the device through anything else is refused.
//
// Learned bindings live in memory, at most `max_learned` of them (the ids come
// from the network); registered devices always get one. Loop thread only.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "eg/gateway/config.hpp"

namespace eg::gateway {

class DeviceBindings {
 public:
  struct Binding {
    std::string driver;        // a driver's name()
    std::string topic_filter;  // an MQTT filter the device's topics match
  };

  enum class Verdict {
    kAccepted,  // matches its binding
    kLearned,   // first sight: now bound to this driver and route
    kUnbound,   // an unregistered device past max_learned: accepted, not bound
    kRefused,   // came through another driver or topic than its binding
  };

  explicit DeviceBindings(std::size_t max_learned) : max_learned_(max_learned) {}

  // Takes the registry's pins. Learned bindings survive a reload unless the
  // registry now pins the device differently.
  void configure(const std::map<std::string, DeviceEntry, std::less<>>& devices);

  // Judges an event for `device` decoded by `driver` from `topic`, which
  // arrived on the route `route_filter`.
  Verdict check(const std::string& device, std::string_view driver, std::string_view route_filter,
                std::string_view topic);

  // The binding `device` has, or nullptr.
  const Binding* find(const std::string& device) const;
  std::size_t learned() const { return learned_.size(); }

 private:
  struct Pin {
    std::string driver;  // empty: learned from the first message
    std::string topic;   // an MQTT filter; empty: learned (the route's filter)
  };
  std::unordered_map<std::string, Pin> pins_;         // every registered device, by id
  std::unordered_map<std::string, Binding> learned_;  // what the first message showed, pins applied
  std::size_t max_learned_;
};

}  // namespace eg::gateway
