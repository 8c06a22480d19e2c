// Routes an MQTT topic to the driver that understands it, by MQTT topic
// filters ('+' and '#' wildcards). The first matching route wins, so specific
// filters go before broad ones. Owns its drivers. Loop thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eg/drivers/driver.hpp"

namespace eg::drivers {

// True when topic matches the MQTT filter (MQTT 3.1.1 section 4.7).
bool topic_matches(std::string_view filter, std::string_view topic);

class Router {
 public:
  struct Route {
    std::string filter;
    Driver* driver;
  };

  // Adds a route; several filters may share one driver instance.
  void add_route(std::string filter, Driver& driver);
  // Takes ownership of a driver and returns it for add_route.
  Driver& own(std::unique_ptr<Driver> driver);

  // The route (filter and driver) for the topic, or nullptr when none matches.
  const Route* find_route(std::string_view topic) const;
  // The driver for the topic, or nullptr when no route matches.
  Driver* find(std::string_view topic) const;
  // Decodes with the matching driver, enforcing the payload size cap first
  // and refusing any event that names a device in kReservedIdPrefix.
  DecodeResult decode(const Message& message) const;

  std::vector<std::string> filters() const;
  // Every driver forgets its change-detection memory (Driver::forget_state).
  void forget_state() {
    for (auto& driver : drivers_) driver->forget_state();
  }

 private:
  std::vector<std::unique_ptr<Driver>> drivers_;
  std::vector<Route> routes_;
};

}  // namespace eg::drivers
