// Native driver: our own eldercare.v1.SensorEvent, protobuf binary, from
// sensors whose firmware we control.
//
// Topic: <base>/<anything> (default base "eldercare/native"), one SensorEvent
// per message. The sensor fills device_id, kind, the payload matching the kind
// and, if it has a clock, sensor_time. The gateway owns id, gateway_id,
// sequence, resident/room/bed and received_time: whatever the sensor put there
// is replaced. Every event is reported (the sensor decides what is news).
//
// Rejected: bytes that are not a SensorEvent (malformed), no device_id or no
// kind, a payload that does not match the kind (wrong_type), and vitals outside
// what a living person shows (out_of_range).
#include "native.hpp"

#include <optional>

#include "event_builder.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::SensorEvent;

// The payload case each kind must carry.
SensorEvent::PayloadCase payload_for(eldercare::v1::EventKind kind) {
  switch (kind) {
    case eldercare::v1::EVENT_KIND_FALL:
      return SensorEvent::kFall;
    case eldercare::v1::EVENT_KIND_GAS:
      return SensorEvent::kGas;
    case eldercare::v1::EVENT_KIND_SMOKE:
      return SensorEvent::kSmoke;
    case eldercare::v1::EVENT_KIND_WATER_LEAK:
      return SensorEvent::kWaterLeak;
    case eldercare::v1::EVENT_KIND_SOS_CALL:
      return SensorEvent::kSos;
    case eldercare::v1::EVENT_KIND_DOOR:
      return SensorEvent::kDoor;
    case eldercare::v1::EVENT_KIND_PRESENCE:
      return SensorEvent::kPresence;
    case eldercare::v1::EVENT_KIND_BED:
      return SensorEvent::kBedState;
    case eldercare::v1::EVENT_KIND_VITALS:
      return SensorEvent::kVitals;
    case eldercare::v1::EVENT_KIND_WATER_METER:
      return SensorEvent::kWaterMeter;
    case eldercare::v1::EVENT_KIND_DEVICE_HEALTH:
      return SensorEvent::kDeviceHealth;
    default:
      return SensorEvent::PAYLOAD_NOT_SET;
  }
}

std::optional<std::string> vitals_out_of_range(const eldercare::v1::VitalsPayload& v) {
  struct Check {
    bool present;
    double value, min, max;
    const char* field;
  };
  for (const Check& c :
       {Check{v.has_heart_rate_bpm(), v.heart_rate_bpm(), 20, 300, "heart_rate_bpm"},
        Check{v.has_breathing_rate_per_min(), v.breathing_rate_per_min(), 0, 80, "breathing_rate_per_min"},
        Check{v.has_spo2_percent(), v.spo2_percent(), 50, 100, "spo2_percent"},
        Check{v.has_systolic_mmhg(), v.systolic_mmhg(), 50, 300, "systolic_mmhg"},
        Check{v.has_diastolic_mmhg(), v.diastolic_mmhg(), 20, 200, "diastolic_mmhg"},
        Check{v.has_body_temperature_celsius(), v.body_temperature_celsius(), 30, 45, "body_temperature_celsius"}})
    if (c.present && !(c.value >= c.min && c.value <= c.max))  // also catches NaN
      return std::string(c.field) + " " + std::to_string(c.value) + " is outside [" + std::to_string(c.min) + ", " +
             std::to_string(c.max) + "]";
  return std::nullopt;
}

}  // namespace

DecodeResult NativeDriver::decode(const Message& message) {
  SensorEvent event;
  if (!event.ParseFromArray(message.payload.data(), static_cast<int>(message.payload.size())))
    return DecodeError{DecodeError::Code::kMalformed, "not a protobuf eldercare.v1.SensorEvent"};
  if (event.device_id().empty()) return DecodeError{DecodeError::Code::kWrongType, "device_id is empty"};
  if (event.kind() == eldercare::v1::EVENT_KIND_UNSPECIFIED || !eldercare::v1::EventKind_IsValid(event.kind()))
    return DecodeError{DecodeError::Code::kWrongType, "kind is unspecified or unknown"};
  if (event.payload_case() != payload_for(event.kind()))
    return DecodeError{DecodeError::Code::kWrongType,
                       "payload does not match kind " + eldercare::v1::EventKind_Name(event.kind())};
  if (event.has_vitals())
    if (auto reason = vitals_out_of_range(event.vitals())) return DecodeError{DecodeError::Code::kOutOfRange, *reason};

  SensorEvent normalized = make_event(message, name(), event.device_id(), event.kind());
  if (event.has_sensor_time()) *normalized.mutable_sensor_time() = event.sensor_time();
  // Copy the typed payload across by re-using protobuf's own merge, keeping the
  // gateway-owned fields from make_event.
  event.clear_id();
  event.clear_gateway_id();
  event.clear_sequence();
  event.clear_resident_id();
  event.clear_room();
  event.clear_bed();
  event.clear_received_time();
  event.clear_driver();
  event.clear_source_topic();
  event.clear_retained();
  normalized.MergeFrom(event);
  return Events{std::move(normalized)};
}

}  // namespace eg::drivers
