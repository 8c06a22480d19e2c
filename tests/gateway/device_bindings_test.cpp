#include <catch2/catch.hpp>

#include "device_bindings.hpp"

using eg::gateway::DeviceBindings;
using eg::gateway::DeviceEntry;
using Verdict = DeviceBindings::Verdict;

namespace {

std::map<std::string, DeviceEntry, std::less<>> registry(std::vector<DeviceEntry> entries) {
  std::map<std::string, DeviceEntry, std::less<>> out;
  for (auto& entry : entries) out.emplace(entry.id, std::move(entry));
  return out;
}

DeviceEntry pinned(std::string id, std::string driver, std::string topic) {
  DeviceEntry entry;
  entry.id = std::move(id);
  entry.driver = std::move(driver);
  entry.topic = std::move(topic);
  return entry;
}

}  // namespace

TEST_CASE("a device is bound to the driver and route it was first heard through", "[bindings][security]") {
  DeviceBindings bindings(100);
  bindings.configure(registry({pinned("room301_radar", "", "")}));
  CHECK(bindings.check("room301_radar", "zigbee2mqtt", "zigbee2mqtt/#", "zigbee2mqtt/room301_radar") ==
        Verdict::kLearned);
  CHECK(bindings.check("room301_radar", "zigbee2mqtt", "zigbee2mqtt/#", "zigbee2mqtt/room301_radar/availability") ==
        Verdict::kAccepted);
  // The same id in a native protobuf from a compromised plug's topic.
  CHECK(bindings.check("room301_radar", "native", "eldercare/native/#", "eldercare/native/plug7") == Verdict::kRefused);
  // ...or through a second Zigbee2MQTT bridge on another base topic.
  CHECK(bindings.check("room301_radar", "zigbee2mqtt", "zigbee2mqtt-b/#", "zigbee2mqtt-b/room301_radar") ==
        Verdict::kRefused);
  REQUIRE(bindings.find("room301_radar") != nullptr);
  CHECK(bindings.find("room301_radar")->driver == "zigbee2mqtt");
}

TEST_CASE("the registry pins a device's driver and topic before it is ever heard", "[bindings][security]") {
  DeviceBindings bindings(100);
  bindings.configure(registry({pinned("bed7-radar", "native", "eldercare/native/bed7")}));
  // An impostor first: refused, and it does not take the binding.
  CHECK(bindings.check("bed7-radar", "native", "eldercare/native/#", "eldercare/native/plug7") == Verdict::kRefused);
  CHECK(bindings.check("bed7-radar", "tasmota", "tele/#", "tele/bed7-radar/SENSOR") == Verdict::kRefused);
  CHECK(bindings.find("bed7-radar") == nullptr);
  CHECK(bindings.check("bed7-radar", "native", "eldercare/native/#", "eldercare/native/bed7") == Verdict::kLearned);
  CHECK(bindings.check("bed7-radar", "native", "eldercare/native/#", "eldercare/native/bed7") == Verdict::kAccepted);
  CHECK(bindings.find("bed7-radar")->topic_filter == "eldercare/native/bed7");
}

TEST_CASE("a reload that pins a device differently replaces what was learned", "[bindings]") {
  DeviceBindings bindings(100);
  bindings.configure(registry({pinned("meter-12", "", "")}));
  REQUIRE(bindings.check("meter-12", "wmbusmeters", "wmbusmeters/#", "wmbusmeters/meter-12") == Verdict::kLearned);
  bindings.configure(registry({pinned("meter-12", "mapped-meter", "")}));
  CHECK(bindings.check("meter-12", "wmbusmeters", "wmbusmeters/#", "wmbusmeters/meter-12") == Verdict::kRefused);
  CHECK(bindings.check("meter-12", "mapped-meter", "meters/#", "meters/12") == Verdict::kLearned);
  // A reload that agrees keeps the learned binding.
  bindings.configure(registry({pinned("meter-12", "mapped-meter", "")}));
  CHECK(bindings.check("meter-12", "mapped-meter", "other/#", "other/12") == Verdict::kRefused);
}

TEST_CASE("ids from the network cannot grow the bindings without bound", "[bindings][bounds]") {
  DeviceBindings bindings(3);
  bindings.configure(registry({pinned("registered", "", "")}));
  for (int i = 0; i < 3; ++i)
    CHECK(bindings.check("random-" + std::to_string(i), "tasmota", "tele/#", "tele/x/SENSOR") == Verdict::kLearned);
  CHECK(bindings.check("random-99", "tasmota", "tele/#", "tele/x/SENSOR") == Verdict::kUnbound);
  CHECK(bindings.learned() == 3);
  // A registered device is always bound, however full the table.
  CHECK(bindings.check("registered", "tasmota", "tele/#", "tele/registered/SENSOR") == Verdict::kLearned);
}
