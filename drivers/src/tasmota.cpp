// Tasmota driver: sensors wired to a Tasmota ESP, and Zigbee2Tasmota bridges.
//
// Topics. Tasmota's FullTopic defaults to "%prefix%/%topic%/", giving
//   tele/<topic>/LWT      plain "Online" (retained, sent on connect) / "Offline" (the MQTT will)
//   tele/<topic>/STATE    JSON every TelePeriod (default 300 s): Time, Uptime, Heap, Wifi
//   tele/<topic>/SENSOR   JSON sensor readings, including a Zigbee bridge's ZbReceived
//   tele/<topic>/<other>  INFO1-3, UPTIME, RESULT, ...: nothing to report, ignored
// Users rearrange FullTopic freely ("/SonoffZigbeeBridge/898E/tele/SENSOR" was
// captured, leading '/' and all), and SetOption89 adds the Zigbee short address
// below %topic% ("tele/zbbridge/8F20/SENSOR"). So a topic is recognised by its
// %prefix% level ("tele", configurable as the base topic) wherever that level
// is; the last level is the message type, and the other non-empty levels,
// joined by '/', are the Tasmota topic: the device id of plain sensors and of
// LWT/STATE. MQTT has no "anywhere" wildcard, so topic_filters() allows up to
// three levels before %prefix% (a leading '/' counts as one, empty, level).
// cmnd/ and stat/ are not subscribed: they carry commands and command results.
//
// SENSOR keys read (a key that is absent or null means unknown/unchanged):
//   Time        device local time without a zone ("2021-12-02T10:35:15"), read at the
//               configured UTC offset (with SetOption52 it carries its own) -> sensor_time.
//               Until NTP sets it, Tasmota's clock counts from 1970-01-01: such a Time is
//               not a reading time and is dropped, not rejected.
//   Switch<n>   "ON"/"OFF" (SwitchMode 15), or {"Action":"ON"} with SetOption114, read as a
//               door reed contact. ON means the input circuit is closed, and the usual door
//               reed (e.g. MC-38) is closed by its magnet while the door is shut: ON = door
//               CLOSED. That depends on the wiring; a reed of the opposite kind is handled
//               on the device with SwitchMode 16 (inverted), not here. Every Switch input is
//               taken for a door, so Tasmotas whose switches are wall switches do not belong
//               on this driver's route.
//   LD2410      {"Distance":[moving, static, detection cm], "Energy":[moving, static 0-100]}:
//               present while any energy is non-zero
//   LD2410S     {"Distance":cm, "People":0-3}: 0/1 nobody, 2/3 someone
//   ZbReceived  {"<0xSHORT or friendly name>":{"Device":"0xSHORT","Name":..,<attributes>}},
//               attributes PascalCase, booleans as 0/1:
//     Contact 1 = OPEN, the opposite of Zigbee2MQTT's contact:true = closed -> door
//     Occupancy -> presence; Water -> leak; Fire -> smoke; CO -> gas
//     PersonalAlarm, Panic -> SOS; like all IAS alarms these are states that stay 1 until cleared
//     ZoneStatusChange  the IAS zone status: bit0 alarm1, bit2 tamper, bit3 battery low,
//                       bit8 test (the alarm is the detector's test: self_test).
//               Tasmota adds the synthetic key above only when it knows the zone type, and
//               real leak sensors were captured without it; then bit0 is read as the kind
//               the same device showed earlier, and dropped if it never showed one.
//     BatteryPercentage (newer firmware) or Battery (%), LinkQuality (LQI 0-255) -> health.
//     BatteryVoltage / Voltage (V) are ignored: the schema has no voltage, and the low
//     mark depends on the battery chemistry.
//   Zigbee device id: "Name" (the ZbName, trimmed: users type stray spaces) when present,
//   else the object's key, which is the friendly name with SetOption83 and otherwise the
//   16-bit short address. The short address changes when a device re-joins the network,
//   so Zigbee devices should be named on the bridge for the device registry to keep them.
//
// STATE is a heartbeat. It reports the device ONLINE only when its availability
// changes (the first one seen, or one after an "Offline" will), so that a missed
// or cleared LWT still ends right; otherwise it produces nothing. The LWT of a
// Zigbee bridge covers the bridge only, not its Zigbee devices.
//
// Only a changed aspect produces an event; the first message from a device
// establishes and reports its state. A rejected message changes no state.
#include "tasmota.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "event_builder.hpp"
#include "json_values.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::DeviceHealthPayload;
using eldercare::v1::EventKind;
using eldercare::v1::SensorEvent;
using nlohmann::json;
namespace jv = json_values;

constexpr double kLowBatteryPercent = 20;  // the same mark as the Zigbee2MQTT driver's

// A Time before this is Tasmota's unset clock counting from 1970-01-01 (Tasmota
// itself dates from 2016).
constexpr std::chrono::sys_days kClockSetAfter{std::chrono::year{2016} / 1 / 1};

// IAS Zone status bits (ZCL 8.2.2.2.1.3).
constexpr long long kZoneAlarm1 = 1 << 0;
constexpr long long kZoneTamper = 1 << 2;
constexpr long long kZoneBatteryLow = 1 << 3;
constexpr long long kZoneTest = 1 << 8;  // the detector's test button: its alarm bit is a test

// Tasmota's synthetic IAS attributes (cluster 0x0500, 0xFFF0+) and the 0x0406
// occupancy, with what they mean here. Movement (a vibration sensor) and
// GlassBreak have no event kind.
struct ZoneKey {
  const char* key;
  EventKind kind;
};
constexpr ZoneKey kZoneKeys[] = {
    {"Contact", eldercare::v1::EVENT_KIND_DOOR},     {"Occupancy", eldercare::v1::EVENT_KIND_PRESENCE},
    {"Water", eldercare::v1::EVENT_KIND_WATER_LEAK}, {"Fire", eldercare::v1::EVENT_KIND_SMOKE},
    {"CO", eldercare::v1::EVENT_KIND_GAS},           {"PersonalAlarm", eldercare::v1::EVENT_KIND_SOS_CALL},
    {"Panic", eldercare::v1::EVENT_KIND_SOS_CALL},
};

struct TopicParts {
  std::string tasmota_topic;
  std::string_view type;  // SENSOR, STATE, LWT, ...
};

std::optional<TopicParts> split_topic(std::string_view topic, std::string_view prefix) {
  std::vector<std::string_view> levels;
  for (std::size_t start = 0;;) {
    auto end = topic.find('/', start);
    levels.push_back(topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  auto prefix_at = std::find(levels.begin(), levels.end(), prefix);
  if (prefix_at == levels.end() || prefix_at + 1 == levels.end()) return std::nullopt;
  TopicParts parts;
  parts.type = levels.back();
  for (auto level = levels.begin(); level + 1 != levels.end(); ++level) {
    if (level == prefix_at || level->empty()) continue;
    if (!parts.tasmota_topic.empty()) parts.tasmota_topic += '/';
    parts.tasmota_topic.append(*level);
  }
  if (parts.tasmota_topic.empty() || parts.type.empty()) return std::nullopt;
  return parts;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// "Switch1" .. "Switch28".
bool is_switch_key(std::string_view key) {
  constexpr std::string_view kSwitch = "Switch";
  if (!key.starts_with(kSwitch) || key.size() == kSwitch.size()) return false;
  return std::all_of(key.begin() + kSwitch.size(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads typed values from Tasmota's JSON objects, remembering the first type
// or range problem so the caller can reject the message with one reason.
class Reader {
 public:
  // Where the values come from, for reasons: "ZbReceived.0x898E".
  void set_context(std::string context) { context_ = std::move(context); }

  static const json* find(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }
  // 0/1, true/false or "ON"/"OFF".
  std::optional<bool> flag(const json& object, const char* key) {
    const json* v = find(object, key);
    if (v == nullptr) return std::nullopt;
    auto b = jv::as_bool(*v);
    if (!b) fail(DecodeError::Code::kWrongType, where(key) + " is not 0/1 or ON/OFF: " + v->dump());
    return b;
  }
  std::optional<double> number(const json& object, const char* key, double min, double max) {
    const json* v = find(object, key);
    if (v == nullptr) return std::nullopt;
    return checked_number(*v, where(key), min, max);
  }
  std::optional<long long> integer(const json& object, const char* key, long long min, long long max) {
    auto n = number(object, key, static_cast<double>(min), static_cast<double>(max));
    if (!n) return std::nullopt;
    if (std::trunc(*n) != *n) {
      fail(DecodeError::Code::kWrongType, where(key) + " is not an integer: " + json(*n).dump());
      return std::nullopt;
    }
    return static_cast<long long>(*n);
  }
  std::optional<std::string> text(const json& object, const char* key) {
    const json* v = find(object, key);
    if (v == nullptr) return std::nullopt;
    auto s = jv::as_string(*v);
    if (!s) fail(DecodeError::Code::kWrongType, where(key) + " is not a string: " + v->dump());
    return s;
  }
  std::optional<double> checked_number(const json& v, const std::string& what, double min, double max) {
    auto n = jv::as_number(v);
    if (!n) {
      fail(DecodeError::Code::kWrongType, what + " is not a number: " + v.dump());
      return std::nullopt;
    }
    if (*n < min || *n > max) {
      fail(DecodeError::Code::kOutOfRange,
           what + " " + v.dump() + " is outside [" + json(min).dump() + ", " + json(max).dump() + "]");
      return std::nullopt;
    }
    return n;
  }
  std::string where(const char* key) const { return context_.empty() ? key : context_ + "." + key; }

  void fail(DecodeError::Code code, std::string reason) {
    if (!error_) error_ = DecodeError{code, std::move(reason)};
  }
  const std::optional<DecodeError>& error() const { return error_; }

 private:
  std::string context_;
  std::optional<DecodeError> error_;
};

// "Time", when the device's clock is set.
std::optional<WallTime> read_time(const json& doc, Reader& in, std::chrono::minutes local_utc_offset) {
  auto text = in.text(doc, "Time");
  if (!text) return std::nullopt;
  auto time = jv::parse_iso8601_local(*text, local_utc_offset);
  if (!time) {
    in.fail(DecodeError::Code::kWrongType, "Time is not a timestamp: " + json(*text).dump());
    return std::nullopt;
  }
  if (*time < kClockSetAfter) return std::nullopt;
  return time;
}

// The payload of a state-style alarm of the event's kind; `vendor` is the key
// it was read from.
void set_alarm(SensorEvent& event, bool active, std::string_view vendor) {
  switch (event.kind()) {
    case eldercare::v1::EVENT_KIND_DOOR:
      event.mutable_door()->set_open(active);
      break;
    case eldercare::v1::EVENT_KIND_PRESENCE:
      event.mutable_presence()->set_present(active);
      break;
    case eldercare::v1::EVENT_KIND_WATER_LEAK:
      event.mutable_water_leak()->set_leak(active);
      break;
    case eldercare::v1::EVENT_KIND_SMOKE:
      event.mutable_smoke()->set_alarm(active);
      break;
    case eldercare::v1::EVENT_KIND_GAS:
      event.mutable_gas()->set_alarm(active);
      break;
    case eldercare::v1::EVENT_KIND_SOS_CALL:
      event.mutable_sos()->set_active(active);
      event.mutable_sos()->set_vendor_action(std::string(vendor));
      break;
    default:
      break;
  }
}

}  // namespace

TasmotaDriver::TasmotaDriver(std::string prefix, std::chrono::minutes local_utc_offset)
    : prefix_(std::move(prefix)), local_utc_offset_(local_utc_offset) {}

std::vector<std::string> TasmotaDriver::topic_filters() const {
  return {prefix_ + "/#", "+/" + prefix_ + "/#", "+/+/" + prefix_ + "/#", "+/+/+/" + prefix_ + "/#"};
}

DecodeResult TasmotaDriver::decode(const Message& message) {
  auto parts = split_topic(message.topic, prefix_);
  if (!parts)
    return DecodeError{DecodeError::Code::kUnsupported,
                       "topic has no '" + prefix_ + "' level between a Tasmota topic and a message type"};
  if (parts->type == "LWT") return decode_lwt(message, parts->tasmota_topic);
  if (parts->type == "STATE") return decode_state(message, parts->tasmota_topic);
  if (parts->type == "SENSOR") return decode_sensor(message, parts->tasmota_topic);
  return Events{};
}

Events TasmotaDriver::report_availability(const Message& message, std::string_view device, bool online,
                                          std::optional<WallTime> sensor_time) {
  if (!cache_.changed(device, "availability", online ? "1" : "0")) return Events{};
  auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(online ? DeviceHealthPayload::CONDITION_ONLINE
                                                      : DeviceHealthPayload::CONDITION_OFFLINE);
  if (sensor_time) *event.mutable_sensor_time() = to_timestamp(*sensor_time);
  return Events{std::move(event)};
}

DecodeResult TasmotaDriver::decode_lwt(const Message& message, std::string_view tasmota_topic) {
  // An empty LWT is the deletion of the retained one (a retired device), not a state.
  if (message.payload.empty()) return Events{};
  // "Online"/"Offline" in stock firmware; custom builds may change the case.
  if (iequals(message.payload, "Online")) return report_availability(message, tasmota_topic, true, std::nullopt);
  if (iequals(message.payload, "Offline")) return report_availability(message, tasmota_topic, false, std::nullopt);
  return DecodeError{DecodeError::Code::kMalformed, "LWT is neither Online nor Offline"};
}

DecodeResult TasmotaDriver::decode_state(const Message& message, std::string_view tasmota_topic) {
  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "STATE is not a JSON object"};
  Reader in;
  auto sensor_time = read_time(doc, in, local_utc_offset_);
  if (in.error()) return *in.error();
  return report_availability(message, tasmota_topic, true, sensor_time);
}

DecodeResult TasmotaDriver::decode_sensor(const Message& message, std::string_view tasmota_topic) {
  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "SENSOR is not a JSON object"};

  Reader in;
  auto sensor_time = read_time(doc, in, local_utc_offset_);

  // Events in the making, each with the (device, aspect) state it reports.
  struct Candidate {
    std::string device;
    std::string aspect;
    std::string signature;
    SensorEvent event;
  };
  std::vector<Candidate> out;
  auto add = [&](std::string_view device, std::string aspect, std::string signature, EventKind kind) -> SensorEvent& {
    out.push_back(
        {std::string(device), std::move(aspect), std::move(signature), make_event(message, name(), device, kind)});
    if (sensor_time) *out.back().event.mutable_sensor_time() = to_timestamp(*sensor_time);
    return out.back().event;
  };
  // A state-style reading. `input` tells apart inputs of one device that report
  // the same kind (Switch1, Switch2), so that they do not mask each other;
  // `vendor` is the key the state was read from.
  auto add_state = [&](std::string_view device, std::string_view input, EventKind kind, bool active,
                       std::string_view vendor) {
    std::string aspect = eldercare::v1::EventKind_Name(kind);
    if (!input.empty()) aspect.append("/").append(input);
    set_alarm(add(device, std::move(aspect), active ? "1" : "0", kind), active, vendor);
  };

  // Wired inputs and UART radars: the device is the Tasmota itself.
  for (const auto& [key, value] : doc.items()) {
    if (!is_switch_key(key)) continue;
    in.set_context(value.is_object() ? key : "");
    auto on = value.is_object() ? in.flag(value, "Action") : in.flag(doc, key.c_str());
    if (on) add_state(tasmota_topic, key, eldercare::v1::EVENT_KIND_DOOR, !*on, key);
  }
  in.set_context("");
  if (const json* radar = Reader::find(doc, "LD2410")) {
    in.set_context("LD2410");
    const json* energy = radar->is_object() ? Reader::find(*radar, "Energy") : nullptr;
    if (!radar->is_object()) {
      in.fail(DecodeError::Code::kWrongType, "LD2410 is not an object");
    } else if (energy != nullptr && (!energy->is_array() || energy->size() != 2)) {
      in.fail(DecodeError::Code::kWrongType, "LD2410.Energy is not [moving, static]: " + energy->dump());
    } else if (energy != nullptr) {
      bool present = false;
      for (const auto& e : *energy)
        if (auto n = in.checked_number(e, "LD2410.Energy", 0, 100)) present = present || *n > 0;
      add_state(tasmota_topic, "LD2410", eldercare::v1::EVENT_KIND_PRESENCE, present, "LD2410");
    }
  }
  if (const json* radar = Reader::find(doc, "LD2410S")) {
    in.set_context("LD2410S");
    if (!radar->is_object())
      in.fail(DecodeError::Code::kWrongType, "LD2410S is not an object");
    else if (auto people = in.integer(*radar, "People", 0, 3))
      add_state(tasmota_topic, "LD2410S", eldercare::v1::EVENT_KIND_PRESENCE, *people >= 2, "LD2410S");
  }

  // Zigbee devices behind a bridge.
  std::unordered_map<std::string, EventKind> learned;
  const json* received = Reader::find(doc, "ZbReceived");
  if (received != nullptr && !received->is_object()) {
    in.fail(DecodeError::Code::kWrongType, "ZbReceived is not an object");
  } else if (received != nullptr) {
    for (const auto& [key, attrs] : received->items()) {
      in.set_context("ZbReceived." + key);
      if (!attrs.is_object()) {
        in.fail(DecodeError::Code::kWrongType, "ZbReceived." + key + " is not an object");
        continue;
      }
      std::string device = key;
      if (auto name = in.text(attrs, "Name")) {
        if (std::string clean = trimmed(*name); !clean.empty()) device = std::move(clean);
      }

      auto zone_status = in.integer(attrs, "ZoneStatusChange", 0, 0xFFFF);
      bool has_zone_key = false;
      for (const auto& zone_key : kZoneKeys) {
        if (auto active = in.flag(attrs, zone_key.key)) {
          add_state(device, "", zone_key.kind, *active, zone_key.key);
          if (!has_zone_key) learned[device] = zone_key.kind;
          has_zone_key = true;
        }
      }
      if (!has_zone_key && zone_status) {
        if (auto kind = ias_kind_.find(device); kind != ias_kind_.end()) {
          add_state(device, "", kind->second, (*zone_status & kZoneAlarm1) != 0, "ZoneStatusChange");
          if ((*zone_status & kZoneTest) != 0) {
            out.back().event.set_self_test(true);
            out.back().signature += "/test";  // the end of the test is news
          }
        }
      }

      auto link_quality = in.integer(attrs, "LinkQuality", 0, 255);
      auto percent = in.number(attrs, "BatteryPercentage", 0, 100);
      if (!percent) percent = in.number(attrs, "Battery", 0, 100);
      // The device's own low-battery flag wins over our reading of the percentage.
      std::optional<bool> battery_low;
      if (zone_status)
        battery_low = (*zone_status & kZoneBatteryLow) != 0;
      else if (percent)
        battery_low = *percent <= kLowBatteryPercent;
      auto add_health = [&](const char* aspect, DeviceHealthPayload::Condition condition) -> DeviceHealthPayload& {
        // The signature is the condition alone: a percentage drifting by one is not news.
        auto* health = add(device, aspect, std::to_string(condition), eldercare::v1::EVENT_KIND_DEVICE_HEALTH)
                           .mutable_device_health();
        health->set_condition(condition);
        if (link_quality) health->set_link_quality(static_cast<int>(*link_quality));
        return *health;
      };
      if (battery_low) {
        auto& health = add_health("battery", *battery_low ? DeviceHealthPayload::CONDITION_BATTERY_LOW
                                                          : DeviceHealthPayload::CONDITION_BATTERY_OK);
        if (percent) health.set_battery_percent(*percent);
      }
      if (zone_status)
        add_health("tamper", (*zone_status & kZoneTamper) != 0 ? DeviceHealthPayload::CONDITION_TAMPER
                                                               : DeviceHealthPayload::CONDITION_TAMPER_CLEARED);
    }
  }

  if (in.error()) return *in.error();

  for (auto& [device, kind] : learned) ias_kind_[device] = kind;
  Events events;
  for (auto& candidate : out)
    if (cache_.changed(candidate.device, candidate.aspect, std::move(candidate.signature)))
      events.push_back(std::move(candidate.event));
  return events;
}

}  // namespace eg::drivers
