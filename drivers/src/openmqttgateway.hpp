#pragma once

#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class OpenMqttGatewayDriver final : public Driver {
 public:
  explicit OpenMqttGatewayDriver(std::string base_topic);
  std::string_view name() const override { return "openmqttgateway"; }
  std::vector<std::string> topic_filters() const override {
    return {base_topic_ + "/+/BTtoMQTT/+", base_topic_ + "/+/BTtoMQTT", base_topic_ + "/+/LWT"};
  }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  DecodeResult decode_ble(const Message& message, std::string_view mac_from_topic);
  DecodeResult decode_lwt(const Message& message, std::string_view gateway);

  std::string base_topic_;
  StateCache cache_;
};

}  // namespace eg::drivers
