// The two MyFirstCare BLE vital-sign hubs share one message shape and one
// file: Qube-Vital (Raspberry Pi CM4) and AVA4 (ESP32). Separate drivers,
// because they publish on different topics and nest readings differently.
#pragma once

#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class QubeVitalDriver final : public Driver {
 public:
  // `topic_prefix` is empty for the box's fixed root topic CM4_BLE_GW_TX.
  explicit QubeVitalDriver(std::string topic_prefix);
  std::string_view name() const override { return "qube-vital"; }
  std::vector<std::string> topic_filters() const override { return {topic_}; }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  std::string topic_;
  StateCache cache_;
};

class Ava4Driver final : public Driver {
 public:
  // `topic_prefix` is empty for the box's fixed root topics.
  explicit Ava4Driver(std::string topic_prefix);
  std::string_view name() const override { return "ava4"; }
  std::vector<std::string> topic_filters() const override { return {status_topic_, readings_pub_, readings_sub_}; }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  std::string status_topic_;
  std::string readings_pub_;
  std::string readings_sub_;
  StateCache cache_;
};

}  // namespace eg::drivers
