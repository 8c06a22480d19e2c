#include "driver_harness.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::test::DriverHarness;
using eg::test::utc_seconds;

namespace {

// Fixture payload (sensor-payloads.json), verbatim.
const std::string kTopic = "health/blood_pressure/john_at_example_com";
const std::string kReading =
    R"({"user":"john@example.com","timestamp":"2024-01-15T10:35:00","type":"blood_pressure","data":{"systolic":120,"diastolic":80,"pulse":65,"category":"Normal","movement_detected":false,"irregular_heartbeat":false}})";

std::string reading(const std::string& time, int systolic) {
  return R"({"user":"john@example.com","timestamp":")" + time + R"(","type":"blood_pressure","data":{"systolic":)" +
         std::to_string(systolic) + R"(,"diastolic":80,"pulse":65}})";
}

}  // namespace

TEST_CASE("healthdata2mqtt blood pressure: per-user device, local timestamp to UTC", "[drivers][healthdata2mqtt]") {
  DriverHarness health("healthdata2mqtt");
  CHECK(health.driver->topic_filters() == std::vector<std::string>{"health/#"});
  auto events = health.events(kTopic, kReading, true);
  REQUIRE(events.size() == 1);
  const auto& e = events[0];
  CHECK(e.kind() == v1::EVENT_KIND_VITALS);
  CHECK(e.device_id() == "john_at_example_com");
  CHECK(e.driver() == "healthdata2mqtt");
  CHECK(e.retained());
  CHECK(e.sensor_time().seconds() == utc_seconds(2024, 1, 15, 2, 35, 0));  // 10:35 at +08:00
  CHECK(e.vitals().systolic_mmhg() == 120);
  CHECK(e.vitals().diastolic_mmhg() == 80);
  CHECK(e.vitals().heart_rate_bpm() == 65);
  CHECK_FALSE(e.vitals().has_spo2_percent());
  CHECK(e.SerializeAsString().find("john@example.com") == std::string::npos);
}

TEST_CASE("healthdata2mqtt honours a zone in the timestamp and the configured offset", "[drivers][healthdata2mqtt]") {
  DriverHarness health("healthdata2mqtt", {"health", std::chrono::minutes(60)});
  auto local = health.events(kTopic, reading("2024-01-15T10:35:00", 120));
  CHECK(local.at(0).sensor_time().seconds() == utc_seconds(2024, 1, 15, 9, 35, 0));
  auto zoned = health.events(kTopic, reading("2024-01-15T11:00:00Z", 121));
  CHECK(zoned.at(0).sensor_time().seconds() == utc_seconds(2024, 1, 15, 11, 0, 0));
  DriverHarness newfoundland("healthdata2mqtt", {"health", std::chrono::minutes(-150)});  // UTC-02:30
  auto west = newfoundland.events(kTopic, reading("2024-01-15T10:35:00", 120));
  CHECK(west.at(0).sensor_time().seconds() == utc_seconds(2024, 1, 15, 13, 5, 0));
}

TEST_CASE("healthdata2mqtt retained re-delivery is dropped, a new measurement is reported",
          "[drivers][healthdata2mqtt]") {
  DriverHarness health("healthdata2mqtt");
  CHECK(health.events(kTopic, kReading, true).size() == 1);
  CHECK(health.events(kTopic, kReading, true).empty());                     // reconnect: the retained copy again
  auto again = health.events(kTopic, reading("2024-01-15T18:10:00", 120));  // same numbers, new measurement
  REQUIRE(again.size() == 1);
  CHECK(again[0].sensor_time().seconds() == utc_seconds(2024, 1, 15, 10, 10, 0));
  CHECK(health.events("health/blood_pressure/mary_at_example_com", kReading).size() == 1);  // another user
}

TEST_CASE("healthdata2mqtt body composition produces nothing, bad input is typed", "[drivers][healthdata2mqtt]") {
  DriverHarness health("healthdata2mqtt");
  using Code = DecodeError::Code;
  CHECK(health.events("health/body_composition/john_at_example_com", R"({"data":{"weight":72.4}})").empty());
  CHECK(health.code(kTopic, "{\"data\":{\"systolic\":12") == Code::kMalformed);
  CHECK(health.code(kTopic, R"({"timestamp":"2024-01-15T10:35:00"})") == Code::kMalformed);  // no data
  CHECK(health.code(kTopic, R"({"data":{"systolic":"120"},"timestamp":"last tuesday"})") == Code::kWrongType);
  CHECK(health.code(kTopic, R"({"data":{"systolic":[120]}})") == Code::kWrongType);
  CHECK(health.code(kTopic, R"({"data":{"systolic":400,"diastolic":80}})") == Code::kOutOfRange);
  CHECK(health.code(kTopic, R"({"data":{"systolic":120,"diastolic":80,"pulse":5}})") == Code::kOutOfRange);
  CHECK(health.code(kTopic, R"({"data":{"systolic":80,"diastolic":120}})") == Code::kOutOfRange);
  CHECK(health.code("health/blood_pressure", kReading) == Code::kUnsupported);
  CHECK(health.code("health/weather/x", kReading) == Code::kUnsupported);
  eg::test::check_truncations_rejected(*health.driver, kTopic, kReading);
  eg::test::check_corruptions_survive(*DriverHarness("healthdata2mqtt").driver, kTopic, kReading);
  CHECK(health.events(kTopic, kReading).size() == 1);  // nothing above was cached
}
