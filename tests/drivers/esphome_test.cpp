#include <catch2/catch.hpp>

#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;

namespace {

struct Esphome {
  explicit Esphome(std::string base_topic = "")
      : driver(eg::drivers::make_driver("esphome", eg::drivers::DriverOptions{std::move(base_topic)})) {}

  std::unique_ptr<eg::drivers::Driver> driver;
  eg::WallTime now{std::chrono::seconds(1'767'225'600)};

  eg::drivers::DecodeResult decode(const std::string& topic, const std::string& payload, bool retained = false) {
    return driver->decode({topic, payload, now, retained});
  }
  eg::drivers::Events events(const std::string& topic, const std::string& payload, bool retained = false) {
    auto result = decode(topic, payload, retained);
    INFO(topic << " " << payload << " -> " << (result.ok() ? "" : result.error().reason));
    REQUIRE(result.ok());
    return result.value();
  }
};

}  // namespace

TEST_CASE("esphome MR60FDA2 falling_detected ON is a detected fall of the node", "[drivers][esphome]") {
  Esphome esphome;
  auto fall = esphome.events("room12-radar/binary_sensor/falling_detected/state", "ON");
  REQUIRE(fall.size() == 1);
  CHECK(fall[0].kind() == v1::EVENT_KIND_FALL);
  CHECK(fall[0].device_id() == "room12-radar");
  CHECK(fall[0].fall().state() == v1::FallPayload::STATE_DETECTED);
  CHECK(fall[0].fall().vendor_state() == "ON");
  CHECK(fall[0].driver() == "esphome");
  CHECK(fall[0].source_topic() == "room12-radar/binary_sensor/falling_detected/state");
  CHECK(fall[0].received_time().seconds() == 1'767'225'600);
  CHECK_FALSE(fall[0].has_sensor_time());  // ESPHome sends no timestamp

  auto over = esphome.events("room12-radar/binary_sensor/falling_detected/state", "OFF");
  REQUIRE(over.size() == 1);
  CHECK(over[0].fall().state() == v1::FallPayload::STATE_NONE);

  auto other_name = esphome.events("hall-radar/binary_sensor/fall_detected/state", "ON");
  REQUIRE(other_name.size() == 1);
  CHECK(other_name[0].kind() == v1::EVENT_KIND_FALL);
}

TEST_CASE("esphome R60ABD1 bed_status OFF is out of bed and ON in bed", "[drivers][esphome]") {
  Esphome esphome;
  auto out = esphome.events("r60abd1-test/binary_sensor/bed_status/state", "OFF");
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind() == v1::EVENT_KIND_BED);
  CHECK(out[0].device_id() == "r60abd1-test");
  CHECK(out[0].bed_state().state() == v1::BedPayload::STATE_OUT_OF_BED);
  auto in = esphome.events("r60abd1-test/binary_sensor/bed_status/state", "ON");
  REQUIRE(in.size() == 1);
  CHECK(in[0].bed_state().state() == v1::BedPayload::STATE_IN_BED);
}

TEST_CASE("esphome MR60BHA2 heart and respiratory rates become vitals in their units", "[drivers][esphome]") {
  Esphome esphome;
  auto heart = esphome.events("room12-radar/sensor/real-time_heart_rate/state", "72.00");
  REQUIRE(heart.size() == 1);
  CHECK(heart[0].kind() == v1::EVENT_KIND_VITALS);
  CHECK(heart[0].device_id() == "room12-radar");
  CHECK(heart[0].vitals().heart_rate_bpm() == 72);
  CHECK_FALSE(heart[0].vitals().has_breathing_rate_per_min());

  auto breathing = esphome.events("room12-radar/sensor/real-time_respiratory_rate/state", "16.00");
  REQUIRE(breathing.size() == 1);
  CHECK(breathing[0].vitals().breathing_rate_per_min() == 16);
  CHECK_FALSE(breathing[0].vitals().has_heart_rate_bpm());

  // The other names of the same readings, on other kits.
  CHECK(esphome.events("bed-radar/sensor/heart_rate/state", "68").at(0).vitals().heart_rate_bpm() == 68);
  CHECK(esphome.events("bed-radar/sensor/breath_rate/state", "14.50").at(0).vitals().breathing_rate_per_min() == 14.5);
  CHECK(esphome.events("bed-radar/sensor/respiration_rate/state", "15").at(0).vitals().has_breathing_rate_per_min());
}

TEST_CASE("esphome status online and offline become device health on change", "[drivers][esphome]") {
  Esphome esphome;
  auto online = esphome.events("weather-sensor/status", "online", true);
  REQUIRE(online.size() == 1);
  CHECK(online[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(online[0].device_id() == "weather-sensor");
  CHECK(online[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  CHECK(online[0].retained());
  CHECK(esphome.events("weather-sensor/status", "online").empty());
  auto offline = esphome.events("weather-sensor/status", "offline");
  REQUIRE(offline.size() == 1);
  CHECK(offline[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_OFFLINE);
}

TEST_CASE("esphome presence entities of each kit become presence", "[drivers][esphome]") {
  Esphome esphome;
  for (std::string object : {"presence", "people_exist", "has_target", "person_information", "bedroom_presence"}) {
    auto events = esphome.events("node-" + object + "/binary_sensor/" + object + "/state", "ON");
    INFO(object);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind() == v1::EVENT_KIND_PRESENCE);  // "bedroom" is not the word "bed"
    CHECK(events[0].presence().present());
  }
}

TEST_CASE("esphome repeated retained states produce no repeated events", "[drivers][esphome]") {
  Esphome esphome;
  const std::string topic = "room12-radar/binary_sensor/people_exist/state";
  auto first = esphome.events(topic, "ON", true);  // the retained value on subscribe
  REQUIRE(first.size() == 1);
  CHECK(first[0].retained());
  CHECK(esphome.events(topic, "ON", true).empty());  // again after a reconnect
  CHECK(esphome.events(topic, "ON").empty());
  auto left = esphome.events(topic, "OFF");
  REQUIRE(left.size() == 1);
  CHECK_FALSE(left[0].retained());
  CHECK_FALSE(left[0].presence().present());

  const std::string heart = "room12-radar/sensor/heart_rate/state";
  CHECK(esphome.events(heart, "72.00").size() == 1);
  CHECK(esphome.events(heart, "72").empty());  // the same value, printed differently
  CHECK(esphome.events(heart, "73.00").size() == 1);
}

TEST_CASE("esphome nan is no reading: no event, no error, and the next reading is news", "[drivers][esphome]") {
  Esphome esphome;
  const std::string heart = "r60abd1-test/sensor/heart_rate/state";
  CHECK(esphome.events(heart, "72.00").size() == 1);
  CHECK(esphome.events(heart, "nan").empty());
  CHECK(esphome.events(heart, "-nan").empty());
  auto back = esphome.events(heart, "72.00");
  REQUIRE(back.size() == 1);
  CHECK(back[0].vitals().heart_rate_bpm() == 72);
  CHECK(esphome.events("r60abd1-test/sensor/respiration_rate/state", "NaN").empty());
}

TEST_CASE("esphome unknown entities and other components give no events", "[drivers][esphome]") {
  Esphome esphome;
  CHECK(esphome.events("room12-radar/sensor/distance/state", "123.00").empty());
  CHECK(esphome.events("r60abd1-test/sensor/sleep_stage/state", "Deep").empty());
  CHECK(esphome.events("room12-radar/sensor/motion_status/state", "Motionless").empty());
  CHECK(esphome.events("room12-radar/switch/fall_detection/state", "ON").empty());  // a setting, not a state
  CHECK(esphome.events("room12-radar/number/presence_timeout/state", "30").empty());
  CHECK(esphome.events("room12-radar/binary_sensor/heart_rate/state", "ON").empty());
  // An empty payload is a deleted retained state.
  CHECK(esphome.events("room12-radar/binary_sensor/falling_detected/state", "").empty());
  CHECK(esphome.events("room12-radar/status", "").empty());
}

TEST_CASE("esphome filters follow the topic prefix, default node name or a configured base", "[drivers][esphome]") {
  Esphome plain;
  auto filters = plain.driver->topic_filters();
  auto routed = [&](const std::string& topic) {
    for (const auto& filter : filters)
      if (eg::drivers::topic_matches(filter, topic)) return true;
    return false;
  };
  CHECK(routed("room12-radar/binary_sensor/falling_detected/state"));
  CHECK(routed("weather-sensor/status"));
  CHECK_FALSE(routed("room12-radar/switch/relay/command"));
  CHECK_FALSE(routed("homeassistant/binary_sensor/room12-radar/falling_detected/config"));

  Esphome based("esphome");
  CHECK(based.driver->topic_filters() == std::vector<std::string>{"esphome/+/status", "esphome/+/+/+/state"});
  auto fall = based.events("esphome/room7/binary_sensor/fall_detected/state", "ON");
  REQUIRE(fall.size() == 1);
  CHECK(fall[0].device_id() == "room7");
  auto outside = based.decode("room7/binary_sensor/fall_detected/state", "ON");
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().code == DecodeError::Code::kUnsupported);
}

TEST_CASE("esphome leaves the hand-written MR60FDA1 sketch under the discovery prefix unsupported",
          "[drivers][esphome]") {
  Esphome esphome;
  auto result = esphome.decode("homeassistant/binary_sensor/seeed-mmwave_presence/state", "on");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == DecodeError::Code::kUnsupported);
  CHECK_FALSE(result.error().reason.empty());
}

TEST_CASE("esphome bad payloads are typed errors with a reason and change no state", "[drivers][esphome]") {
  Esphome esphome;
  auto code_of = [&](const std::string& topic, const std::string& payload) {
    auto result = esphome.decode(topic, payload);
    INFO(topic << " " << payload);
    REQUIRE_FALSE(result.ok());
    CHECK_FALSE(result.error().reason.empty());
    return result.error().code;
  };
  const std::string fall = "room12-radar/binary_sensor/falling_detected/state";
  const std::string heart = "room12-radar/sensor/heart_rate/state";
  const std::string breath = "room12-radar/sensor/breath_rate/state";
  CHECK(code_of(fall, "maybe") == DecodeError::Code::kWrongType);
  CHECK(code_of(fall, "O") == DecodeError::Code::kWrongType);   // truncated
  CHECK(code_of(fall, "on") == DecodeError::Code::kWrongType);  // ESPHome never sends lower case
  CHECK(code_of(fall, "\xff\xfe") == DecodeError::Code::kWrongType);
  CHECK(code_of(heart, "72 bpm") == DecodeError::Code::kWrongType);
  CHECK(code_of(heart, "72.0.0") == DecodeError::Code::kWrongType);
  CHECK(code_of(heart, "inf") == DecodeError::Code::kWrongType);
  CHECK(code_of(heart, "900.00") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(heart, "0.00") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(breath, "-1") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(breath, "81") == DecodeError::Code::kOutOfRange);
  CHECK(code_of("room12-radar/status", "up") == DecodeError::Code::kMalformed);
  CHECK(code_of("room12-radar/binary_sensor/state", "ON") == DecodeError::Code::kUnsupported);
  CHECK(code_of("room12-radar//falling_detected/state", "ON") == DecodeError::Code::kUnsupported);

  // Rejected messages changed nothing: the first valid states are still new.
  CHECK(esphome.events(fall, "ON").size() == 1);
  CHECK(esphome.events(heart, "72").size() == 1);
  CHECK(esphome.events("room12-radar/status", "online").size() == 1);
}
