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
