// OpenMQTTGateway (OMG) driver, for BLE wearables decoded by the Theengs
// decoder: heart-rate chest straps (Polar H10, XOSS X2) and bands that share
// their activity heart rate (Xiaomi Mi Band / Amazfit).
//
// Topics (base defaults to "home", OMG's default prefix; <gw> is the gateway name):
//   <base>/<gw>/BTtoMQTT/<MAC>  one JSON object per decoded advertisement; <MAC> is
//                               the device address without colons, upper-case
//   <base>/<gw>/BTtoMQTT        the same objects when per-device topics are off; the
//                               device is then the payload's `id` (MAC with colons)
//   <base>/<gw>/LWT             "online" / "offline" (retained last will) -> DEVICE_HEALTH
//                               ONLINE / OFFLINE of the gateway, device id = <gw>
// Nothing else under <base> is subscribed to: "home" is a common prefix.
//
// Device id: the MAC as OMG writes it in topics, 12 upper-case hex digits without
// colons ("A4C138AABBCC"), whichever of the two topic forms it arrived on, so the
// same band has one id. (The Mi Band decoder's own `mac` key is ignored: the topic
// is what OMG guarantees.)
//
// Keys read: bpm (Polar H10, XOSS) and act_bpm (Mi Band activity heart rate), beats
// per minute -> VITALS heart_rate_bpm (range 20-300). brand, model, model_id, type
// ("BODY"), steps, acts, track, rssi, ... are not read. Advertisements without a heart
// rate (thermometers, beacons, phones) produce nothing. No sensor_time: BLE adverts
// carry no time.
//
// Dedupe: adverts repeat every second or so; only a changed heart rate produces an
// event, the first advert of a device reports.
#include "openmqttgateway.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "event_builder.hpp"
#include "field_reader.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::DeviceHealthPayload;
using nlohmann::json;
namespace vr = vital_ranges;

// "a4:c1:38:aa:bb:cc" -> "A4C138AABBCC"; anything else -> "" (not a MAC).
std::string topic_form_mac(std::string_view id) {
  std::string out;
  for (char c : id) {
    if (c == ':' || c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out.size() == 12 ? out : std::string();
}

std::vector<std::string_view> levels(std::string_view topic) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t slash = topic.find('/', pos);
    out.push_back(topic.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) return out;
    pos = slash + 1;
  }
}

}  // namespace

OpenMqttGatewayDriver::OpenMqttGatewayDriver(std::string base_topic) : base_topic_(std::move(base_topic)) {}

DecodeResult OpenMqttGatewayDriver::decode(const Message& message) {
  std::string_view topic = message.topic;
  if (!topic.starts_with(base_topic_) || topic.size() <= base_topic_.size() + 1 || topic[base_topic_.size()] != '/')
    return DecodeError{DecodeError::Code::kUnsupported, "topic is not under base topic '" + base_topic_ + "'"};
  auto rest = levels(topic.substr(base_topic_.size() + 1));
  if (rest.size() == 2 && rest[1] == "LWT") return decode_lwt(message, rest[0]);
  if (rest.size() == 2 && rest[1] == "BTtoMQTT") return decode_ble(message, {});
  if (rest.size() == 3 && rest[1] == "BTtoMQTT" && !rest[2].empty()) return decode_ble(message, rest[2]);
  return DecodeError{DecodeError::Code::kUnsupported, "not an OpenMQTTGateway BTtoMQTT or LWT topic"};
}

DecodeResult OpenMqttGatewayDriver::decode_ble(const Message& message, std::string_view mac_from_topic) {
  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "payload is not a JSON object"};

  FirstError errors;
  FieldReader in(doc, errors);
  // Normalised when it is a MAC; kept as published when a setup names devices.
  std::string device = topic_form_mac(mac_from_topic);
  if (device.empty()) device = mac_from_topic;
  if (device.empty()) {
    auto id = in.text("id");
    if (id) device = topic_form_mac(*id);
    if (!errors.error() && device.empty())
      return DecodeError{DecodeError::Code::kMalformed, "advertisement on BTtoMQTT has no MAC id"};
  }
  VitalsReading vitals;
  for (const char* key : {"bpm", "act_bpm"})
    if (!vitals.heart_rate_bpm && in.has(key)) vitals.heart_rate_bpm = in.number(key, vr::kHeartRateBpm);
  if (errors.error()) return *errors.error();
  if (vitals.empty()) return Events{};

  auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_VITALS);
  vitals.fill(*event.mutable_vitals());
  if (!cache_.changed(device, "vitals", content_signature(event))) return Events{};
  return Events{std::move(event)};
}

DecodeResult OpenMqttGatewayDriver::decode_lwt(const Message& message, std::string_view gateway) {
  std::string state(message.payload);
  for (auto& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (state.empty()) return Events{};  // a retained last will being deleted
  if (state != "online" && state != "offline")
    return DecodeError{DecodeError::Code::kMalformed, "LWT is neither online nor offline"};
  bool online = state == "online";
  if (!cache_.changed(gateway, "availability", online ? "1" : "0")) return Events{};
  auto event = make_event(message, name(), gateway, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(online ? DeviceHealthPayload::CONDITION_ONLINE
                                                      : DeviceHealthPayload::CONDITION_OFFLINE);
  return Events{std::move(event)};
}

}  // namespace eg::drivers
