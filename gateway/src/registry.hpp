// What the registry ([[devices]]) adds to a decoded event, and what it says
// the event means. Shared by the gateway and the scenario replay in tests.
#pragma once

#include "eg/drivers/mapped_json.hpp"
#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"
#include "eg/gateway/config.hpp"
#include "eldercare/v1/sensor_event.pb.h"
#include "liveness.hpp"

namespace eg::gateway {

// The device's resident, room, bed and role.
inline void annotate(const DeviceEntry& device, eldercare::v1::SensorEvent& event) {
  event.set_resident_id(device.resident);
  event.set_room(device.room);
  event.set_bed(device.bed);
  event.set_device_role(device.role);
}

// A press the registry calls "I am fine" (cancel_actions) rather than a call.
inline bool is_cancel(const DeviceEntry& device, const eldercare::v1::SensorEvent& event) {
  if (device.cancel_actions.empty() || !event.has_sos() || !event.sos().active()) return false;
  for (const auto& action : device.cancel_actions)
    if (action == "*" || action == event.sos().vendor_action()) return true;
  return false;
}

// The configured drivers and their routes: an installer's mappings first (more
// specific than a publisher's catch-all base topic; validated when the config
// was read), then each driver route, whose devices `liveness` watches.
inline void build_router(const GatewayConfig& config, drivers::Router& router, Liveness& liveness) {
  for (const auto& spec : config.mapped) {
    auto& driver = router.own(std::move(drivers::make_mapped_json_driver(spec)).value());
    for (auto& filter : driver.topic_filters()) router.add_route(std::move(filter), driver);
  }
  for (const auto& route : config.drivers) {
    auto& driver =
        router.own(drivers::make_driver(route.driver, drivers::DriverOptions{route.base_topic, config.utc_offset}));
    liveness.watch(driver, route.silence_after);
    for (auto& filter : driver.topic_filters()) router.add_route(std::move(filter), driver);
  }
}

}  // namespace eg::gateway
