#pragma once

#include <chrono>
#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class HealthData2MqttDriver final : public Driver {
 public:
  HealthData2MqttDriver(std::string base_topic, std::chrono::minutes local_utc_offset);
  std::string_view name() const override { return "healthdata2mqtt"; }
  std::vector<std::string> topic_filters() const override { return {base_topic_ + "/#"}; }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  std::string base_topic_;
  std::chrono::minutes local_utc_offset_;
  StateCache cache_;
};

}  // namespace eg::drivers
