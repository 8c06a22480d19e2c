#include "eg/drivers/registry.hpp"

#include "zigbee2mqtt.hpp"

namespace eg::drivers {

const std::vector<DriverInfo>& known_drivers() {
  static const std::vector<DriverInfo> drivers = {
      {"zigbee2mqtt", "zigbee2mqtt"},
  };
  return drivers;
}

std::unique_ptr<Driver> make_driver(std::string_view name, DriverOptions options) {
  if (name == "zigbee2mqtt") return std::make_unique<Zigbee2MqttDriver>(std::move(options.base_topic));
  return nullptr;
}

std::unique_ptr<Driver> make_driver(std::string_view name) {
  for (const auto& info : known_drivers())
    if (info.name == name) return make_driver(name, DriverOptions{std::string(info.default_base_topic)});
  return nullptr;
}

}  // namespace eg::drivers
