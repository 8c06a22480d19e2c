#include "eg/simulator/decoder.hpp"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "eg/drivers/registry.hpp"

namespace eg::simulator {

using nlohmann::ordered_json;

std::string driver_name_for_publisher(const std::string& publisher) {
  // The label's first word, lower-cased: "tasmota (Zigbee2Tasmota)" -> "tasmota".
  std::string word = publisher.substr(0, publisher.find_first_of(" ("));
  for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string> aliases = {
      {"kati-watch", "kati"},
      {"openmqttgateway", "openmqttgateway"},
      {"ai-on-the-edge-device", "ai-on-the-edge"},
      {"custom", "esphome"},  // hand-written radar firmware publishing ESPHome-style plain ON/OFF
  };
  if (auto it = aliases.find(word); it != aliases.end()) word = it->second;
  for (const auto& info : eg::drivers::known_drivers())
    if (info.name == word) return word;
  return {};
}

StreamDecoder::StreamDecoder() {
  for (const auto& info : eg::drivers::known_drivers()) {
    auto& driver = router_.own(eg::drivers::make_driver(info.name));
    by_name_[std::string(info.name)] = &driver;
    for (auto& filter : driver.topic_filters()) router_.add_route(std::move(filter), driver);
  }
}

eg::drivers::Driver* StreamDecoder::driver_for(const std::string& name, const std::string& topic) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  // A non-default base topic (Zigbee2MQTT's "DOMZIGSMJ/..."): an instance of
  // the same driver with the topic's first level as its base, kept for the
  // rest of the stream.
  bool routed_here = false;
  for (const auto& filter : it->second->topic_filters())
    routed_here = routed_here || eg::drivers::topic_matches(filter, topic);
  if (routed_here) return it->second;
  std::string base = topic.substr(0, topic.find('/'));
  auto& instance = by_name_and_base_[name + "\n" + base];
  if (!instance) instance = eg::drivers::make_driver(name, eg::drivers::DriverOptions{base});
  return instance.get();
}

DecodeAnswer StreamDecoder::decode(const std::string& publisher, const std::string& topic, const std::string& payload,
                                   WallTime received) {
  eg::drivers::Message message{topic, payload, received, false};
  eg::drivers::DecodeResult result = [&]() -> eg::drivers::DecodeResult {
    if (publisher.empty()) return router_.decode(message);
    std::string name = driver_name_for_publisher(publisher);
    eg::drivers::Driver* driver = name.empty() ? nullptr : driver_for(name, topic);
    if (driver == nullptr)
      return eg::drivers::DecodeError{eg::drivers::DecodeError::Code::kUnsupported,
                                      "unknown publisher '" + publisher + "'"};
    if (payload.size() > eg::drivers::kMaxPayloadBytes)
      return eg::drivers::DecodeError{eg::drivers::DecodeError::Code::kTooLarge, "payload exceeds the size cap"};
    return driver->decode(message);
  }();
  if (!result.ok()) return {{}, result.error()};
  return {std::move(result).value(), std::nullopt};
}

std::string StreamDecoder::decode_line(const std::string& line, WallTime received) {
  auto fail = [](const std::string& reason) { return ordered_json{{"error", reason}}.dump(); };
  auto doc = ordered_json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("input line is not a JSON object");
  if (!doc.contains("topic") || !doc["topic"].is_string()) return fail("input line has no \"topic\" string");
  if (!doc.contains("payload")) return fail("input line has no \"payload\"");
  std::string publisher;
  if (doc.contains("publisher")) {
    if (!doc["publisher"].is_string()) return fail("\"publisher\" must be a string");
    publisher = doc["publisher"].get<std::string>();
  }
  const auto& payload = doc["payload"];
  std::string bytes = payload.is_string() ? payload.get<std::string>() : payload.dump();

  DecodeAnswer answer = decode(publisher, doc["topic"].get<std::string>(), bytes, received);
  if (answer.error) return fail(std::string(eg::drivers::to_string(answer.error->code)) + ": " + answer.error->reason);
  ordered_json events = ordered_json::array();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (const auto& event : answer.events) {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(event, &json, options);
    events.push_back(ordered_json::parse(json));
  }
  return ordered_json{{"events", events}}.dump();
}

}  // namespace eg::simulator
