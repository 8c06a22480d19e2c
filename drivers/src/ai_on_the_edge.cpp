// AI-on-the-edge-device driver: an ESP32-CAM that reads a mechanical meter's
// dial and publishes the number as plain text.
//
// Topics (MainTopic defaults to the device's hostname; may be nested,
// "water/building1/meter1"; this driver's base topic is the MainTopic or a
// prefix of it, default "watermeter"):
//   <MainTopic>/<number>/value       post-processed reading, plain text, taken as
//                                    m3 (the unit is whatever the dial shows; water
//                                    meters count m3). <number> is usually "main".
//   <MainTopic>/connection           "connected" after connecting; "connection lost"
//   (or /Connection, by firmware)    is the retained last will; "" clears it.
//   <MainTopic>/<number>/error       "no error" or a reason. Not decoded: the value
//                                    topic already repeats the previous value on an
//                                    error (current firmware), and the reason text
//                                    ("Rate too high ...") is for a human, not a
//                                    meter status flag.
//   .../raw|rate|rate_per_time_unit|changeabsolut|timestamp|json, /Uptime,
//   /wifiRSSI, /MAC, /IP, /ctrl/... and other status or command topics: ignored.
//   /json is known to have been invalid JSON; /value carries the same reading.
//
// Device ids come from the topic, so they do not depend on the configured base:
// a reading's device is "<MainTopic>/<number>" (one camera can read several
// meters), the connection's device is "<MainTopic>" (the camera).
//
// A reading is WATER_METER total_m3 only; no sensor_time (the /timestamp topic
// is a separate message in local time). A value polluted with error text
// (2021 firmware: "1355.9060\tRate too high - Read: ...") is rejected as
// kMalformed rather than trusted by its leading number: that number may be the
// stale previous value. Negative readings are kOutOfRange. Only a changed
// reading or connection state produces an event. An empty payload is the
// deletion of a retained message and produces nothing.
#include "ai_on_the_edge.hpp"

#include <cctype>

#include "event_builder.hpp"
#include "field_reader.hpp"
#include "json_values.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::DeviceHealthPayload;

constexpr Range kTotalM3{0, 1e9};

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// For reasons: the payload's start, without control characters.
std::string quoted(std::string_view payload) {
  std::string out = "'";
  for (char c : payload.substr(0, 60)) out += std::isprint(static_cast<unsigned char>(c)) ? c : ' ';
  return out + (payload.size() > 60 ? "...'" : "'");
}

}  // namespace

AiOnTheEdgeDriver::AiOnTheEdgeDriver(std::string main_topic) : main_topic_(std::move(main_topic)) {}

DecodeResult AiOnTheEdgeDriver::decode(const Message& message) {
  std::string_view topic = message.topic;
  if (!topic.starts_with(main_topic_) || topic.size() <= main_topic_.size() + 1 || topic[main_topic_.size()] != '/')
    return DecodeError{DecodeError::Code::kUnsupported, "topic is not under MainTopic '" + main_topic_ + "'"};
  std::size_t slash = topic.rfind('/');
  std::string_view leaf = topic.substr(slash + 1);
  if (leaf == "value" && slash > main_topic_.size()) return decode_value(message, topic.substr(0, slash));
  if (iequals(leaf, "connection")) return decode_connection(message);
  return Events{};
}

DecodeResult AiOnTheEdgeDriver::decode_value(const Message& message, std::string_view device) {
  std::string_view text = trim(message.payload);
  if (message.payload.empty()) return Events{};
  auto total = json_values::parse_number(text);
  if (!total) return DecodeError{DecodeError::Code::kMalformed, "value is not a plain number: " + quoted(text)};
  if (*total < kTotalM3.min || *total > kTotalM3.max)
    return DecodeError{DecodeError::Code::kOutOfRange, "value " + std::string(text) + " is not a meter index"};

  auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_WATER_METER);
  event.mutable_water_meter()->set_total_m3(*total);
  if (!cache_.changed(device, "water_meter", content_signature(event))) return Events{};
  return Events{std::move(event)};
}

DecodeResult AiOnTheEdgeDriver::decode_connection(const Message& message) {
  std::string_view device = message.topic.substr(0, message.topic.rfind('/'));
  std::string_view text = trim(message.payload);
  if (message.payload.empty()) return Events{};
  bool online;
  if (iequals(text, "connected")) {
    online = true;
  } else if (iequals(text, "connection lost")) {
    online = false;
  } else {
    return DecodeError{DecodeError::Code::kMalformed,
                       "connection is neither 'connected' nor 'connection lost': " + quoted(text)};
  }
  if (!cache_.changed(device, "availability", online ? "1" : "0")) return Events{};
  auto event = make_event(message, name(), device, eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(online ? DeviceHealthPayload::CONDITION_ONLINE
                                                      : DeviceHealthPayload::CONDITION_OFFLINE);
  return Events{std::move(event)};
}

}  // namespace eg::drivers
