// Zigbee2MQTT (Z2M) driver.
//
// Topics (base defaults to "zigbee2mqtt", configurable):
//   <base>/<friendly_name>               JSON device state (full cached state each time)
//   <base>/<friendly_name>/availability  {"state":"online"|"offline"} or plain online/offline (1.x)
//   <base>/<friendly_name>/action        plain action text; ignored, because the JSON state
//                                        message carries the same action (no double count)
//   <base>/<friendly_name>/set|get       commands to the device; ignored
//   <base>/bridge/state                  bridge online/offline, JSON or plain; also its last will
//   <base>/bridge/event                  {"type":"device_leave","data":{"friendly_name":..}};
//                                        other types are ignored
//   <base>/bridge/<other>                inventory (devices, info, groups); ignored
// Friendly names may contain spaces and '/'.
//
// Device state keys read (a key that is absent or null means unknown/unchanged).
// An IAS zone with both alarm bits names them <type>_alarm_1 / <type>_alarm_2;
// the aspect is on when either is.
//   fall      fall_down_status none|maybe_fall|fall (Tuya MIR-HE200-TY)
//             fall_status normal|fall_warning|fall_alarm (Heiman HS2FD; "unknown" = unknown)
//             status unoccupied|occupied|sitting|on_the_bed|low_posture|falling (OWON FDS315;
//             "Unknown (<n>)" = unknown; a "status" that is not one of these is another
//             device's and is ignored). The status also gives presence (all but unoccupied)
//             and the bed state (on_the_bed = in bed, any other = out of bed)
//   gas       gas, gas_alarm_1, gas_alarm_2, carbon_monoxide(_alarm_1|_2) (bool);
//             gas_value (% LEL)
//   smoke     smoke, smoke_alarm_1, smoke_alarm_2 (bool); smoke_concentration (ppm); test (bool)
//   leak      water_leak, water_leak_alarm_1, water_leak_alarm_2 (bool)
//   SOS       action emergency|panic|sos|single|double|hold (an event, never cached; "" and
//             null are the legacy clear and are skipped; "fall" is an Aqara cube being
//             dropped, not a person; "off" is the button's idle zone status). Without the
//             model (bridge/devices is not read) single|double|hold count from any device.
//             sos, sos_alarm, sos_alarm_1, sos_alarm_2, alarm_1, alarm_2 (state-style bool)
//   door      contact, contact_alarm_1, contact_alarm_2 (bool, true = CLOSED). The OWON
//             SPM915 bed pad also publishes "contact" with no documented in-bed polarity;
//             without the model it reads as a door
//   presence  presence, else occupancy, occupancy_alarm_1, occupancy_alarm_2 (bool; not a
//             bed strap's occupancy, below);
//             human_motion_state none|small|large
//   bed       Tuya strap (has a work_state key, even null): its occupancy is the bed's, not
//             the room's; occupancy, else work_state presence*|none*.
//             pressure_state none|sit|sedentary (HOBEIAN ZG-210Z: "sit" is sitting or lying
//             on the strap, so in bed, not the edge-of-bed STATE_SITTING)
//   vitals    heart_rate (bpm), breathing_rate (breaths/min)
//   health    battery (%; old Z2M sends a string "100.00"), battery_low, tamper (bool),
//             linkquality (LQI 0-255), last_seen (ISO 8601 with zone, or epoch ms) -> sensor_time
//   flags     on gas and smoke events: self_test from test, self_test (bool, or the enum
//             value "checking"), self_test_result|checking_result "checking", self_checking,
//             test_alarm; warming_up from preheat (bool or ON) and preheating "preheating".
//             replayed: a device state within 10 s after the bridge came back online (its
//             start-up replay of cached states, which carries no mark of its own)
//
// Only a changed aspect produces an event; the first message from a device
// establishes and reports its state. What an aspect's state is: the fall
// state (not the vendor's value: the OWON status changes with every posture),
// the battery's low/ok (not its percentage). A gas or smoke concentration is a
// reading of its own: a new value reports the aspect again, an absent one is
// unknown, not a change.
#include "zigbee2mqtt.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>

#include "event_builder.hpp"
#include "json_values.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::BedPayload;
using eldercare::v1::DeviceHealthPayload;
using eldercare::v1::EventKind;
using eldercare::v1::FallPayload;
using eldercare::v1::PresencePayload;
using eldercare::v1::SensorEvent;
using nlohmann::json;
namespace jv = json_values;

constexpr double kLowBatteryPercent = 20;

// Reads typed fields from a state object, remembering the first type or range
// problem so the caller can reject the message with one reason.
class StateReader {
 public:
  explicit StateReader(const json& state) : state_(state) {}

  const json* find(const char* key) const {
    auto it = state_.find(key);
    if (it == state_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::optional<bool> boolean(const char* key) {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    auto b = jv::as_bool(*v);
    if (!b) fail(DecodeError::Code::kWrongType, std::string(key) + " is not a boolean: " + v->dump());
    return b;
  }
  std::optional<double> number(const char* key, double min, double max) {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    auto n = jv::as_number(*v);
    if (!n) {
      fail(DecodeError::Code::kWrongType, std::string(key) + " is not a number: " + v->dump());
      return std::nullopt;
    }
    if (*n < min || *n > max) {
      fail(DecodeError::Code::kOutOfRange,
           std::string(key) + " " + v->dump() + " is outside [" + json(min).dump() + ", " + json(max).dump() + "]");
      return std::nullopt;
    }
    return n;
  }
  std::optional<std::string> text(const char* key) {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    auto s = jv::as_string(*v);
    if (!s) fail(DecodeError::Code::kWrongType, std::string(key) + " is not a string: " + v->dump());
    return s;
  }
  // True if any key is true; nullopt if none is known.
  std::optional<bool> any_true(std::initializer_list<const char*> keys) {
    std::optional<bool> result;
    for (const char* key : keys)
      if (auto b = boolean(key)) result = result.value_or(false) || *b;
    return result;
  }

  const std::optional<DecodeError>& error() const { return error_; }

 private:
  void fail(DecodeError::Code code, std::string reason) {
    if (!error_) error_ = DecodeError{code, std::move(reason)};
  }
  const json& state_;
  std::optional<DecodeError> error_;
};

// nullopt for the radar's own "unknown"; an unexpected value is reported as
// unspecified with the vendor's text.
std::optional<FallPayload::State> fall_state_from(std::string_view v) {
  if (v == "unknown") return std::nullopt;
  if (v == "none" || v == "normal") return FallPayload::STATE_NONE;
  if (v == "maybe_fall" || v == "fall_warning") return FallPayload::STATE_SUSPECTED;
  if (v == "fall" || v == "fall_alarm") return FallPayload::STATE_DETECTED;
  return FallPayload::STATE_UNSPECIFIED;
}

// What the OWON FDS315's one status enum says about each aspect.
struct OwonStatus {
  FallPayload::State fall;
  bool present;
  BedPayload::State bed;
};

std::optional<OwonStatus> owon_status_from(std::string_view v) {
  if (v == "unoccupied") return OwonStatus{FallPayload::STATE_NONE, false, BedPayload::STATE_OUT_OF_BED};
  if (v == "occupied" || v == "sitting" || v == "low_posture")
    return OwonStatus{FallPayload::STATE_NONE, true, BedPayload::STATE_OUT_OF_BED};
  if (v == "on_the_bed") return OwonStatus{FallPayload::STATE_NONE, true, BedPayload::STATE_IN_BED};
  if (v == "falling") return OwonStatus{FallPayload::STATE_DETECTED, true, BedPayload::STATE_OUT_OF_BED};
  return std::nullopt;  // "Unknown (<n>)", or another device's "status"
}

bool is_sos_action(std::string_view v) {
  return v == "emergency" || v == "panic" || v == "sos" || v == "single" || v == "double" || v == "hold";
}

std::optional<BedPayload::State> bed_state_from(std::string_view key, std::string_view v) {
  if (key == "work_state") {
    if (v.starts_with("presence")) return BedPayload::STATE_IN_BED;
    if (v.starts_with("none")) return BedPayload::STATE_OUT_OF_BED;
  } else if (key == "pressure_state") {
    if (v == "none") return BedPayload::STATE_OUT_OF_BED;
    if (v == "sit" || v == "sedentary") return BedPayload::STATE_IN_BED;
  }
  return std::nullopt;
}

std::optional<bool> online_from(std::string_view payload) {
  std::string state(payload);
  auto doc = json::parse(payload, nullptr, false);
  if (!doc.is_discarded() && doc.is_object()) {
    auto it = doc.find("state");
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    state = it->get<std::string>();
  }
  if (state == "online") return true;
  if (state == "offline") return false;
  return std::nullopt;
}

// The event's state without what changes when the state does not: times, the
// retained flag, the vendor's fall value; concentrations are compared apart.
std::string state_signature(const SensorEvent& event) {
  // The retained and replayed marks stay in: after a stale copy of a state,
  // the device's own live report of it is news the rules must see.
  SensorEvent copy(event);
  copy.clear_received_time();
  copy.clear_sensor_time();
  if (copy.has_fall()) copy.mutable_fall()->clear_vendor_state();
  if (copy.has_gas()) copy.mutable_gas()->clear_concentration_lel_percent();
  if (copy.has_smoke()) copy.mutable_smoke()->clear_concentration_ppm();
  return copy.SerializeAsString();
}

// The gas or smoke concentration the event carries.
std::optional<double> concentration_of(const SensorEvent& event) {
  if (event.has_gas() && event.gas().has_concentration_lel_percent()) return event.gas().concentration_lel_percent();
  if (event.has_smoke() && event.smoke().has_concentration_ppm()) return event.smoke().concentration_ppm();
  return std::nullopt;
}

// True when `value` is a JSON true, "ON" or (case aside) one of `words`.
bool says(const json* value, std::initializer_list<std::string_view> words = {}) {
  if (value == nullptr) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (!value->is_string()) return false;
  std::string text = value->get<std::string>();
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  if (text == "on") return true;
  return std::find(words.begin(), words.end(), text) != words.end();
}

const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A detector's self-test as the converters expose it: Heiman's `test`, Tuya's
// `self_test` (a bool, or an enum that reads "checking" meanwhile),
// `self_test_result`, `self_checking`/`checking_result`, Woox's `test_alarm`.
bool reports_self_test(const json& doc) {
  return says(member(doc, "test")) || says(member(doc, "self_test"), {"checking"}) ||
         says(member(doc, "self_test_result"), {"checking"}) || says(member(doc, "self_checking")) ||
         says(member(doc, "checking_result"), {"checking"}) || says(member(doc, "test_alarm"));
}

// A gas detector's pre-heat after power-on: Tuya's `preheat` (a bool, or
// ON/OFF), Heiman's `preheating` enum.
bool reports_warm_up(const json& doc) {
  return says(member(doc, "preheat")) || says(member(doc, "preheating"), {"preheating"});
}

// A string member of a JSON object, or "" when it is absent or not a string.
std::string text_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Zigbee2MqttDriver::Zigbee2MqttDriver(std::string base_topic) : base_topic_(std::move(base_topic)) {}

DecodeResult Zigbee2MqttDriver::decode(const Message& message) {
  std::string_view topic = message.topic;
  if (!topic.starts_with(base_topic_) || topic.size() <= base_topic_.size() + 1 || topic[base_topic_.size()] != '/')
    return DecodeError{DecodeError::Code::kUnsupported, "topic is not under base topic '" + base_topic_ + "'"};
  std::string_view rest = topic.substr(base_topic_.size() + 1);

  if (rest == "bridge/state") {
    auto online = online_from(message.payload);
    if (!online) return DecodeError{DecodeError::Code::kMalformed, "bridge/state is neither online nor offline"};
    std::string device = base_topic_ + "/bridge";
    // Back after being seen offline: what the bridge sends in the next
    // moments is its cached state (cache_state_send_on_startup), not news.
    if (*online && !message.retained && bridge_online_ == false) replay_until_ = message.received + kReplayWindow;
    bridge_online_ = *online;
    if (!cache_.changed(device, "availability", *online ? "1" : "0")) return Events{};
    auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
    event.mutable_device_health()->set_condition(*online ? DeviceHealthPayload::CONDITION_ONLINE
                                                         : DeviceHealthPayload::CONDITION_OFFLINE);
    return Events{std::move(event)};
  }
  if (rest == "bridge/event") return decode_bridge_event(message);
  if (rest.starts_with("bridge/")) return Events{};
  if (rest.ends_with("/availability")) return decode_availability(message, rest.substr(0, rest.size() - 13));
  if (rest.ends_with("/action") || rest.ends_with("/set") || rest.ends_with("/get")) return Events{};
  return decode_device_state(message, rest);
}

DecodeResult Zigbee2MqttDriver::decode_availability(const Message& message, std::string_view device) {
  auto online = online_from(message.payload);
  if (!online) return DecodeError{DecodeError::Code::kMalformed, "availability is neither online nor offline"};
  if (!cache_.changed(device, "availability", *online ? "1" : "0")) return Events{};
  auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(*online ? DeviceHealthPayload::CONDITION_ONLINE
                                                       : DeviceHealthPayload::CONDITION_OFFLINE);
  return Events{std::move(event)};
}

DecodeResult Zigbee2MqttDriver::decode_bridge_event(const Message& message) {
  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return DecodeError{DecodeError::Code::kMalformed, "bridge/event is not a JSON object"};
  if (text_member(doc, "type") != "device_leave") return Events{};
  std::string device;
  if (auto data = doc.find("data"); data != doc.end() && data->is_object()) {
    device = text_member(*data, "friendly_name");
    if (device.empty()) device = text_member(*data, "ieee_address");
  }
  if (device.empty()) return DecodeError{DecodeError::Code::kMalformed, "device_leave names no device"};
  cache_.forget_device(device);
  auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(DeviceHealthPayload::CONDITION_LEFT_NETWORK);
  return Events{std::move(event)};
}

DecodeResult Zigbee2MqttDriver::decode_device_state(const Message& message, std::string_view device) {
  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "device state is not a JSON object"};

  StateReader in(doc);
  std::optional<WallTime> sensor_time;
  if (const json* last_seen = in.find("last_seen")) {
    sensor_time = jv::as_timestamp(*last_seen);
    if (!sensor_time)
      return DecodeError{DecodeError::Code::kWrongType, "last_seen is not a timestamp: " + last_seen->dump()};
  }

  struct Candidate {
    const char* aspect;  // nullptr: an event that is never deduplicated (a button press)
    SensorEvent event;
  };
  std::vector<Candidate> out;
  auto add = [&](const char* aspect, EventKind kind) -> SensorEvent& {
    out.push_back({aspect, make_event(message, name(), device, kind)});
    if (sensor_time) *out.back().event.mutable_sensor_time() = to_timestamp(*sensor_time);
    return out.back().event;
  };

  // Fall, and the OWON radar's combined status. "status" is a common key, so
  // one that is not OWON's (not a string, another value) is not an error.
  std::optional<OwonStatus> owon;
  std::string owon_text;
  if (const json* status = in.find("status"); status != nullptr && status->is_string()) {
    owon_text = status->get<std::string>();
    owon = owon_status_from(owon_text);
  }
  for (const char* key : {"fall_down_status", "fall_status"}) {
    if (auto v = in.text(key)) {
      if (auto state = fall_state_from(*v)) {
        auto* fall = add("fall", eldercare::v1::EVENT_KIND_FALL).mutable_fall();
        fall->set_state(*state);
        fall->set_vendor_state(*v);
      }
    }
  }
  if (owon) {
    auto* fall = add("fall", eldercare::v1::EVENT_KIND_FALL).mutable_fall();
    fall->set_state(owon->fall);
    fall->set_vendor_state(owon_text);
  }

  if (auto alarm = in.any_true({"gas", "gas_alarm_1", "gas_alarm_2", "carbon_monoxide", "carbon_monoxide_alarm_1",
                                "carbon_monoxide_alarm_2"})) {
    auto* gas = add("gas", eldercare::v1::EVENT_KIND_GAS).mutable_gas();
    gas->set_alarm(*alarm);
    if (auto lel = in.number("gas_value", 0, 100)) gas->set_concentration_lel_percent(*lel);
  }
  if (auto alarm = in.any_true({"smoke", "smoke_alarm_1", "smoke_alarm_2"})) {
    auto* smoke = add("smoke", eldercare::v1::EVENT_KIND_SMOKE).mutable_smoke();
    smoke->set_alarm(*alarm);
    if (auto ppm = in.number("smoke_concentration", 0, 1e6)) smoke->set_concentration_ppm(*ppm);
    if (auto test = in.boolean("test")) smoke->set_test(*test);
  }
  if (auto leak = in.any_true({"water_leak", "water_leak_alarm_1", "water_leak_alarm_2"}))
    add("water_leak", eldercare::v1::EVENT_KIND_WATER_LEAK).mutable_water_leak()->set_leak(*leak);

  if (auto action = in.text("action"); action && is_sos_action(*action)) {
    auto* sos = add(nullptr, eldercare::v1::EVENT_KIND_SOS_CALL).mutable_sos();
    sos->set_active(true);
    sos->set_vendor_action(*action);
  }
  if (auto active = in.any_true({"sos", "sos_alarm", "sos_alarm_1", "sos_alarm_2", "alarm_1", "alarm_2"})) {
    auto* sos = add("sos_state", eldercare::v1::EVENT_KIND_SOS_CALL).mutable_sos();
    sos->set_active(*active);
    sos->set_vendor_action(*active ? "alarm" : "clear");
  }

  // Contact keys are inverted (true = closed): open when any of them is false.
  std::optional<bool> open;
  for (const char* key : {"contact", "contact_alarm_1", "contact_alarm_2"})
    if (auto closed = in.boolean(key)) open = open.value_or(false) || !*closed;
  if (open) add("door", eldercare::v1::EVENT_KIND_DOOR).mutable_door()->set_open(*open);

  // A Tuya bed strap's occupancy is whether someone lies on the strap.
  const bool bed_strap = doc.contains("work_state");
  std::optional<bool> present = in.boolean("presence");
  if (!present && !bed_strap) present = in.any_true({"occupancy", "occupancy_alarm_1", "occupancy_alarm_2"});
  if (owon) present = owon->present;
  if (present) {
    auto* presence = add("presence", eldercare::v1::EVENT_KIND_PRESENCE).mutable_presence();
    presence->set_present(*present);
    if (auto motion = in.text("human_motion_state")) {
      if (*motion == "none") presence->set_motion(PresencePayload::MOTION_NONE);
      if (*motion == "small") presence->set_motion(PresencePayload::MOTION_SMALL);
      if (*motion == "large") presence->set_motion(PresencePayload::MOTION_LARGE);
    }
  }

  std::optional<BedPayload::State> bed;
  for (const char* key : {"work_state", "pressure_state"})
    if (auto v = in.text(key))
      if (auto s = bed_state_from(key, *v)) bed = s;
  if (bed_strap)
    if (auto on_strap = in.boolean("occupancy"))
      bed = *on_strap ? BedPayload::STATE_IN_BED : BedPayload::STATE_OUT_OF_BED;
  if (owon) bed = owon->bed;
  if (bed) add("bed", eldercare::v1::EVENT_KIND_BED).mutable_bed_state()->set_state(*bed);

  auto heart = in.number("heart_rate", 20, 300);
  auto breathing = in.number("breathing_rate", 0, 80);
  if (heart || breathing) {
    auto* vitals = add("vitals", eldercare::v1::EVENT_KIND_VITALS).mutable_vitals();
    if (heart) vitals->set_heart_rate_bpm(*heart);
    if (breathing) vitals->set_breathing_rate_per_min(*breathing);
  }

  auto link_quality = in.number("linkquality", 0, 255);
  auto battery = in.number("battery", 0, 100);
  std::optional<bool> battery_low = in.boolean("battery_low");
  if (!battery_low && battery) battery_low = *battery <= kLowBatteryPercent;
  if (battery_low) {
    auto* health = add("battery", eldercare::v1::EVENT_KIND_DEVICE_HEALTH).mutable_device_health();
    health->set_condition(*battery_low ? DeviceHealthPayload::CONDITION_BATTERY_LOW
                                       : DeviceHealthPayload::CONDITION_BATTERY_OK);
    if (battery) health->set_battery_percent(*battery);
  }
  if (auto tamper = in.boolean("tamper")) {
    auto* health = add("tamper", eldercare::v1::EVENT_KIND_DEVICE_HEALTH).mutable_device_health();
    health->set_condition(*tamper ? DeviceHealthPayload::CONDITION_TAMPER
                                  : DeviceHealthPayload::CONDITION_TAMPER_CLEARED);
  }

  if (in.error()) return *in.error();

  const bool self_test = reports_self_test(doc);
  const bool warming_up = reports_warm_up(doc);
  const bool replayed = replay_until_ && message.received <= *replay_until_;
  Events events;
  for (auto& candidate : out) {
    auto kind = candidate.event.kind();
    if (kind == eldercare::v1::EVENT_KIND_GAS || kind == eldercare::v1::EVENT_KIND_SMOKE) {
      candidate.event.set_self_test(self_test);
      candidate.event.set_warming_up(warming_up);
    }
    candidate.event.set_replayed(replayed);
    if (candidate.aspect != nullptr) {
      // The signature leaves out what changes without the state changing: the
      // battery percentage (we report crossings of the low mark) and times. A
      // concentration is compared on its own, and only when the message has one.
      std::string signature = candidate.event.has_device_health()
                                  ? std::to_string(candidate.event.device_health().condition())
                                  : state_signature(candidate.event);
      bool changed = cache_.changed(device, candidate.aspect, std::move(signature));
      if (auto concentration = concentration_of(candidate.event))
        changed =
            cache_.changed(device, std::string(candidate.aspect) + ".concentration", json(*concentration).dump()) ||
            changed;
      if (!changed) continue;
    }
    if (link_quality && candidate.event.has_device_health())
      candidate.event.mutable_device_health()->set_link_quality(static_cast<int>(*link_quality));
    events.push_back(std::move(candidate.event));
  }
  return events;
}

}  // namespace eg::drivers
