// The broker configuration we ship (config/mosquitto), on a real mosquitto:
// nobody connects anonymously, and each user reaches only its own topics.
#include <catch2/catch.hpp>

#include "mosquitto.hpp"
#include "mqtt_client.hpp"

using namespace std::chrono_literals;
using eg::test::TestMqttClient;

namespace {

eg::test::MosquittoBroker shipped_broker() {
  return eg::test::MosquittoBroker(
      eg::test::ShippedBrokerConfig{EG_SOURCE_DIR "/config/mosquitto",
                                    {"eldercare-gateway", "zigbee2mqtt", "plug-301", "console", "platform-bridge"}});
}

TestMqttClient::User user(const eg::test::MosquittoBroker& broker, const std::string& name) {
  return {name, broker.password(name)};
}

// The topics of what `client` receives within `timeout`, in order.
std::vector<std::string> topics_received(TestMqttClient& client, std::chrono::milliseconds timeout = 500ms) {
  std::vector<std::string> topics;
  while (auto message = client.next(timeout)) topics.push_back(message->topic);
  return topics;
}

}  // namespace

TEST_CASE("the shipped broker config refuses anonymous clients and wrong passwords",
          "[integration][broker][security]") {
  auto broker = shipped_broker();
  CHECK_THROWS(TestMqttClient(broker.uri(), "anonymous"));
  CHECK_THROWS(TestMqttClient(broker.uri(), "guesser", TestMqttClient::User{"console", "console"}));
  CHECK_NOTHROW(TestMqttClient(broker.uri(), "console", user(broker, "console")));
}

TEST_CASE("with the shipped broker config a sensor cannot publish a command, an alarm, or another device's reading",
          "[integration][broker][security]") {
  auto broker = shipped_broker();
  TestMqttClient gateway(broker.uri(), "gateway", user(broker, "eldercare-gateway"));
  gateway.subscribe("eldercare/local/command");
  gateway.subscribe("tele/#");
  gateway.subscribe("zigbee2mqtt/#");
  TestMqttClient console(broker.uri(), "console", user(broker, "console"));
  console.subscribe("eldercare/local/alarm");
  TestMqttClient plug(broker.uri(), "plug-301", user(broker, "plug-301"));  // a compromised Wi-Fi plug

  plug.publish("eldercare/local/command", "forged acknowledgement");
  plug.publish("eldercare/local/alarm", R"({"alert_id":"fake"})");
  plug.publish("tele/plug-302/SENSOR", R"({"ENERGY":{"Power":0}})");            // speaking for another plug
  plug.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"none"})");  // clearing a fall
  plug.publish("tele/plug-301/SENSOR", R"({"ENERGY":{"Power":3}})");            // its own reading: allowed
  CHECK(topics_received(gateway) == std::vector<std::string>{"tele/plug-301/SENSOR"});
  CHECK(topics_received(console, 200ms).empty());

  // The console's command, the bridge's readings and the gateway's alarm go through.
  console.publish("eldercare/local/command", "signed command");
  TestMqttClient zigbee(broker.uri(), "zigbee2mqtt", user(broker, "zigbee2mqtt"));
  zigbee.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall"})");
  CHECK(topics_received(gateway) == std::vector<std::string>{"eldercare/local/command", "zigbee2mqtt/room301_radar"});
  gateway.publish("eldercare/local/alarm", R"({"alert_id":"real"})");
  CHECK(topics_received(console) == std::vector<std::string>{"eldercare/local/alarm"});

  // A sensor cannot even listen to the command topic (nor to the others' readings).
  plug.subscribe("eldercare/local/command");
  plug.subscribe("zigbee2mqtt/#");
  console.publish("eldercare/local/command", "signed command");
  zigbee.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"none"})");
  CHECK(topics_received(plug).empty());
}
