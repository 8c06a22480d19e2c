#include "eg/drivers/registry.hpp"

#include "zigbee2mqtt.hpp"

namespace eg::drivers {

const std::vector<DriverInfo>& known_drivers() {
  static const std::vector<DriverInfo> drivers = {
      {"zigbee2mqtt", "zigbee2mqtt"},
  };
  return drivers;
}

std::unique_ptr<Driver> make_driver(std::string_view name, std::string base_topic) {
  if (name == "zigbee2mqtt") return std::make_unique<Zigbee2MqttDriver>(std::move(base_topic));
  return nullptr;
}

}  // namespace eg::drivers
