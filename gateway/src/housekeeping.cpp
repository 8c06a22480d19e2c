#include "housekeeping.hpp"

#include "eg/common/log_text.hpp"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace eg::gateway {

namespace v1 = eldercare::v1;

Housekeeping::Housekeeping(Store& store, const GatewayConfig& config, const Clock& clock, Metrics& metrics,
                           SilenceWatch& silence, Hooks hooks)
    : store_(store), config_(config), clock_(clock), metrics_(metrics), silence_(silence), hooks_(std::move(hooks)) {}

bool Housekeeping::is_routine(v1::EventKind kind) {
  return kind == v1::EVENT_KIND_VITALS || kind == v1::EVENT_KIND_PRESENCE || kind == v1::EVENT_KIND_BED ||
         kind == v1::EVENT_KIND_WATER_METER;
}

void Housekeeping::row_appended() {
  if (++rows_since_size_check_ >= kSizeCheckEvery) enforce_size_cap();
}

void Housekeeping::every_minute() {
  WallTime now = clock_.wall_now();
  check_silence(now, clock_.steady_now());
  expire(now);
  enforce_size_cap();
  check_disk(now);
}

v1::SensorEvent Housekeeping::health_event(const std::string& device, v1::DeviceHealthPayload::Condition condition,
                                           WallTime now) {
  v1::SensorEvent event;
  event.set_device_id(device);
  event.set_kind(v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(condition);
  *event.mutable_received_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  event.set_driver("gateway");
  return event;
}

// A device past its silence limit becomes a health event, as if it had said
// so itself.
void Housekeeping::check_silence(WallTime now, SteadyTime steady_now) {
  for (const auto& device : silence_.newly_silent(steady_now)) {
    metrics_.add("devices_silent_total");
    spdlog::warn("DEVICE_SILENT device={}", log_quoted(device));
    hooks_.emit(health_event(device, v1::DeviceHealthPayload::CONDITION_SILENT, now));
  }
}

// Delivered rows and dead letters past the retention; dead letters also by count.
void Housekeeping::expire(WallTime now) {
  hooks_.write([&] {
    auto cutoff = now - std::chrono::hours(24) * config_.retention_days;
    auto removed = store_.delete_delivered_before(cutoff);
    if (removed > 0) metrics_.add("rows_expired_total", removed);
    auto letters = store_.prune_dead_letters(config_.max_dead_letters, cutoff);
    if (letters > 0) metrics_.add("dead_letters_pruned_total", letters);
  });
}

// Keeps the database under its cap by dropping the oldest routine readings,
// delivered ones first; counted, logged, and reported in GatewayStatus.
void Housekeeping::enforce_size_cap() {
  rows_since_size_check_ = 0;
  const auto cap = static_cast<std::uint64_t>(config_.max_database_mb * 1024 * 1024);
  Store::Dropped total;
  bool over = false;
  hooks_.write([&] {
    if (store_.used_bytes() <= cap) return;
    over = true;
    while (store_.used_bytes() > cap * 9 / 10) {
      auto dropped = store_.drop_oldest_routine(500);
      if (dropped.delivered + dropped.undelivered == 0) {
        metrics_.add("store_over_cap_total");
        if (log_.admit("store-cap", clock_.steady_now()))
          spdlog::error(
              "STORE_OVER_CAP used_bytes={} cap_bytes={} reason=\"nothing droppable left: only alerts and safety "
              "events\"",
              store_.used_bytes(), cap);
        break;
      }
      total.delivered += dropped.delivered;
      total.undelivered += dropped.undelivered;
    }
    if (total.undelivered > 0) store_.add_to_counter("dropped_events", total.undelivered);
  });
  if (!over) return;
  if (total.undelivered > 0) metrics_.add("events_dropped_total{reason=\"size_cap\"}", total.undelivered);
  if (total.delivered + total.undelivered > 0)
    spdlog::warn("EVENTS_DROPPED reason=size_cap undelivered={} delivered={} cap_mb={}", total.undelivered,
                 total.delivered, config_.max_database_mb);
}

// Free disk below the threshold (and back above it) is a health event of the
// gateway itself: the gateway-disk-low rule tells the maintainer.
void Housekeeping::check_disk(WallTime now) {
  std::error_code ec;
  auto directory = std::filesystem::path(config_.database).parent_path();
  auto space = std::filesystem::space(directory.empty() ? "." : directory, ec);
  if (ec) return;
  bool low = static_cast<double>(space.available) < config_.min_free_disk_mb * 1024 * 1024;
  if (low == disk_low_) return;
  disk_low_ = low;
  spdlog::log(low ? spdlog::level::err : spdlog::level::info, "GATEWAY_DISK_{} free_mb={} threshold_mb={}",
              low ? "LOW" : "OK", space.available / (1024 * 1024), config_.min_free_disk_mb);
  hooks_.emit(health_event(
      "gateway:" + config_.gateway_id,
      low ? v1::DeviceHealthPayload::CONDITION_DISK_LOW : v1::DeviceHealthPayload::CONDITION_DISK_OK, now));
}

}  // namespace eg::gateway
