// healthdata2mqtt driver: Omron blood-pressure monitors (and Mi scales) read
// over BLE by a Raspberry Pi and published per user (a fork of export2garmin).
//
// Topics (base defaults to "health"):
//   <base>/blood_pressure/<user>    one JSON reading, published QoS 1 RETAINED
//   <base>/body_composition/<user>  scale readings: weight, fat, ...; the event schema
//                                   has no place for them, so nothing is produced
// <user> is the user's e-mail with '@' -> "_at_" and '.' -> '_'; it is the device
// id (the cuff is shared, the user is who was measured). The payload's `user`
// (the e-mail itself) is not copied.
//
// Blood pressure payload:
//   {"user":..,"timestamp":"2024-01-15T10:35:00","type":"blood_pressure",
//    "data":{"systolic":120,"diastolic":80,"pulse":65,"category":"Normal",
//            "movement_detected":false,"irregular_heartbeat":false}}
//   systolic / diastolic mmHg, pulse bpm -> VITALS. category (Normal, High-Normal,
//   Grade_1, Grade_2) and the movement / irregular-heartbeat flags are the cuff's own
//   judgement and have no field in the event schema.
//   timestamp is local time without a zone, read at DriverOptions::local_utc_offset
//   -> sensor_time (a zone, if present, is honoured).
//
// Dedupe: a spot measurement is identified by its values and its timestamp, so the
// retained copy re-delivered after every reconnect produces nothing, while a new
// measurement with the same numbers is reported. A retained message that is the
// first seen for a user is reported with retained=true (possibly old; check
// sensor_time before alerting).
#include "healthdata2mqtt.hpp"

#include <nlohmann/json.hpp>

#include "event_builder.hpp"
#include "field_reader.hpp"

namespace eg::drivers {
namespace {

using nlohmann::json;
namespace jv = json_values;
namespace vr = vital_ranges;

}  // namespace

HealthData2MqttDriver::HealthData2MqttDriver(std::string base_topic, std::chrono::minutes local_utc_offset)
    : base_topic_(std::move(base_topic)), local_utc_offset_(local_utc_offset) {}

DecodeResult HealthData2MqttDriver::decode(const Message& message) {
  std::string_view topic = message.topic;
  if (!topic.starts_with(base_topic_) || topic.size() <= base_topic_.size() + 1 || topic[base_topic_.size()] != '/')
    return DecodeError{DecodeError::Code::kUnsupported, "topic is not under base topic '" + base_topic_ + "'"};
  std::string_view rest = topic.substr(base_topic_.size() + 1);
  std::size_t slash = rest.find('/');
  std::string_view kind = rest.substr(0, slash);
  std::string_view user = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (user.empty() || user.find('/') != std::string_view::npos ||
      (kind != "blood_pressure" && kind != "body_composition"))
    return DecodeError{DecodeError::Code::kUnsupported, "not a <base>/blood_pressure|body_composition/<user> topic"};

  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "payload is not a JSON object"};
  if (kind == "body_composition") return Events{};

  FirstError errors;
  FieldReader in(doc, errors);
  std::optional<WallTime> sensor_time;
  auto stamp = in.text("timestamp");
  if (stamp) {
    sensor_time = jv::parse_iso8601_local(*stamp, local_utc_offset_);
    if (!sensor_time) errors.fail(DecodeError::Code::kWrongType, "timestamp is not ISO 8601: " + excerpt_text(*stamp));
  }
  if (!in.has("data") && !errors.error())
    return DecodeError{DecodeError::Code::kMalformed, "blood pressure message has no data object"};
  FieldReader data = in.child("data");
  VitalsReading vitals;
  vitals.systolic_mmhg = data.number("systolic", vr::kSystolicMmhg);
  vitals.diastolic_mmhg = data.number("diastolic", vr::kDiastolicMmhg);
  vitals.heart_rate_bpm = data.number("pulse", vr::kHeartRateBpm);
  vitals.check_pressure(data);
  if (errors.error()) return *errors.error();
  if (vitals.empty()) return Events{};

  auto event = make_event(message, name(), user, eldercare::v1::EVENT_KIND_VITALS);
  if (sensor_time) *event.mutable_sensor_time() = to_timestamp(*sensor_time);
  vitals.fill(*event.mutable_vitals());
  if (!cache_.changed(user, "vitals", content_signature(event) + "@" + stamp.value_or(""))) return Events{};
  return Events{std::move(event)};
}

}  // namespace eg::drivers
