// The driver contract: one publisher family's MQTT messages in, normalized
// SensorEvents out. Drivers are sans-I/O and single-threaded: the gateway calls
// decode() from its loop thread only; a driver may keep per-device state
// (Zigbee2MQTT repeats the whole cached state, so "changed" needs memory).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/common/result.hpp"
#include "eldercare/v1/sensor_event.pb.h"

namespace eg::drivers {

// Messages larger than this are rejected before any parsing: no sensor we know
// publishes more than a few kilobytes, and a huge payload is an attack or a bug.
inline constexpr std::size_t kMaxPayloadBytes = 64 * 1024;

// Device ids the gateway gives its own health events ("gateway:store", ...).
// No driver may produce one: a sensor that could would forge the gateway's
// own reports, so the router refuses the whole message.
inline constexpr std::string_view kReservedIdPrefix = "gateway:";

struct Message {
  std::string_view topic;
  std::string_view payload;
  WallTime received;
  bool retained = false;
};

struct DecodeError {
  enum class Code {
    kMalformed,    // not parseable at all (bad JSON, truncated, wrong encoding)
    kWrongType,    // parseable, but a field has a type we cannot read
    kOutOfRange,   // a value no real sensor reports (heart rate 900, battery -5)
    kTooLarge,     // over kMaxPayloadBytes
    kUnsupported,  // a topic this driver does not understand
    kReservedId,   // names a device in the gateway's own namespace (kReservedIdPrefix)
  };
  Code code;
  std::string reason;
};

std::string_view to_string(DecodeError::Code code);

using Events = std::vector<eldercare::v1::SensorEvent>;
using DecodeResult = Result<Events, DecodeError>;

class Driver {
 public:
  virtual ~Driver() = default;
  // Stable lower-case name used in config, metrics and SensorEvent.driver.
  virtual std::string_view name() const = 0;
  // MQTT filters this instance's messages arrive on, given its options, e.g.
  // {"zigbee2mqtt/#"}. The gateway subscribes to them and routes by them.
  virtual std::vector<std::string> topic_filters() const = 0;
  // Decodes one message. An empty list means "nothing new" (a repeated state,
  // a bridge inventory message). Fills device_id, kind, payload, sensor_time
  // where known, received_time, driver and source_topic; the gateway adds id,
  // sequence and the registry's resident/room/bed.
  virtual DecodeResult decode(const Message& message) = 0;
  // Forgets what it remembers to report only changes: the next message of
  // each device counts as news. The gateway calls it when events it decoded
  // were not stored (a failed commit) and the broker will send them again.
  virtual void forget_state() {}
  // Devices the last decode() heard from even when it reported nothing new
  // (an unchanged reading): a device is alive whenever it speaks. Devices of
  // the events it returned are heard too; the gateway adds those itself.
  virtual std::vector<std::string> take_heard() { return {}; }
};

}  // namespace eg::drivers
