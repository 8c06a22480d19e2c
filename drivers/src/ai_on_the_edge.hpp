#pragma once

#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class AiOnTheEdgeDriver final : public Driver {
 public:
  explicit AiOnTheEdgeDriver(std::string main_topic);
  std::string_view name() const override { return "ai-on-the-edge"; }
  std::vector<std::string> topic_filters() const override { return {main_topic_ + "/#"}; }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  DecodeResult decode_value(const Message& message, std::string_view number);
  DecodeResult decode_connection(const Message& message);

  std::string main_topic_;
  StateCache cache_;
};

}  // namespace eg::drivers
