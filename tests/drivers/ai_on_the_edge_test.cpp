#include "driver_harness.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::test::DriverHarness;

TEST_CASE("ai-on-the-edge value is a water meter index of the camera's number", "[drivers][ai-on-the-edge]") {
  DriverHarness cam("ai-on-the-edge");
  CHECK(cam.driver->topic_filters() == std::vector<std::string>{"watermeter/#"});
  auto events = cam.events("watermeter/main/value", "1355.9060");
  REQUIRE(events.size() == 1);
  const auto& e = events[0];
  CHECK(e.kind() == v1::EVENT_KIND_WATER_METER);
  CHECK(e.device_id() == "watermeter/main");
  CHECK(e.driver() == "ai-on-the-edge");
  CHECK(e.water_meter().total_m3() == Approx(1355.906));
  CHECK_FALSE(e.water_meter().has_flow_m3h());
  CHECK_FALSE(e.has_sensor_time());
}

TEST_CASE("ai-on-the-edge value polluted with error text is rejected, not trusted", "[drivers][ai-on-the-edge]") {
  DriverHarness cam("ai-on-the-edge");
  // Fixture: 2021 firmware put the previous value and the error into /value.
  auto error = cam.error("watermeter/main/value", "1355.9060\tRate too high - Read: 1356.8436 - Pre: 1355.9060");
  CHECK(error.code == DecodeError::Code::kMalformed);
  CHECK(error.reason.find("Rate too high") != std::string::npos);
  CHECK(cam.code("watermeter/main/value", "nan") == DecodeError::Code::kMalformed);
  CHECK(cam.code("watermeter/main/value", "   ") == DecodeError::Code::kMalformed);
  CHECK(cam.code("watermeter/main/value", "-3.5") == DecodeError::Code::kOutOfRange);
  CHECK(cam.code("watermeter/main/value", std::string("13\0"
                                                      "55",
                                                      5)) == DecodeError::Code::kMalformed);
  CHECK(cam.code("watermeter/main/value", "1e400") == DecodeError::Code::kMalformed);
  // The rejected messages left no reading behind: the next value is the first.
  CHECK(cam.events("watermeter/main/value", "1355.9060").size() == 1);
}

TEST_CASE("ai-on-the-edge connection topic is the camera's availability", "[drivers][ai-on-the-edge]") {
  DriverHarness cam("ai-on-the-edge");
  auto online = cam.events("watermeter/connection", "connected");  // fixture
  REQUIRE(online.size() == 1);
  CHECK(online[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(online[0].device_id() == "watermeter");
  CHECK(online[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  CHECK(cam.events("watermeter/Connection", "connected").empty());           // other firmware's case, same state
  auto lost = cam.events("watermeter/connection", "connection lost", true);  // the retained last will
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_OFFLINE);
  CHECK(lost[0].retained());
  CHECK(cam.events("watermeter/connection", "").empty());  // firmware clearing its retained will
  CHECK(cam.code("watermeter/connection", "maybe") == DecodeError::Code::kMalformed);
}

TEST_CASE("ai-on-the-edge repeats of the same reading produce nothing, other topics are ignored",
          "[drivers][ai-on-the-edge]") {
  DriverHarness cam("ai-on-the-edge");
  CHECK(cam.events("watermeter/main/value", "1355.9060").size() == 1);
  CHECK(cam.events("watermeter/main/value", "1355.906\n").empty());  // same number, trailing newline
  CHECK(cam.events("watermeter/main/value", "1355.9071").size() == 1);
  for (const char* topic : {"watermeter/main/error", "watermeter/main/raw", "watermeter/main/rate",
                            "watermeter/main/json", "watermeter/Uptime", "watermeter/wifiRSSI"})
    CHECK(cam.events(topic, "{ not json").empty());
  CHECK(cam.code("elsewhere/main/value", "1") == DecodeError::Code::kUnsupported);
}

TEST_CASE("ai-on-the-edge nested MainTopic keeps the full path as device id", "[drivers][ai-on-the-edge]") {
  DriverHarness cam("ai-on-the-edge", {"water"});
  auto events = cam.events("water/building1/meter1/main/value", "12.5");
  REQUIRE(events.size() == 1);
  CHECK(events[0].device_id() == "water/building1/meter1/main");
  auto online = cam.events("water/building1/meter1/connection", "connected");
  REQUIRE(online.size() == 1);
  CHECK(online[0].device_id() == "water/building1/meter1");
}
