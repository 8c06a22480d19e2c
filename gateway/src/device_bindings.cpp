#include "device_bindings.hpp"

#include "eg/drivers/router.hpp"

namespace eg::gateway {

void DeviceBindings::configure(const std::map<std::string, DeviceEntry, std::less<>>& devices) {
  pins_.clear();
  for (const auto& [id, device] : devices) pins_[id] = Pin{device.driver, device.topic};
  // A learned binding the registry now contradicts is forgotten: the pin wins.
  for (auto it = learned_.begin(); it != learned_.end();) {
    auto pin = pins_.find(it->first);
    bool contradicted =
        pin != pins_.end() && ((!pin->second.driver.empty() && pin->second.driver != it->second.driver) ||
                               (!pin->second.topic.empty() && pin->second.topic != it->second.topic_filter));
    it = contradicted ? learned_.erase(it) : std::next(it);
  }
}

DeviceBindings::Verdict DeviceBindings::check(const std::string& device, std::string_view driver,
                                              std::string_view route_filter, std::string_view topic) {
  if (auto bound = learned_.find(device); bound != learned_.end()) {
    bool same = bound->second.driver == driver && drivers::topic_matches(bound->second.topic_filter, topic);
    return same ? Verdict::kAccepted : Verdict::kRefused;
  }
  auto pin = pins_.find(device);
  Binding binding{std::string(driver), std::string(route_filter)};
  if (pin != pins_.end()) {
    // A pinned part is checked now; the parts the registry left open are
    // learned from this first message.
    if (!pin->second.driver.empty() && pin->second.driver != driver) return Verdict::kRefused;
    if (!pin->second.topic.empty() && !drivers::topic_matches(pin->second.topic, topic)) return Verdict::kRefused;
    if (!pin->second.topic.empty()) binding.topic_filter = pin->second.topic;
  } else if (learned_.size() >= max_learned_) {
    return Verdict::kUnbound;
  }
  learned_.emplace(device, std::move(binding));
  return Verdict::kLearned;
}

const DeviceBindings::Binding* DeviceBindings::find(const std::string& device) const {
  auto bound = learned_.find(device);
  return bound == learned_.end() ? nullptr : &bound->second;
}

}  // namespace eg::gateway
