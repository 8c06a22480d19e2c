#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class TasmotaDriver final : public Driver {
 public:
  // `prefix` is Tasmota's telemetry %prefix% ("tele" unless changed with
  // Prefix3); `local_utc_offset` is the site's offset, for the zoneless "Time".
  TasmotaDriver(std::string prefix, std::chrono::minutes local_utc_offset);
  std::string_view name() const override { return "tasmota"; }
  std::vector<std::string> topic_filters() const override;
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  DecodeResult decode_lwt(const Message& message, std::string_view tasmota_topic);
  DecodeResult decode_state(const Message& message, std::string_view tasmota_topic);
  DecodeResult decode_sensor(const Message& message, std::string_view tasmota_topic);
  // DEVICE_HEALTH ONLINE/OFFLINE when the device's availability changed.
  Events report_availability(const Message& message, std::string_view device, bool online,
                             std::optional<WallTime> sensor_time);

  std::string prefix_;
  std::chrono::minutes local_utc_offset_;
  StateCache cache_;
  // Zigbee device -> the event kind of its IAS zone, learned from the synthetic
  // key (Water, Contact, ...) Tasmota adds when it knows the zone type, so that
  // a bare ZoneStatusChange from the same device can still be classified.
  std::unordered_map<std::string, eldercare::v1::EventKind> ias_kind_;
};

}  // namespace eg::drivers
