#pragma once

#include <map>
#include <optional>
#include <string>

#include "eg/drivers/driver.hpp"
#include "state_cache.hpp"

namespace eg::drivers {

class WmbusmetersDriver final : public Driver {
 public:
  explicit WmbusmetersDriver(std::string base_topic);
  std::string_view name() const override { return "wmbusmeters"; }
  std::vector<std::string> topic_filters() const override { return {base_topic_ + "/#"}; }
  DecodeResult decode(const Message& message) override;

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  // What a smoke detector's last telegram said about its alarm history.
  struct SmokeHistory {
    std::optional<double> alarm_counter;
    std::optional<std::string> last_alarm_date;
    std::optional<double> test_button_counter;
  };

  std::string base_topic_;
  StateCache cache_;
  std::map<std::string, SmokeHistory, std::less<>> smoke_;
};

}  // namespace eg::drivers
