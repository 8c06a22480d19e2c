#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class Zigbee2MqttDriver final : public Driver {
 public:
  explicit Zigbee2MqttDriver(std::string base_topic);
  std::string_view name() const override { return "zigbee2mqtt"; }
  std::vector<std::string> topic_filters() const override { return {base_topic_ + "/#"}; }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  DecodeResult decode_device_state(const Message& message, std::string_view device);
  DecodeResult decode_availability(const Message& message, std::string_view device);
  DecodeResult decode_bridge_event(const Message& message);

  // How long after the bridge comes back its messages are its cached replay.
  static constexpr std::chrono::seconds kReplayWindow{10};
  std::string base_topic_;
  StateCache cache_;
  std::optional<bool> bridge_online_;  // unknown until its state is seen live or retained
  std::optional<WallTime> replay_until_;
};

}  // namespace eg::drivers
