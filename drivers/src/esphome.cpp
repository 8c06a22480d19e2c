// ESPHome driver, for nodes configured with an `mqtt:` block (most vendor kits
// ship with the native API instead; these topics exist only in MQTT mode).
//
// Topics (<prefix> is the node's topic_prefix, by default its name; with a
// configured base topic B, nodes are expected at topic_prefix "B/<node>"):
//   <prefix>/<component>/<object_id>/state  plain-text state, retained by default
//   <prefix>/status                         "online" (birth) / "offline" (will and shutdown), retained
//   .../command, debug and discovery topics are not subscribed.
// object_id is the entity name in snake case with anything outside
// [A-Za-z0-9_-] replaced by '_': "Real-time heart rate" -> real-time_heart_rate.
// The node name is the device id. ESPHome sends no timestamp: sensor_time stays unset.
//
// ESPHome has no fixed prefix, so with no base topic the filters are "+/status"
// and "+/+/+/state": every topic of those shapes comes here. One exception:
// "homeassistant" is Home Assistant's discovery prefix, not a node. ESPHome
// publishes only discovery configs there (five levels, not subscribed); firmware
// that publishes state there (the hand-written MR60FDA1 sketch's
// homeassistant/binary_sensor/seeed-mmwave_presence/state) has no node level,
// so decoding it as ESPHome would give every such device the id
// "homeassistant". It is rejected as unsupported rather than guessed at.
//
// Entities are recognised by whole words of their object_id ('_' and '-'
// separate words), so that "bed" matches bed_status but not bedroom_presence:
//   binary_sensor, payload ON/OFF
//     fall       a word fall, falling or fallen: falling_detected (MR60FDA2 docs name), fall_detected
//     bed        the word bed: bed_status (R60ABD1, ON = in bed, OFF = out of bed or unknown)
//     presence   presence, occupancy, people_exist, has_target, person_information
//   sensor, payload a number printed with accuracy_decimals digits ("72.00", "68")
//     heart rate ending in heart_rate, beats/min: heart_rate, real-time_heart_rate; 20-300
//     breathing  ending in breath_rate, breathing_rate, respiration_rate or
//                respiratory_rate, breaths/min: breath_rate, real-time_respiratory_rate; 0-80
//   Every other entity (distance, sleep_stage, motion_status, switches, ...) is ignored.
// The component decides what an object_id can mean: a number entity named
// "presence_timeout" or a select named "fall_sensitivity" is not a state.
//
// "nan" is how ESPHome publishes a sensor without a value: the radar sees nobody,
// or the R60ABD1 measures a rate outside its range. That is a normal condition,
// not bad input, so it gives no event and no error. It does reset the remembered
// value, so that the next real reading is reported even if it equals the last
// one before the gap. An empty payload is MQTT's deletion of a retained state
// (an entity removed): nothing to report either.
//
// Only a changed state produces an event; the first message for an entity
// establishes and reports it. State topics are retained, so after a reconnect the
// last values arrive again, flagged retained (make_event copies the flag); an
// offline node still shows its last values, which is why /status matters.
#include "esphome.hpp"

#include <nlohmann/json.hpp>

#include "event_builder.hpp"
#include "json_values.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::BedPayload;
using eldercare::v1::DeviceHealthPayload;
using eldercare::v1::FallPayload;
namespace jv = json_values;

constexpr std::string_view kDiscoveryPrefix = "homeassistant";

std::vector<std::string_view> split_levels(std::string_view topic) {
  std::vector<std::string_view> levels;
  for (std::size_t start = 0;;) {
    auto end = topic.find('/', start);
    levels.push_back(topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return levels;
    start = end + 1;
  }
}

// An object_id as "_word_word_", with '-' as a separator too, so that phrases
// ("_people_exist_") are found only as whole words.
class Words {
 public:
  explicit Words(std::string_view object_id) : framed_("_") {
    for (char c : object_id) framed_.push_back(c == '-' ? '_' : c);
    framed_.push_back('_');
  }
  bool has(std::string_view phrase) const { return framed_.find(framed(phrase)) != std::string::npos; }
  bool ends_with(std::string_view phrase) const { return framed_.ends_with(framed(phrase)); }

 private:
  static std::string framed(std::string_view phrase) { return "_" + std::string(phrase) + "_"; }
  std::string framed_;
};

enum class Entity { kIgnored, kFall, kBed, kPresence, kHeartRate, kBreathingRate };

Entity classify(std::string_view component, std::string_view object_id) {
  Words words(object_id);
  auto any = [&](std::initializer_list<std::string_view> phrases, bool at_end) {
    for (auto phrase : phrases)
      if (at_end ? words.ends_with(phrase) : words.has(phrase)) return true;
    return false;
  };
  if (component == "binary_sensor") {
    // Most specific first: "bed_presence" is bed occupancy, "fall_presence" a fall.
    if (any({"fall", "falling", "fallen"}, false)) return Entity::kFall;
    if (any({"bed"}, false)) return Entity::kBed;
    if (any({"presence", "occupancy", "people_exist", "has_target", "person_information"}, false))
      return Entity::kPresence;
  } else if (component == "sensor") {
    if (any({"heart_rate"}, true)) return Entity::kHeartRate;
    if (any({"breath_rate", "breathing_rate", "respiration_rate", "respiratory_rate"}, true))
      return Entity::kBreathingRate;
  }
  return Entity::kIgnored;
}

bool is_nan_text(std::string_view payload) {
  // printf prints NaN as "nan" or "-nan", depending on the sign bit and the libc.
  if (payload.starts_with('-')) payload.remove_prefix(1);
  return payload.size() == 3 && (payload[0] | 0x20) == 'n' && (payload[1] | 0x20) == 'a' && (payload[2] | 0x20) == 'n';
}

// The payload for a reason: quoted, cut short, non-printable bytes escaped (a
// payload is untrusted and need not be text at all).
std::string quoted(std::string_view payload) {
  constexpr std::size_t kMax = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < payload.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(payload[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (payload.size() > kMax) out += "...";
  return out + "'";
}

}  // namespace

EsphomeDriver::EsphomeDriver(std::string base_topic) : base_topic_(std::move(base_topic)) {}

std::vector<std::string> EsphomeDriver::topic_filters() const {
  std::string prefix = base_topic_.empty() ? "" : base_topic_ + "/";
  return {prefix + "+/status", prefix + "+/+/+/state"};
}

DecodeResult EsphomeDriver::decode(const Message& message) {
  std::string_view rest = message.topic;
  if (!base_topic_.empty()) {
    if (!rest.starts_with(base_topic_) || rest.size() <= base_topic_.size() + 1 || rest[base_topic_.size()] != '/')
      return DecodeError{DecodeError::Code::kUnsupported, "topic is not under base topic '" + base_topic_ + "'"};
    rest.remove_prefix(base_topic_.size() + 1);
  }
  auto levels = split_levels(rest);
  for (auto level : levels)
    if (level.empty()) return DecodeError{DecodeError::Code::kUnsupported, "topic has an empty level"};
  if (levels.front() == kDiscoveryPrefix)
    return DecodeError{DecodeError::Code::kUnsupported,
                       "Home Assistant discovery prefix, not an ESPHome node; configure that publisher's topic"};
  if (levels.size() == 2 && levels[1] == "status") return decode_status(message, levels[0]);
  if (levels.size() == 4 && levels[3] == "state") return decode_entity(message, levels[0], levels[1], levels[2]);
  return DecodeError{DecodeError::Code::kUnsupported,
                     "topic is neither <node>/status nor <node>/<component>/<object_id>/state"};
}

DecodeResult EsphomeDriver::decode_status(const Message& message, std::string_view node) {
  if (message.payload.empty()) return Events{};  // the retained status deleted
  bool online = message.payload == "online";
  if (!online && message.payload != "offline")
    return DecodeError{DecodeError::Code::kMalformed,
                       "status " + quoted(message.payload) + " is neither online nor offline"};
  if (!cache_.changed(node, "availability", online ? "1" : "0")) return Events{};
  auto event = make_event(message, name(), node, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(online ? DeviceHealthPayload::CONDITION_ONLINE
                                                      : DeviceHealthPayload::CONDITION_OFFLINE);
  return Events{std::move(event)};
}

DecodeResult EsphomeDriver::decode_entity(const Message& message, std::string_view node, std::string_view component,
                                          std::string_view object_id) {
  Entity entity = classify(component, object_id);
  if (entity == Entity::kIgnored || message.payload.empty()) return Events{};
  std::string aspect = std::string(component) + "/" + std::string(object_id);
  std::string_view payload = message.payload;

  if (entity == Entity::kFall || entity == Entity::kBed || entity == Entity::kPresence) {
    // ESPHome's binary sensors publish exactly these two.
    if (payload != "ON" && payload != "OFF")
      return DecodeError{DecodeError::Code::kWrongType,
                         std::string(object_id) + " state " + quoted(payload) + " is neither ON nor OFF"};
    bool on = payload == "ON";
    // A retained fall is remembered apart: the node's own live report of the
    // same state after it is news the rules must see (staff may have resolved
    // the alert the retained copy belongs to).
    const bool stale_alarm = entity == Entity::kFall && message.retained;
    if (!cache_.changed(node, aspect, std::string(on ? "1" : "0") + (stale_alarm ? "r" : ""))) return Events{};
    eldercare::v1::SensorEvent event;
    if (entity == Entity::kFall) {
      event = make_event(message, name(), node, eldercare::v1::EVENT_KIND_FALL);
      event.mutable_fall()->set_state(on ? FallPayload::STATE_DETECTED : FallPayload::STATE_NONE);
      event.mutable_fall()->set_vendor_state(std::string(payload));
    } else if (entity == Entity::kBed) {
      event = make_event(message, name(), node, eldercare::v1::EVENT_KIND_BED);
      event.mutable_bed_state()->set_state(on ? BedPayload::STATE_IN_BED : BedPayload::STATE_OUT_OF_BED);
    } else {
      event = make_event(message, name(), node, eldercare::v1::EVENT_KIND_PRESENCE);
      event.mutable_presence()->set_present(on);
    }
    return Events{std::move(event)};
  }

  // A vital sign.
  if (is_nan_text(payload)) {
    cache_.changed(node, aspect, "nan");  // no value now: the next reading is news
    return Events{};
  }
  auto value = jv::parse_number(payload);
  if (!value)
    return DecodeError{DecodeError::Code::kWrongType,
                       std::string(object_id) + " " + quoted(payload) + " is not a number"};
  bool heart = entity == Entity::kHeartRate;
  double min = heart ? 20 : 0, max = heart ? 300 : 80;
  if (*value < min || *value > max)
    return DecodeError{DecodeError::Code::kOutOfRange, std::string(object_id) + " " + quoted(payload) +
                                                           " is outside [" + nlohmann::json(min).dump() + ", " +
                                                           nlohmann::json(max).dump() + "]"};
  if (!cache_.changed(node, aspect, nlohmann::json(*value).dump())) return Events{};
  auto event = make_event(message, name(), node, eldercare::v1::EVENT_KIND_VITALS);
  if (heart)
    event.mutable_vitals()->set_heart_rate_bpm(*value);
  else
    event.mutable_vitals()->set_breathing_rate_per_min(*value);
  return Events{std::move(event)};
}

}  // namespace eg::drivers
