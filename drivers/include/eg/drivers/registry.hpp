// The explicit list of drivers, by the names used in config and in
// `eldercare-sim decode`'s "publisher" field. No static self-registration.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eg/drivers/driver.hpp"

namespace eg::drivers {

struct DriverInfo {
  std::string_view name;
  // The publisher's usual base topic, used when config names none.
  std::string_view default_base_topic;
};

// What a driver instance is configured with.
struct DriverOptions {
  // Topic prefix its messages live under (Zigbee2MQTT base topic, ...).
  std::string base_topic;
  // For publishers that send local time without a zone (Tasmota "Time", the
  // Kati watch's "DD/MM/YYYY HH:MM:SS"): the site's offset from UTC. China
  // Standard Time, UTC+8, has no daylight saving.
  std::chrono::minutes local_utc_offset{8 * 60};
};

const std::vector<DriverInfo>& known_drivers();

// Creates the driver `name`; nullptr for an unknown name.
std::unique_ptr<Driver> make_driver(std::string_view name, DriverOptions options);
// The same, at the publisher's usual base topic and the default offset.
std::unique_ptr<Driver> make_driver(std::string_view name);

}  // namespace eg::drivers
