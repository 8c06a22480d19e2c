// Shared by drivers: an event with the fields every driver fills the same way.
#pragma once

#include <google/protobuf/util/time_util.h>

#include <string_view>

#include "eg/drivers/driver.hpp"

namespace eg::drivers {

inline google::protobuf::Timestamp to_timestamp(WallTime t) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns);
}

inline eldercare::v1::SensorEvent make_event(const Message& message, std::string_view driver,
                                             std::string_view device_id, eldercare::v1::EventKind kind) {
  eldercare::v1::SensorEvent event;
  event.set_device_id(std::string(device_id));
  event.set_kind(kind);
  *event.mutable_received_time() = to_timestamp(message.received);
  event.set_driver(std::string(driver));
  event.set_source_topic(std::string(message.topic));
  event.set_retained(message.retained);
  return event;
}

}  // namespace eg::drivers
