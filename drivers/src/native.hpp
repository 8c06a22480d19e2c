#pragma once

#include <string>

#include "eg/drivers/driver.hpp"

namespace eg::drivers {

class NativeDriver final : public Driver {
 public:
  explicit NativeDriver(std::string base_topic) : base_topic_(std::move(base_topic)) {}
  std::string_view name() const override { return "native"; }
  std::vector<std::string> topic_filters() const override { return {base_topic_ + "/#"}; }
  DecodeResult decode(const Message& message) override;

 private:
  std::string base_topic_;
};

}  // namespace eg::drivers
