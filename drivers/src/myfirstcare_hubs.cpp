// MyFirstCare BLE vital-sign hubs: Qube-Vital (Raspberry Pi CM4 box) and AVA4
// (ESP32 box). Both relay readings of BLE medical devices (blood pressure cuffs,
// oximeters, thermometers, glucometers, scales) as JSON with the same envelope:
// from, to, time (epoch seconds), mac (the hub), type, data.
//
// Topics are fixed in the firmware, at the broker's root; the driver's base topic
// is an optional prefix (empty by default) for brokers that bridge them elsewhere:
//   Qube-Vital  CM4_BLE_GW_TX    both status and readings
//   AVA4        ESP32_BLE_GW_TX  status
//               dusun_pub        readings (the integrator's examples)
//               dusun_sub        readings (what their production app uses; same payload)
//
// type:
//   HB_Msg           periodic heartbeat -> DEVICE_HEALTH ONLINE of the hub (device
//                    id = its `mac`), reported when it changes, i.e. once: offline is
//                    the absence of heartbeats, which the gateway's silence check sees.
//   reportMsg        sent once at power-on ("Online") -> DEVICE_HEALTH ONLINE, always
//                    reported: it says the hub restarted, even if it never looked offline.
//   reportAttribute  readings -> VITALS, device id = the BLE device's address:
//                    Qube-Vital: data.ble_mac, values in data.value
//                    AVA4: data.value.device_list[] (may hold several readings), each
//                    with ble_addr (lower-case hex, no colons, as published)
//   any other type   ignored.
// Reading keys (by key, not by data.attribute, whose spellings vary: "WBP_JUMPER",
// "BP_BIOLIGTH", "Oximeter JUMPER", "Oximeter_JUMPER"):
//   bp_high / bp_low  systolic / diastolic mmHg
//   pr, PR, pulse     heart rate bpm
//   spo2              SpO2 %
//   Temp, temp        body temperature degC, unless `mode` names something that is not
//                     a body ("Object", "Surface", "Room"); "Head" is the forehead
//   pi (perfusion index, vendor scale), blood_glucose (a string on AVA4), marker,
//   weight, resistance, uric_acid, cholesterol: not in the event schema, not read, so
//   their types never fail a message.
// Personal data: Qube-Vital messages carry the patient's national id, names, birth date
// (citiz, nameTH, nameEN, brith). They are never read or copied into events.
//
// Times: the hubs' clocks are wrong (AVA4 samples are dated years ahead), so
// sensor_time is left unset and received_time stands for the measurement time: the
// hubs relay a reading as soon as the BLE device delivers it. The clock value is
// still a usable measurement identity: a reading is deduplicated on its values plus
// that value (time / scan_time), so a re-delivered message produces nothing, while a
// new measurement with the same numbers (a second identical SpO2) is reported.
#include "myfirstcare_hubs.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "event_builder.hpp"
#include "field_reader.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::DeviceHealthPayload;
using eldercare::v1::SensorEvent;
using nlohmann::json;
namespace vr = vital_ranges;

std::string prefixed(const std::string& prefix, std::string_view topic) {
  return prefix.empty() ? std::string(topic) : prefix + "/" + std::string(topic);
}

bool measures_body(const std::optional<std::string>& mode) {
  if (!mode) return true;
  std::string m = *mode;
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view not_body : {"object", "surface", "room"})
    if (m.find(not_body) != std::string::npos) return false;
  return true;
}

VitalsReading read_vitals(FieldReader& in) {
  VitalsReading v;
  v.systolic_mmhg = in.number("bp_high", vr::kSystolicMmhg);
  v.diastolic_mmhg = in.number("bp_low", vr::kDiastolicMmhg);
  for (const char* key : {"pr", "PR", "pulse"})
    if (!v.heart_rate_bpm && in.has(key)) v.heart_rate_bpm = in.number(key, vr::kHeartRateBpm);
  v.spo2_percent = in.number("spo2", vr::kSpo2Percent);
  for (const char* key : {"Temp", "temp"}) {
    if (v.body_temperature_c || !in.has(key)) continue;
    if (measures_body(in.text("mode"))) v.body_temperature_c = in.number(key, vr::kBodyTemperatureC);
  }
  v.check_pressure(in);
  return v;
}

// A parsed envelope, or the error that rejects the message.
struct Envelope {
  json doc;
  std::optional<DecodeError> error;
};

Envelope parse(std::string_view payload) {
  Envelope e{json::parse(payload, nullptr, false), std::nullopt};
  if (e.doc.is_discarded())
    e.error = DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  else if (!e.doc.is_object())
    e.error = DecodeError{DecodeError::Code::kWrongType, "payload is not a JSON object"};
  return e;
}

// HB_Msg / reportMsg from either hub.
DecodeResult decode_status(const Message& message, std::string_view driver, const std::string& type, FieldReader& in,
                           StateCache& cache) {
  auto hub = in.identity("mac");
  if (in.error()) return *in.error();
  if (!hub) return DecodeError{DecodeError::Code::kMalformed, type + " names no hub mac"};
  bool power_on = type == "reportMsg";
  // The hub speaking for itself (a heartbeat), so it counts as heard.
  if (!cache.changed(*hub, "heartbeat", "online") && !power_on) return Events{};
  auto event = make_event(message, driver, *hub, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(DeviceHealthPayload::CONDITION_ONLINE);
  return Events{std::move(event)};
}

struct Reading {
  std::string device;
  VitalsReading vitals;
  std::string clock;  // the hub's time value, as a measurement identity
};

Events report(const Message& message, std::string_view driver, std::vector<Reading>& readings, StateCache& cache) {
  Events events;
  for (auto& reading : readings) {
    if (reading.vitals.empty()) continue;
    auto event = make_event(message, driver, reading.device, eldercare::v1::EVENT_KIND_VITALS);
    reading.vitals.fill(*event.mutable_vitals());
    if (!cache.changed(reading.device, "vitals", content_signature(event) + "@" + reading.clock)) continue;
    events.push_back(std::move(event));
  }
  return events;
}

std::string clock_of(const FieldReader& in, std::string_view key) {
  const json* v = in.find(key);
  return v != nullptr ? v->dump() : std::string();
}

}  // namespace

QubeVitalDriver::QubeVitalDriver(std::string topic_prefix) : topic_(prefixed(topic_prefix, "CM4_BLE_GW_TX")) {}

DecodeResult QubeVitalDriver::decode(const Message& message) {
  if (message.topic != topic_) return DecodeError{DecodeError::Code::kUnsupported, "not the " + topic_ + " topic"};
  Envelope envelope = parse(message.payload);
  if (envelope.error) return *envelope.error;
  FirstError errors;
  FieldReader in(envelope.doc, errors);
  auto type = in.text("type");
  if (errors.error()) return *errors.error();
  if (type == "HB_Msg" || type == "reportMsg") return decode_status(message, name(), *type, in, cache_);
  if (type != "reportAttribute") return Events{};

  FieldReader data = in.child("data");
  auto device = data.identity("ble_mac");
  FieldReader value = data.child("value");
  std::vector<Reading> readings;
  if (device) readings.push_back({*device, read_vitals(value), clock_of(in, "time")});
  if (errors.error()) return *errors.error();
  if (!device) return DecodeError{DecodeError::Code::kMalformed, "reportAttribute has no data.ble_mac"};
  return report(message, name(), readings, cache_);
}

Ava4Driver::Ava4Driver(std::string topic_prefix)
    : status_topic_(prefixed(topic_prefix, "ESP32_BLE_GW_TX")),
      readings_pub_(prefixed(topic_prefix, "dusun_pub")),
      readings_sub_(prefixed(topic_prefix, "dusun_sub")) {}

DecodeResult Ava4Driver::decode(const Message& message) {
  bool status = message.topic == status_topic_;
  if (!status && message.topic != readings_pub_ && message.topic != readings_sub_)
    return DecodeError{DecodeError::Code::kUnsupported, "not an AVA4 topic"};
  Envelope envelope = parse(message.payload);
  if (envelope.error) return *envelope.error;
  FirstError errors;
  FieldReader in(envelope.doc, errors);
  auto type = in.text("type");
  if (errors.error()) return *errors.error();
  if (status) {
    if (type == "HB_Msg" || type == "reportMsg") return decode_status(message, name(), *type, in, cache_);
    return Events{};
  }
  if (type != "reportAttribute") return Events{};

  FieldReader value = in.child("data").child("value");
  std::vector<Reading> readings;
  if (const json* list = value.array("device_list")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::string path = value.path_of("device_list[" + std::to_string(i) + "]");
      if (!(*list)[i].is_object()) {
        errors.fail(DecodeError::Code::kWrongType, path + " is not an object");
        continue;
      }
      FieldReader item((*list)[i], errors, path);
      auto device = item.identity("ble_addr");
      if (!device) {
        errors.fail(DecodeError::Code::kMalformed, path + " has no ble_addr");
        continue;
      }
      std::string clock = item.has("scan_time") ? clock_of(item, "scan_time") : clock_of(in, "time");
      readings.push_back({*device, read_vitals(item), std::move(clock)});
    }
  }
  if (errors.error()) return *errors.error();
  return report(message, name(), readings, cache_);
}

}  // namespace eg::drivers
