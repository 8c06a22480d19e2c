#include "driver_harness.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::test::DriverHarness;

namespace {

// Fixture payloads (sensor-payloads.json), verbatim; both on the same topic.
const std::string kTopic = "home/OpenMQTTGateway/BTtoMQTT/A4C138AABBCC";
const std::string kPolarH10 =
    R"({"brand":"Polar","model":"Heart Rate Sensor","model_id":"H10","type":"BODY","bpm":70})";
const std::string kMiBand =
    R"({"brand":"Xiaomi/Amazfit","model":"Mi Band/Smart Watch","model_id":"MB/SW","type":"BODY","acts":true,"track":true,"steps":9101,"act_bpm":125,"device":"Xiaomi/Amazfit Tracker","mac":"AA:BB:CC:DD:EE:FF"})";

}  // namespace

TEST_CASE("openmqttgateway heart rate from bpm and act_bpm, device named by the topic MAC",
          "[drivers][openmqttgateway]") {
  DriverHarness omg("openmqttgateway");
  CHECK(omg.driver->topic_filters() == std::vector<std::string>{"home/+/BTtoMQTT/+", "home/+/BTtoMQTT", "home/+/LWT"});
  auto strap = omg.events(kTopic, kPolarH10);
  REQUIRE(strap.size() == 1);
  CHECK(strap[0].kind() == v1::EVENT_KIND_VITALS);
  CHECK(strap[0].device_id() == "A4C138AABBCC");
  CHECK(strap[0].driver() == "openmqttgateway");
  CHECK(strap[0].vitals().heart_rate_bpm() == 70);
  CHECK_FALSE(strap[0].has_sensor_time());
  auto band = omg.events(kTopic, kMiBand);
  REQUIRE(band.size() == 1);
  CHECK(band[0].device_id() == "A4C138AABBCC");  // the topic, not the decoder's "mac"
  CHECK(band[0].vitals().heart_rate_bpm() == 125);
  CHECK_FALSE(band[0].vitals().has_spo2_percent());
}

TEST_CASE("openmqttgateway repeated adverts with the same heart rate produce nothing", "[drivers][openmqttgateway]") {
  DriverHarness omg("openmqttgateway");
  CHECK(omg.events(kTopic, kPolarH10).size() == 1);
  CHECK(omg.events(kTopic, R"({"id":"A4:C1:38:AA:BB:CC","rssi":-70,"brand":"Polar","bpm":70})").empty());
  CHECK(omg.events(kTopic, R"({"bpm":71})").size() == 1);
  // Without per-device topics the payload id names the device, in the same form.
  CHECK(omg.events("home/OpenMQTTGateway/BTtoMQTT", R"({"id":"a4:c1:38:aa:bb:cc","bpm":71})").empty());
  CHECK(omg.events(kTopic, R"({"id":"A4:C1:38:AA:BB:CC","tempc":21.5})").empty());  // not a heart-rate advert
}

TEST_CASE("openmqttgateway LWT is the gateway's availability", "[drivers][openmqttgateway]") {
  DriverHarness omg("openmqttgateway");
  auto online = omg.events("home/OpenMQTTGateway/LWT", "online");
  REQUIRE(online.size() == 1);
  CHECK(online[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(online[0].device_id() == "OpenMQTTGateway");
  CHECK(online[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  CHECK(omg.events("home/OpenMQTTGateway/LWT", "online").empty());
  auto offline = omg.events("home/OpenMQTTGateway/LWT", "offline");
  REQUIRE(offline.size() == 1);
  CHECK(offline[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_OFFLINE);
}

TEST_CASE("openmqttgateway bad payloads are typed errors", "[drivers][openmqttgateway]") {
  DriverHarness omg("openmqttgateway");
  using Code = DecodeError::Code;
  CHECK(omg.code(kTopic, "bpm=70") == Code::kMalformed);
  CHECK(omg.code(kTopic, "70") == Code::kWrongType);
  CHECK(omg.code(kTopic, R"({"bpm":"fast"})") == Code::kWrongType);
  CHECK(omg.code(kTopic, R"({"bpm":0})") == Code::kOutOfRange);
  CHECK(omg.code(kTopic, R"({"act_bpm":420})") == Code::kOutOfRange);
  CHECK(omg.code("home/OpenMQTTGateway/BTtoMQTT", R"({"bpm":70})") == Code::kMalformed);  // no id
  CHECK(omg.code("home/OpenMQTTGateway/LWT", "maybe") == Code::kMalformed);
  CHECK(omg.code("home/OpenMQTTGateway/SYStoMQTT", "{}") == Code::kUnsupported);
  eg::test::check_truncations_rejected(*omg.driver, kTopic, kMiBand);
  {
    DriverHarness fresh("openmqttgateway");
    eg::test::check_corruptions_survive(*fresh.driver, kTopic, kPolarH10);
    eg::test::check_corruptions_survive(*fresh.driver, kTopic, kMiBand);
  }
  CHECK(omg.events(kTopic, kPolarH10).size() == 1);  // nothing above was cached
}
