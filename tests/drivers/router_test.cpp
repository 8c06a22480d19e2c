#include <catch2/catch.hpp>

#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"

using eg::drivers::topic_matches;

TEST_CASE("topic filters match as MQTT 3.1.1 says", "[drivers][router]") {
  CHECK(topic_matches("zigbee2mqtt/#", "zigbee2mqtt/room 301/availability"));
  CHECK(topic_matches("zigbee2mqtt/#", "zigbee2mqtt"));
  CHECK(topic_matches("tele/+/SENSOR", "tele/tasmota_1A2B3C/SENSOR"));
  CHECK(topic_matches("a/b", "a/b"));
  CHECK(topic_matches("+/+", "a/b"));
  CHECK(topic_matches("#", "a/b/c"));
  CHECK_FALSE(topic_matches("tele/+/SENSOR", "tele/a/b/SENSOR"));
  CHECK_FALSE(topic_matches("a/b", "a/b/c"));
  CHECK_FALSE(topic_matches("a/b/c", "a/b"));
  CHECK_FALSE(topic_matches("zigbee2mqtt/#", "zigbee2mqttx/a"));
  CHECK_FALSE(topic_matches("#", "$SYS/broker/uptime"));
  CHECK(topic_matches("+/", "a/"));
}

TEST_CASE("router rejects oversized payloads before any driver parses them", "[drivers][router]") {
  eg::drivers::Router router;
  router.add_route("zigbee2mqtt/#", router.own(eg::drivers::make_driver("zigbee2mqtt")));
  std::string huge(eg::drivers::kMaxPayloadBytes + 1, ' ');
  auto result = router.decode({"zigbee2mqtt/radar", huge, {}, false});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == eg::drivers::DecodeError::Code::kTooLarge);

  auto unrouted = router.decode({"somewhere/else", "{}", {}, false});
  REQUIRE_FALSE(unrouted.ok());
  CHECK(unrouted.error().code == eg::drivers::DecodeError::Code::kUnsupported);
}

TEST_CASE("the driver registry knows each driver by name and nothing else", "[drivers][registry]") {
  for (const auto& info : eg::drivers::known_drivers()) {
    auto driver = eg::drivers::make_driver(info.name);
    REQUIRE(driver != nullptr);
    CHECK(driver->name() == info.name);
  }
  CHECK(eg::drivers::make_driver("no-such-driver") == nullptr);
}

TEST_CASE("no driver may produce a device id in the gateway's own namespace", "[drivers][router][security]") {
  eg::drivers::Router router;
  router.add_route("eldercare/native/#", router.own(eg::drivers::make_driver("native")));
  router.add_route("zigbee2mqtt/#", router.own(eg::drivers::make_driver("zigbee2mqtt")));

  // The native driver takes the id from the payload: a forged store report.
  eldercare::v1::SensorEvent forged;
  forged.set_device_id("gateway:gw-1/store");
  forged.set_kind(eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
  forged.mutable_device_health()->set_condition(eldercare::v1::DeviceHealthPayload::CONDITION_ONLINE);
  std::string bytes = forged.SerializeAsString();
  auto native = router.decode({"eldercare/native/bed7", bytes, eg::WallTime{std::chrono::seconds(100)}, false});
  REQUIRE_FALSE(native.ok());
  CHECK(native.error().code == eg::drivers::DecodeError::Code::kReservedId);
  CHECK(eg::drivers::to_string(native.error().code) == "reserved_id");

  // Zigbee2MQTT takes it from the topic: a device renamed "gateway:..." .
  auto renamed = router.decode({"zigbee2mqtt/gateway:gw-1", R"({"occupancy":true})", {}, false});
  REQUIRE_FALSE(renamed.ok());
  CHECK(renamed.error().code == eg::drivers::DecodeError::Code::kReservedId);

  // An ordinary device through the same routes still decodes.
  auto fine = router.decode({"zigbee2mqtt/room301_radar", R"({"occupancy":true})", {}, false});
  REQUIRE(fine.ok());
  CHECK_FALSE(fine.value().empty());
}
