#include <catch2/catch.hpp>

#include "eg/drivers/registry.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;

namespace {

eg::drivers::DecodeResult decode(const v1::SensorEvent& event) {
  auto driver = eg::drivers::make_driver("native");
  std::string bytes = event.SerializeAsString();
  return driver->decode({"eldercare/native/bed7", bytes, eg::WallTime{std::chrono::seconds(100)}, false});
}

v1::SensorEvent vitals_event() {
  v1::SensorEvent event;
  event.set_device_id("bed7-radar");
  event.set_kind(v1::EVENT_KIND_VITALS);
  event.mutable_vitals()->set_heart_rate_bpm(64);
  event.mutable_vitals()->set_spo2_percent(97);
  event.mutable_sensor_time()->set_seconds(90);
  return event;
}

}  // namespace

TEST_CASE("native SensorEvents keep the sensor's payload and time, the gateway's fields are its own",
          "[drivers][native]") {
  v1::SensorEvent sent = vitals_event();
  sent.set_sequence(99);         // a sensor cannot choose our sequence...
  sent.set_resident_id("evil");  // ...or who it belongs to
  auto result = decode(sent);
  REQUIRE(result.ok());
  REQUIRE(result.value().size() == 1);
  const auto& event = result.value()[0];
  CHECK(event.device_id() == "bed7-radar");
  CHECK(event.kind() == v1::EVENT_KIND_VITALS);
  CHECK(event.vitals().heart_rate_bpm() == 64);
  CHECK(event.vitals().spo2_percent() == 97);
  CHECK_FALSE(event.vitals().has_systolic_mmhg());
  CHECK(event.sensor_time().seconds() == 90);
  CHECK(event.received_time().seconds() == 100);
  CHECK(event.driver() == "native");
  CHECK(event.source_topic() == "eldercare/native/bed7");
  CHECK(event.sequence() == 0);
  CHECK(event.resident_id().empty());
}

TEST_CASE("native events that are not SensorEvents or contradict themselves are rejected", "[drivers][native]") {
  auto driver = eg::drivers::make_driver("native");
  auto garbage = driver->decode({"eldercare/native/x", "\xff\xff\xff\xff", {}, false});
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().code == DecodeError::Code::kMalformed);

  v1::SensorEvent no_device = vitals_event();
  no_device.clear_device_id();
  CHECK(decode(no_device).error().code == DecodeError::Code::kWrongType);

  v1::SensorEvent mismatched = vitals_event();
  mismatched.set_kind(v1::EVENT_KIND_FALL);
  CHECK(decode(mismatched).error().code == DecodeError::Code::kWrongType);

  v1::SensorEvent impossible = vitals_event();
  impossible.mutable_vitals()->set_heart_rate_bpm(900);
  auto result = decode(impossible);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == DecodeError::Code::kOutOfRange);
  CHECK(result.error().reason.find("heart_rate_bpm") != std::string::npos);
}
