#include "liveness.hpp"

#include <algorithm>

namespace eg::gateway {

namespace {

namespace v1 = eldercare::v1;

// A report that the device is gone, made by someone else (its bridge, the
// gateway): never a sign of life.
bool says_gone(const v1::SensorEvent& event) {
  if (event.kind() != v1::EVENT_KIND_DEVICE_HEALTH) return false;
  switch (event.device_health().condition()) {
    case v1::DeviceHealthPayload::CONDITION_OFFLINE:
    case v1::DeviceHealthPayload::CONDITION_SILENT:
    case v1::DeviceHealthPayload::CONDITION_LEFT_NETWORK:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::string> Liveness::heard(drivers::Driver& driver, const drivers::Events& events, SteadyTime now) {
  // Taken whatever happens, so nothing carries over to the next message.
  std::vector<std::string> quiet = driver.take_heard();
  std::vector<std::string> back;
  auto limit = limits_.find(&driver);
  if (limit == limits_.end()) return back;
  for (const auto& event : events)
    if (!says_gone(event)) note(event.device_id(), limit->second, now, back);
  for (const auto& device : quiet) note(device, limit->second, now, back);
  return back;
}

void Liveness::note(const std::string& device, std::chrono::seconds limit, SteadyTime now,
                    std::vector<std::string>& back) {
  if (!registered_(device) && silence_.watched() >= capacity_ && !silence_.contains(device)) return;
  if (silence_.heard(device, now, limit) && std::find(back.begin(), back.end(), device) == back.end())
    back.push_back(device);
}

}  // namespace eg::gateway
