#include "eg/drivers/registry.hpp"

#include "ai_on_the_edge.hpp"
#include "esphome.hpp"
#include "healthdata2mqtt.hpp"
#include "kati_watch.hpp"
#include "myfirstcare_hubs.hpp"
#include "native.hpp"
#include "openmqttgateway.hpp"
#include "tasmota.hpp"
#include "wmbusmeters.hpp"
#include "zigbee2mqtt.hpp"

namespace eg::drivers {

const std::vector<DriverInfo>& known_drivers() {
  static const std::vector<DriverInfo> drivers = {
      {"zigbee2mqtt", "zigbee2mqtt"},
      {"native", "eldercare/native"},
      // Tasmota's telemetry %prefix%, found at any of the first four topic levels.
      {"tasmota", "tele"},
      // wmbusmeters publishes wherever its shell= line says; this is the README's.
      {"wmbusmeters", "wmbusmeters"},
      // AI-on-the-edge's MainTopic (defaults to the hostname).
      {"ai-on-the-edge", "watermeter"},
      {"kati", "iMEDE_watch"},
      // The MyFirstCare hubs publish on fixed root topics; the base is an optional prefix.
      {"qube-vital", ""},
      {"ava4", ""},
      {"healthdata2mqtt", "health"},
      {"openmqttgateway", "home"},
      // ESPHome has no common prefix: topics start with the node name. Last, as its
      // filters (+/status, +/+/+/state) are the broadest.
      {"esphome", ""},
  };
  return drivers;
}

std::unique_ptr<Driver> make_driver(std::string_view name, DriverOptions options) {
  if (name == "zigbee2mqtt") return std::make_unique<Zigbee2MqttDriver>(std::move(options.base_topic));
  if (name == "native") return std::make_unique<NativeDriver>(std::move(options.base_topic));
  if (name == "tasmota")
    return std::make_unique<TasmotaDriver>(std::move(options.base_topic), options.local_utc_offset);
  if (name == "wmbusmeters") return std::make_unique<WmbusmetersDriver>(std::move(options.base_topic));
  if (name == "ai-on-the-edge") return std::make_unique<AiOnTheEdgeDriver>(std::move(options.base_topic));
  if (name == "kati") return std::make_unique<KatiWatchDriver>(std::move(options.base_topic), options.local_utc_offset);
  if (name == "qube-vital") return std::make_unique<QubeVitalDriver>(std::move(options.base_topic));
  if (name == "ava4") return std::make_unique<Ava4Driver>(std::move(options.base_topic));
  if (name == "healthdata2mqtt")
    return std::make_unique<HealthData2MqttDriver>(std::move(options.base_topic), options.local_utc_offset);
  if (name == "openmqttgateway") return std::make_unique<OpenMqttGatewayDriver>(std::move(options.base_topic));
  if (name == "esphome") return std::make_unique<EsphomeDriver>(std::move(options.base_topic));
  return nullptr;
}

std::unique_ptr<Driver> make_driver(std::string_view name) {
  for (const auto& info : known_drivers())
    if (info.name == name) return make_driver(name, DriverOptions{std::string(info.default_base_topic)});
  return nullptr;
}

}  // namespace eg::drivers
