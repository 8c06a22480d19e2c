// The explicit list of drivers, by the names used in config and in
// `eldercare-sim decode`'s "publisher" field. No static self-registration.
#pragma once

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

const std::vector<DriverInfo>& known_drivers();

// Creates the driver `name` for messages under `base_topic`; nullptr for an
// unknown name.
std::unique_ptr<Driver> make_driver(std::string_view name, std::string base_topic);

}  // namespace eg::drivers
