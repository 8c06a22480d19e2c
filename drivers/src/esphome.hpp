#pragma once

#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class EsphomeDriver final : public Driver {
 public:
  // `base_topic` is what comes before the node name in the nodes' topic_prefix:
  // "" for ESPHome's default (topic_prefix = node name), "esphome" for nodes
  // configured with topic_prefix "esphome/<node name>".
  explicit EsphomeDriver(std::string base_topic);
  std::string_view name() const override { return "esphome"; }
  std::vector<std::string> topic_filters() const override;
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  DecodeResult decode_status(const Message& message, std::string_view node);
  DecodeResult decode_entity(const Message& message, std::string_view node, std::string_view component,
                             std::string_view object_id);

  std::string base_topic_;
  StateCache cache_;
};

}  // namespace eg::drivers
