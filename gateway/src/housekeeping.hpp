// The gateway's periodic upkeep, once a minute and every few hundred rows:
// devices gone silent become health events, delivered rows and dead letters
// older than the retention go, the store stays under its size cap (oldest
// routine readings first), and low free disk is reported. Each store change
// goes through the gateway's open group, so a failing disk takes the one
// failure path (Hooks::write returns false). Loop thread only.
#pragma once

#include <functional>

#include "eg/common/clock.hpp"
#include "eg/gateway/config.hpp"
#include "eg/gateway/metrics.hpp"
#include "eg/gateway/store.hpp"
#include "eldercare/v1/sensor_event.pb.h"
#include "rate_limited_log.hpp"
#include "silence_watch.hpp"

namespace eg::gateway {

class Housekeeping {
 public:
  struct Hooks {
    // Runs a store write in the open group; false if the store failed.
    std::function<bool(const std::function<void()>&)> write;
    // A health event (a device gone silent, the gateway's disk): stored,
    // forwarded and judged by the rules like any other.
    std::function<void(eldercare::v1::SensorEvent)> emit;
  };

  Housekeeping(Store& store, const GatewayConfig& config, const Clock& clock, Metrics& metrics, SilenceWatch& silence,
               Hooks hooks);

  // A row was appended: every kSizeCheckEvery rows, the size cap is checked.
  void row_appended();
  // Once a minute.
  void every_minute();

  // Readings that lose little when the oldest are dropped under the size cap.
  static bool is_routine(eldercare::v1::EventKind kind);
  // A health event the gateway reports for `device`, as if it had said so.
  static eldercare::v1::SensorEvent health_event(const std::string& device,
                                                 eldercare::v1::DeviceHealthPayload::Condition condition, WallTime now);

 private:
  void check_silence(WallTime now, SteadyTime steady_now);
  void expire(WallTime now);
  void enforce_size_cap();
  void check_disk(WallTime now);

  static constexpr int kSizeCheckEvery = 256;
  Store& store_;
  const GatewayConfig& config_;
  const Clock& clock_;
  Metrics& metrics_;
  SilenceWatch& silence_;
  Hooks hooks_;
  RateLimitedLog log_{std::chrono::seconds(60)};
  int rows_since_size_check_ = 0;
  bool disk_low_ = false;
};

}  // namespace eg::gateway
