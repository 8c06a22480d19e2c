// Kati watch driver: the iMEDE 4G elderly smartwatch, as specified by its
// integrator (MyFirstCare). Every message is a JSON object naming the watch by
// its IMEI (a string; an integer is accepted too), which is the device id.
//
// Topics (base defaults to "iMEDE_watch"):
//   <base>/hb             heartbeat: battery %, signalGSM, satellites, step, timeStamps
//                         -> DEVICE_HEALTH BATTERY_OK / BATTERY_LOW (<= 20 %) with
//                         battery_percent; only a crossing of the low mark is reported
//                         again, as for Zigbee2MQTT batteries
//   <base>/VitalSign      spot vitals: heartRate bpm, bloodPressure.bp_sys / bp_dia mmHg,
//                         bodyTemperature degC, spO2 %, plus battery, location
//                         -> VITALS (and the battery state as for hb)
//   <base>/AP55           batch: data[] items each with an epoch-seconds `timestamp`
//                         and the VitalSign keys -> one VITALS per changed item, its
//                         sensor_time from the item
//   <base>/sos            {"status":"SOS", location, IMEI} -> SOS_CALL active=true,
//                         vendor_action = status
//   <base>/fallDown       {"status":"FALL DOWN", ...} -> FALL STATE_DETECTED,
//                         vendor_state = status
//   <base>/onlineTrigger  {"status":"online"|"offline"} -> DEVICE_HEALTH ONLINE/OFFLINE
//   <base>/location, <base>/sleepdata: GPS/WiFi/LBS position and sleep staging; the
//                         event schema has no place for them, so nothing is produced
//                         (the payload must still be a JSON object naming an IMEI).
// The topic decides SOS and fall, not the status text: a watch that pressed SOS
// must never be dropped because of an unexpected status spelling.
//
// Times: timeStamps is local wall-clock "DD/MM/YYYY HH:MM:SS" with no zone,
// read at DriverOptions::local_utc_offset (default +08:00) -> sensor_time.
//
// Dedupe: SOS and fall messages are events, reported every time. Vitals and
// battery are state: only a change from the watch's last reported value produces
// an event; the first message reports. Availability likewise.
//
// The integrator spec prints the location of sos/fallDown/AP55 as `{...}`, which is
// not JSON; the real watch sends an object. Text like that is rejected as
// kMalformed like any other invalid JSON.
#include "kati_watch.hpp"

#include <nlohmann/json.hpp>

#include "event_builder.hpp"
#include "field_reader.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::DeviceHealthPayload;
using eldercare::v1::FallPayload;
using eldercare::v1::SensorEvent;
using nlohmann::json;
namespace jv = json_values;
namespace vr = vital_ranges;

constexpr double kLowBatteryPercent = 20;

VitalsReading read_vitals(FieldReader& in) {
  VitalsReading v;
  v.heart_rate_bpm = in.number("heartRate", vr::kHeartRateBpm);
  FieldReader pressure = in.child("bloodPressure");
  v.systolic_mmhg = pressure.number("bp_sys", vr::kSystolicMmhg);
  v.diastolic_mmhg = pressure.number("bp_dia", vr::kDiastolicMmhg);
  v.body_temperature_c = in.number("bodyTemperature", vr::kBodyTemperatureC);
  v.spo2_percent = in.number("spO2", vr::kSpo2Percent);
  v.check_pressure(in);
  return v;
}

bool is_known_topic(std::string_view leaf) {
  for (std::string_view known :
       {"hb", "VitalSign", "AP55", "location", "sleepdata", "sos", "fallDown", "onlineTrigger"})
    if (leaf == known) return true;
  return false;
}

}  // namespace

KatiWatchDriver::KatiWatchDriver(std::string base_topic, std::chrono::minutes local_utc_offset)
    : base_topic_(std::move(base_topic)), local_utc_offset_(local_utc_offset) {}

DecodeResult KatiWatchDriver::decode(const Message& message) {
  std::string_view topic = message.topic;
  if (!topic.starts_with(base_topic_) || topic.size() <= base_topic_.size() + 1 || topic[base_topic_.size()] != '/')
    return DecodeError{DecodeError::Code::kUnsupported, "topic is not under base topic '" + base_topic_ + "'"};
  std::string_view leaf = topic.substr(base_topic_.size() + 1);
  if (!is_known_topic(leaf))
    return DecodeError{DecodeError::Code::kUnsupported, "unknown Kati topic '" + std::string(leaf) + "'"};

  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "payload is not a JSON object"};

  FirstError errors;
  FieldReader in(doc, errors);
  auto imei = in.identity("IMEI");
  std::optional<WallTime> sensor_time;
  if (auto stamp = in.text("timeStamps")) {
    sensor_time = jv::parse_dmy_local(*stamp, local_utc_offset_);
    if (!sensor_time)
      errors.fail(DecodeError::Code::kWrongType, "timeStamps is not DD/MM/YYYY HH:MM:SS: " + excerpt_text(*stamp));
  }
  if (errors.error()) return *errors.error();
  if (!imei) return DecodeError{DecodeError::Code::kMalformed, "message names no IMEI"};

  struct Candidate {
    const char* aspect;  // nullptr: an event, never deduplicated (SOS, fall)
    SensorEvent event;
  };
  std::vector<Candidate> out;
  auto add = [&](const char* aspect, eldercare::v1::EventKind kind, std::optional<WallTime> time) -> SensorEvent& {
    out.push_back({aspect, make_event(message, name(), *imei, kind)});
    if (time) *out.back().event.mutable_sensor_time() = to_timestamp(*time);
    return out.back().event;
  };
  auto add_vitals = [&](const VitalsReading& vitals, std::optional<WallTime> time) {
    if (!vitals.empty()) vitals.fill(*add("vitals", eldercare::v1::EVENT_KIND_VITALS, time).mutable_vitals());
  };
  auto add_battery = [&] {
    if (auto battery = in.number("battery", vr::kBatteryPercent)) {
      auto* health = add("battery", eldercare::v1::EVENT_KIND_DEVICE_HEALTH, sensor_time).mutable_device_health();
      health->set_condition(*battery <= kLowBatteryPercent ? DeviceHealthPayload::CONDITION_BATTERY_LOW
                                                           : DeviceHealthPayload::CONDITION_BATTERY_OK);
      health->set_battery_percent(*battery);
    }
  };

  if (leaf == "hb") {
    add_battery();
  } else if (leaf == "VitalSign") {
    add_vitals(read_vitals(in), sensor_time);
    add_battery();
  } else if (leaf == "AP55") {
    if (const json* data = in.array("data")) {
      for (std::size_t i = 0; i < data->size(); ++i) {
        std::string path = "data[" + std::to_string(i) + "]";
        if (!(*data)[i].is_object()) errors.fail(DecodeError::Code::kWrongType, path + " is not an object");
        FieldReader item((*data)[i], errors, path);
        std::optional<WallTime> item_time = sensor_time;
        if (const json* stamp = item.find("timestamp")) {
          item_time = jv::as_epoch_seconds(*stamp);
          if (!item_time)
            item.fail(DecodeError::Code::kWrongType,
                      item.path_of("timestamp") + " is not epoch seconds: " + excerpt(*stamp));
        }
        add_vitals(read_vitals(item), item_time);
      }
    }
  } else if (leaf == "sos") {
    auto status = in.text("status");
    auto* sos = add(nullptr, eldercare::v1::EVENT_KIND_SOS_CALL, sensor_time).mutable_sos();
    sos->set_active(true);
    sos->set_vendor_action(status.value_or("SOS"));
  } else if (leaf == "fallDown") {
    auto status = in.text("status");
    auto* fall = add(nullptr, eldercare::v1::EVENT_KIND_FALL, sensor_time).mutable_fall();
    fall->set_state(FallPayload::STATE_DETECTED);
    fall->set_vendor_state(status.value_or("FALL DOWN"));
  } else if (leaf == "onlineTrigger") {
    auto status = in.text("status");
    if (errors.error()) return *errors.error();
    if (status != "online" && status != "offline")
      return DecodeError{DecodeError::Code::kMalformed, "onlineTrigger status is neither online nor offline"};
    add("availability", eldercare::v1::EVENT_KIND_DEVICE_HEALTH, sensor_time)
        .mutable_device_health()
        ->set_condition(*status == "online" ? DeviceHealthPayload::CONDITION_ONLINE
                                            : DeviceHealthPayload::CONDITION_OFFLINE);
  }
  // location, sleepdata: nothing to report.

  if (errors.error()) return *errors.error();

  Events events;
  for (auto& candidate : out) {
    if (candidate.aspect != nullptr) {
      // A battery's percentage drifts every heartbeat; report crossings of the
      // low mark, not every percent.
      std::string signature = candidate.event.has_device_health()
                                  ? std::to_string(candidate.event.device_health().condition())
                                  : content_signature(candidate.event);
      if (!cache_.changed(*imei, candidate.aspect, std::move(signature))) continue;
    }
    events.push_back(std::move(candidate.event));
  }
  return events;
}

}  // namespace eg::drivers
