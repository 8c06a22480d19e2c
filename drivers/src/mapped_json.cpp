// Mapped-JSON driver: fields located by JSON pointer, values translated by
// the installer's maps. Every message yields one event of the configured kind
// with the fields it carries; like Zigbee2MQTT's, a repeated identical state
// is not reported again.
#include "eg/drivers/mapped_json.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "eg/proto/event_kind_words.hpp"
#include "event_builder.hpp"
#include "json_values.hpp"
#include "state_cache.hpp"

namespace eg::drivers {
namespace {

namespace v1 = eldercare::v1;
using nlohmann::json;

const std::map<v1::EventKind, std::set<std::string>>& targets_by_kind() {
  static const std::map<v1::EventKind, std::set<std::string>> targets = {
      {v1::EVENT_KIND_VITALS,
       {"heart_rate_bpm", "breathing_rate_per_min", "spo2_percent", "systolic_mmhg", "diastolic_mmhg",
        "body_temperature_celsius"}},
      {v1::EVENT_KIND_FALL, {"state"}},
      {v1::EVENT_KIND_GAS, {"alarm", "self_test", "warming_up"}},
      {v1::EVENT_KIND_SMOKE, {"alarm", "self_test", "warming_up"}},
      {v1::EVENT_KIND_WATER_LEAK, {"leak"}},
      {v1::EVENT_KIND_SOS_CALL, {"active"}},
      {v1::EVENT_KIND_DOOR, {"open"}},
      {v1::EVENT_KIND_PRESENCE, {"present"}},
      {v1::EVENT_KIND_BED, {"state"}},
      {v1::EVENT_KIND_WATER_METER, {"total_m3", "flow_m3h"}},
      {v1::EVENT_KIND_DEVICE_HEALTH, {"battery_percent"}},
  };
  return targets;
}

bool is_boolean_target(const std::string& t) {
  return t == "alarm" || t == "leak" || t == "active" || t == "open" || t == "present" || t == "self_test" ||
         t == "warming_up";
}

class MappedJsonDriver final : public Driver {
 public:
  explicit MappedJsonDriver(MappedSpec spec) : spec_(std::move(spec)) {}
  std::string_view name() const override { return spec_.name; }
  std::vector<std::string> topic_filters() const override { return spec_.filters; }

  DecodeResult decode(const Message& message) override {
    auto doc = json::parse(message.payload, nullptr, false);
    if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
    std::string device;
    if (spec_.device_topic_level >= 0) {
      device = topic_level(message.topic, spec_.device_topic_level);
      if (device.empty())
        return DecodeError{DecodeError::Code::kUnsupported,
                           "topic has no level " + std::to_string(spec_.device_topic_level)};
    } else {
      const json* id = find(doc, spec_.device_pointer);
      if (id == nullptr) return DecodeError{DecodeError::Code::kWrongType, spec_.device_pointer + " is missing"};
      device = id->is_string() ? id->get<std::string>() : id->dump();
    }
    v1::SensorEvent event = make_event(message, name(), device, spec_.kind);
    bool any = false;
    for (const auto& field : spec_.fields) {
      const json* raw = find(doc, field.pointer);
      if (raw == nullptr) continue;  // absent: unknown, not false
      json value = *raw;
      if (!field.values.empty()) {
        auto it = field.values.find(raw->is_string() ? raw->get<std::string>() : raw->dump());
        if (it == field.values.end())
          return DecodeError{DecodeError::Code::kOutOfRange,
                             field.pointer + " value " + raw->dump() + " is not in the configured value map"};
        value = it->second;
      }
      if (auto error = apply(event, field, value)) return *error;
      any = true;
    }
    if (!any) return Events{};
    v1::SensorEvent signature_of(event);
    signature_of.clear_received_time();
    if (!cache_.changed(device, "state", signature_of.SerializeAsString())) return Events{};
    return Events{std::move(event)};
  }

  void forget_state() override { cache_.clear(); }
  std::vector<std::string> take_heard() override { return cache_.take_heard(); }

 private:
  static std::string topic_level(std::string_view topic, int level) {
    for (int i = 0; i < level; ++i) {
      auto slash = topic.find('/');
      if (slash == std::string_view::npos) return {};
      topic.remove_prefix(slash + 1);
    }
    return std::string(topic.substr(0, topic.find('/')));
  }

  static const json* find(const json& doc, const std::string& pointer) {
    try {
      const json& v = doc.at(json::json_pointer(pointer));
      return v.is_null() ? nullptr : &v;
    } catch (const json::exception&) {
      return nullptr;  // absent path (or a non-object on the way): unknown
    }
  }

  std::optional<DecodeError> apply(v1::SensorEvent& event, const MappedField& field, const json& value) const {
    const std::string& t = field.target;
    auto wrong = [&](const char* expected) {
      return DecodeError{DecodeError::Code::kWrongType, field.pointer + " is not " + expected + ": " + value.dump()};
    };
    if (is_boolean_target(t)) {
      auto b = json_values::as_bool(value);
      if (!b) return wrong("a boolean");
      if (t == "alarm" && spec_.kind == v1::EVENT_KIND_GAS) event.mutable_gas()->set_alarm(*b);
      if (t == "alarm" && spec_.kind == v1::EVENT_KIND_SMOKE) event.mutable_smoke()->set_alarm(*b);
      if (t == "leak") event.mutable_water_leak()->set_leak(*b);
      if (t == "active") event.mutable_sos()->set_active(*b);
      if (t == "open") event.mutable_door()->set_open(*b);
      if (t == "present") event.mutable_presence()->set_present(*b);
      if (t == "self_test") event.set_self_test(*b);  // a detector's test: never an alarm
      if (t == "warming_up") event.set_warming_up(*b);
      return std::nullopt;
    }
    if (t == "state") {
      auto word = json_values::as_string(value);
      if (!word) return wrong("a state word");
      if (spec_.kind == v1::EVENT_KIND_FALL) {
        v1::FallPayload::State s = *word == "none"        ? v1::FallPayload::STATE_NONE
                                   : *word == "suspected" ? v1::FallPayload::STATE_SUSPECTED
                                   : *word == "detected"  ? v1::FallPayload::STATE_DETECTED
                                                          : v1::FallPayload::STATE_UNSPECIFIED;
        if (s == v1::FallPayload::STATE_UNSPECIFIED) return wrong("none, suspected or detected");
        event.mutable_fall()->set_state(s);
        event.mutable_fall()->set_vendor_state(value.dump());
      } else {
        v1::BedPayload::State s = *word == "in_bed"       ? v1::BedPayload::STATE_IN_BED
                                  : *word == "out_of_bed" ? v1::BedPayload::STATE_OUT_OF_BED
                                  : *word == "sitting"    ? v1::BedPayload::STATE_SITTING
                                                          : v1::BedPayload::STATE_UNSPECIFIED;
        if (s == v1::BedPayload::STATE_UNSPECIFIED) return wrong("in_bed, out_of_bed or sitting");
        event.mutable_bed_state()->set_state(s);
      }
      return std::nullopt;
    }
    auto number = json_values::as_number(value);
    if (!number) return wrong("a number");
    double n = *number * field.scale + field.offset;
    struct Range {
      double min, max;
    };
    static const std::map<std::string, Range> ranges = {
        {"heart_rate_bpm", {20, 300}}, {"breathing_rate_per_min", {0, 80}},
        {"spo2_percent", {50, 100}},   {"systolic_mmhg", {50, 300}},
        {"diastolic_mmhg", {20, 200}}, {"body_temperature_celsius", {30, 45}},
        {"battery_percent", {0, 100}}, {"total_m3", {0, 1e9}},
        {"flow_m3h", {0, 1e6}}};
    const Range& r = ranges.at(t);
    if (n < r.min || n > r.max)
      return DecodeError{DecodeError::Code::kOutOfRange, field.pointer + " -> " + t + " " + std::to_string(n) +
                                                             " is outside [" + std::to_string(r.min) + ", " +
                                                             std::to_string(r.max) + "]"};
    auto* vitals = event.mutable_vitals();
    if (t == "heart_rate_bpm") vitals->set_heart_rate_bpm(n);
    if (t == "breathing_rate_per_min") vitals->set_breathing_rate_per_min(n);
    if (t == "spo2_percent") vitals->set_spo2_percent(n);
    if (t == "systolic_mmhg") vitals->set_systolic_mmhg(n);
    if (t == "diastolic_mmhg") vitals->set_diastolic_mmhg(n);
    if (t == "body_temperature_celsius") vitals->set_body_temperature_celsius(n);
    if (spec_.kind != v1::EVENT_KIND_VITALS) event.clear_vitals();  // only the kind's own payload
    if (t == "total_m3") event.mutable_water_meter()->set_total_m3(n);
    if (t == "flow_m3h") event.mutable_water_meter()->set_flow_m3h(n);
    if (t == "battery_percent") {
      event.mutable_device_health()->set_battery_percent(n);
      event.mutable_device_health()->set_condition(n <= 20 ? v1::DeviceHealthPayload::CONDITION_BATTERY_LOW
                                                           : v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
    }
    return std::nullopt;
  }

  MappedSpec spec_;
  StateCache cache_;
};

bool valid_pointer(const std::string& pointer) {
  try {
    (void)json::json_pointer(pointer);
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

eldercare::v1::EventKind event_kind_from_word(std::string_view word) {
  return proto::event_kind_from_word(word);
}

Result<std::unique_ptr<Driver>> make_mapped_json_driver(MappedSpec spec) {
  auto allowed = targets_by_kind().find(spec.kind);
  if (allowed == targets_by_kind().end()) return make_error("unknown kind");
  if (spec.filters.empty()) return make_error("no topic filter");
  if (spec.device_topic_level < 0 && !valid_pointer(spec.device_pointer))
    return make_error("device must be a JSON pointer (\"/id\") or a topic level");
  if (spec.fields.empty()) return make_error("no fields mapped");
  for (const auto& field : spec.fields) {
    if (!allowed->second.contains(field.target)) {
      std::string names;
      for (const auto& t : allowed->second) names += (names.empty() ? "" : ", ") + t;
      return make_error("field '" + field.target + "' does not belong to this kind (expected one of: " + names + ")");
    }
    if (!valid_pointer(field.pointer)) return make_error("'" + field.pointer + "' is not a JSON pointer");
  }
  return std::unique_ptr<Driver>(std::make_unique<MappedJsonDriver>(std::move(spec)));
}

}  // namespace eg::drivers
