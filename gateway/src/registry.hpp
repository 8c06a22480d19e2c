// What the registry ([[devices]]) adds to a decoded event, and what it says
// the event means. Shared by the gateway and the scenario replay in tests.
#pragma once

#include "eg/gateway/config.hpp"
#include "eldercare/v1/sensor_event.pb.h"

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

}  // namespace eg::gateway
