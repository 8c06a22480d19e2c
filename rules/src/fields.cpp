#include "fields.hpp"

#include <functional>
#include <map>

namespace eg::rules {
namespace {

namespace v1 = eldercare::v1;
using Event = v1::SensorEvent;

struct NumberField {
  v1::EventKind kind;
  std::function<std::optional<double>(const Event&)> read;
};
struct WordField {
  v1::EventKind kind;
  std::vector<std::string> words;
  std::function<std::optional<std::string>(const Event&)> read;
};

std::optional<std::string> yes_no(bool present, bool value) {
  if (!present) return std::nullopt;
  return value ? "true" : "false";
}

const std::map<std::string, NumberField>& numbers() {
  static const std::map<std::string, NumberField> table = {
      {"vitals.heart_rate_bpm",
       {v1::EVENT_KIND_VITALS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_vitals() || !e.vitals().has_heart_rate_bpm()) return std::nullopt;
          return e.vitals().heart_rate_bpm();
        }}},
      {"vitals.breathing_rate_per_min",
       {v1::EVENT_KIND_VITALS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_vitals() || !e.vitals().has_breathing_rate_per_min()) return std::nullopt;
          return e.vitals().breathing_rate_per_min();
        }}},
      {"vitals.spo2_percent",
       {v1::EVENT_KIND_VITALS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_vitals() || !e.vitals().has_spo2_percent()) return std::nullopt;
          return e.vitals().spo2_percent();
        }}},
      {"vitals.systolic_mmhg",
       {v1::EVENT_KIND_VITALS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_vitals() || !e.vitals().has_systolic_mmhg()) return std::nullopt;
          return e.vitals().systolic_mmhg();
        }}},
      {"vitals.diastolic_mmhg",
       {v1::EVENT_KIND_VITALS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_vitals() || !e.vitals().has_diastolic_mmhg()) return std::nullopt;
          return e.vitals().diastolic_mmhg();
        }}},
      {"vitals.body_temperature_celsius",
       {v1::EVENT_KIND_VITALS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_vitals() || !e.vitals().has_body_temperature_celsius()) return std::nullopt;
          return e.vitals().body_temperature_celsius();
        }}},
      {"water_meter.total_m3",
       {v1::EVENT_KIND_WATER_METER,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_water_meter() || !e.water_meter().has_total_m3()) return std::nullopt;
          return e.water_meter().total_m3();
        }}},
      {"water_meter.flow_m3h",
       {v1::EVENT_KIND_WATER_METER,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_water_meter() || !e.water_meter().has_flow_m3h()) return std::nullopt;
          return e.water_meter().flow_m3h();
        }}},
      {"device_health.battery_percent",
       {v1::EVENT_KIND_DEVICE_HEALTH,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_device_health() || !e.device_health().has_battery_percent()) return std::nullopt;
          return e.device_health().battery_percent();
        }}},
      {"gas.concentration_lel_percent",
       {v1::EVENT_KIND_GAS,
        [](const Event& e) -> std::optional<double> {
          if (!e.has_gas() || !e.gas().has_concentration_lel_percent()) return std::nullopt;
          return e.gas().concentration_lel_percent();
        }}},
  };
  return table;
}

const std::map<std::string, WordField>& words() {
  static const std::vector<std::string> booleans{"true", "false"};
  static const std::map<std::string, WordField> table = {
      {"fall.state",
       {v1::EVENT_KIND_FALL,
        {"none", "suspected", "detected"},
        [](const Event& e) -> std::optional<std::string> {
          if (!e.has_fall()) return std::nullopt;
          switch (e.fall().state()) {
            case v1::FallPayload::STATE_NONE:
              return "none";
            case v1::FallPayload::STATE_SUSPECTED:
              return "suspected";
            case v1::FallPayload::STATE_DETECTED:
              return "detected";
            default:
              return std::nullopt;
          }
        }}},
      {"gas.alarm",
       {v1::EVENT_KIND_GAS, booleans, [](const Event& e) { return yes_no(e.has_gas(), e.gas().alarm()); }}},
      {"smoke.alarm",
       {v1::EVENT_KIND_SMOKE, booleans, [](const Event& e) { return yes_no(e.has_smoke(), e.smoke().alarm()); }}},
      {"water_leak.leak",
       {v1::EVENT_KIND_WATER_LEAK, booleans,
        [](const Event& e) { return yes_no(e.has_water_leak(), e.water_leak().leak()); }}},
      {"sos.active",
       {v1::EVENT_KIND_SOS_CALL, booleans, [](const Event& e) { return yes_no(e.has_sos(), e.sos().active()); }}},
      {"door.open",
       {v1::EVENT_KIND_DOOR, booleans, [](const Event& e) { return yes_no(e.has_door(), e.door().open()); }}},
      {"presence.present",
       {v1::EVENT_KIND_PRESENCE, booleans,
        [](const Event& e) { return yes_no(e.has_presence(), e.presence().present()); }}},
      {"bed_state.state",
       {v1::EVENT_KIND_BED,
        {"in_bed", "out_of_bed", "sitting"},
        [](const Event& e) -> std::optional<std::string> {
          if (!e.has_bed_state()) return std::nullopt;
          switch (e.bed_state().state()) {
            case v1::BedPayload::STATE_IN_BED:
              return "in_bed";
            case v1::BedPayload::STATE_OUT_OF_BED:
              return "out_of_bed";
            case v1::BedPayload::STATE_SITTING:
              return "sitting";
            default:
              return std::nullopt;
          }
        }}},
      {"device_health.condition",
       {v1::EVENT_KIND_DEVICE_HEALTH,
        {"online", "offline", "battery_low", "battery_ok", "tamper", "tamper_cleared", "silent", "left_network",
         "disk_low", "disk_ok", "operator_link_down", "operator_link_up", "store_failed", "store_ok", "store_replaced"},
        [](const Event& e) -> std::optional<std::string> {
          if (!e.has_device_health()) return std::nullopt;
          switch (e.device_health().condition()) {
            case v1::DeviceHealthPayload::CONDITION_ONLINE:
              return "online";
            case v1::DeviceHealthPayload::CONDITION_OFFLINE:
              return "offline";
            case v1::DeviceHealthPayload::CONDITION_BATTERY_LOW:
              return "battery_low";
            case v1::DeviceHealthPayload::CONDITION_BATTERY_OK:
              return "battery_ok";
            case v1::DeviceHealthPayload::CONDITION_TAMPER:
              return "tamper";
            case v1::DeviceHealthPayload::CONDITION_TAMPER_CLEARED:
              return "tamper_cleared";
            case v1::DeviceHealthPayload::CONDITION_SILENT:
              return "silent";
            case v1::DeviceHealthPayload::CONDITION_LEFT_NETWORK:
              return "left_network";
            case v1::DeviceHealthPayload::CONDITION_DISK_LOW:
              return "disk_low";
            case v1::DeviceHealthPayload::CONDITION_DISK_OK:
              return "disk_ok";
            case v1::DeviceHealthPayload::CONDITION_OPERATOR_LINK_DOWN:
              return "operator_link_down";
            case v1::DeviceHealthPayload::CONDITION_OPERATOR_LINK_UP:
              return "operator_link_up";
            case v1::DeviceHealthPayload::CONDITION_STORE_FAILED:
              return "store_failed";
            case v1::DeviceHealthPayload::CONDITION_STORE_OK:
              return "store_ok";
            case v1::DeviceHealthPayload::CONDITION_STORE_REPLACED:
              return "store_replaced";
            default:
              return std::nullopt;
          }
        }}},
  };
  return table;
}

}  // namespace

std::optional<FieldType> field_type(const std::string& field) {
  if (numbers().contains(field)) return FieldType::kNumber;
  if (words().contains(field)) return FieldType::kWord;
  return std::nullopt;
}

v1::EventKind field_kind(const std::string& field) {
  if (auto it = numbers().find(field); it != numbers().end()) return it->second.kind;
  if (auto it = words().find(field); it != words().end()) return it->second.kind;
  return v1::EVENT_KIND_UNSPECIFIED;
}

const std::vector<std::string>& field_words(const std::string& field) {
  static const std::vector<std::string> none;
  auto it = words().find(field);
  return it == words().end() ? none : it->second.words;
}

std::optional<double> read_number(const Event& event, const std::string& field) {
  auto it = numbers().find(field);
  return it == numbers().end() ? std::nullopt : it->second.read(event);
}

std::optional<std::string> read_word(const Event& event, const std::string& field) {
  auto it = words().find(field);
  return it == words().end() ? std::nullopt : it->second.read(event);
}

}  // namespace eg::rules
