// The whole path in one process: a real mosquitto for the sensors, another for
// the platform, the gateway on its own loop thread, plain Paho clients on both
// sides. Time comes from a ManualClock, so received times are exact.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "eg/gateway/gateway.hpp"
#include "eg/gateway/store.hpp"
#include "eldercare/v1/sensor_event.pb.h"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

// The gateway on its own loop thread, stopped (gracefully) at scope end.
class RunningGateway {
 public:
  RunningGateway(eg::gateway::GatewayConfig config, const eg::Clock& clock)
      : work_(io_.get_executor()), gateway_(io_, std::move(config), clock) {
    boost::asio::post(io_, [this] { gateway_.start([this] { ready_ = true; }); });
    thread_ = std::thread([this] { io_.run(); });
    REQUIRE(eg::test::wait_until([&] { return ready_.load(); }));
  }
  ~RunningGateway() {
    std::promise<void> stopped;
    boost::asio::post(io_, [&] { gateway_.stop([&] { stopped.set_value(); }); });
    stopped.get_future().wait_for(5s);
    work_.reset();
    io_.stop();
    thread_.join();
  }
  const eg::gateway::Metrics& metrics() const { return gateway_.metrics(); }
  std::string topic(const char* leaf) const { return gateway_.upstream_topic(leaf); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  eg::gateway::Gateway gateway_;
  std::atomic<bool> ready_{false};
  std::thread thread_;
};

eg::gateway::GatewayConfig make_config(const eg::test::MosquittoBroker& local,
                                       const eg::test::MosquittoBroker& upstream, const std::string& database) {
  eg::gateway::GatewayConfig config;
  config.gateway_id = "gw-test";
  config.site = "lab";
  config.database = database;
  config.local.uri = local.uri();
  config.local.client_id = "gw-test-local";
  config.upstream.uri = upstream.uri();
  config.upstream.client_id = "gw-test-upstream";
  config.drivers.push_back({"zigbee2mqtt", "zigbee2mqtt"});
  config.devices.emplace("room301_radar",
                         eg::gateway::DeviceEntry{"room301_radar", "r-301-a", "301", "A", {}, "", "", ""});
  config.devices.emplace("room301_gas", eg::gateway::DeviceEntry{"room301_gas", "r-301-a", "301", "", {}, "", "", ""});
  return config;
}

v1::SensorEvent next_event(eg::test::TestMqttClient& platform) {
  auto message = platform.next(10s);
  REQUIRE(message.has_value());
  v1::SensorEvent event;
  REQUIRE(event.ParseFromString(message->payload));
  return event;
}

}  // namespace

TEST_CASE("zigbee2mqtt messages arrive upstream as SensorEvents, field by field, without sequence gaps",
          "[integration]") {
  eg::test::MosquittoBroker local_broker, upstream_broker;
  eg::test::TempDir dir;
  eg::ManualClock clock;
  RunningGateway gateway(make_config(local_broker, upstream_broker, dir.file("gw.db")), clock);
  eg::test::TestMqttClient platform(upstream_broker.uri(), "platform");
  platform.subscribe(gateway.topic("event"));
  eg::test::TestMqttClient sensors(local_broker.uri(), "sensors");

  sensors.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall","linkquality":120})");
  sensors.publish("zigbee2mqtt/room301_gas", R"({"gas":true,"gas_value":22})");
  sensors.publish("zigbee2mqtt/room301_radar", R"({"heart_rate":118,"breathing_rate":24})");
  sensors.publish("zigbee2mqtt/room301_radar", R"({"heart_rate":118,"breathing_rate":24})");  // repeat: nothing new

  auto fall = next_event(platform);
  CHECK(fall.kind() == v1::EVENT_KIND_FALL);
  CHECK(fall.fall().state() == v1::FallPayload::STATE_DETECTED);
  CHECK(fall.device_id() == "room301_radar");
  CHECK(fall.resident_id() == "r-301-a");
  CHECK(fall.room() == "301");
  CHECK(fall.bed() == "A");
  CHECK(fall.gateway_id() == "gw-test");
  CHECK(fall.sequence() == 1);
  CHECK(fall.id().size() == 36);
  CHECK(fall.driver() == "zigbee2mqtt");
  CHECK(fall.source_topic() == "zigbee2mqtt/room301_radar");
  CHECK(fall.received_time().seconds() ==
        std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count());
  CHECK_FALSE(fall.retained());

  auto gas = next_event(platform);
  CHECK(gas.kind() == v1::EVENT_KIND_GAS);
  CHECK(gas.gas().alarm());
  CHECK(gas.gas().concentration_lel_percent() == 22);
  CHECK(gas.device_id() == "room301_gas");
  CHECK(gas.bed().empty());
  CHECK(gas.sequence() == 2);
  CHECK(gas.id() != fall.id());

  auto vitals = next_event(platform);
  CHECK(vitals.kind() == v1::EVENT_KIND_VITALS);
  CHECK(vitals.vitals().heart_rate_bpm() == 118);
  CHECK(vitals.vitals().breathing_rate_per_min() == 24);
  CHECK(vitals.sequence() == 3);

  CHECK_FALSE(platform.next(300ms).has_value());  // the repeated state produced nothing
  CHECK(gateway.metrics().get("messages_received_total") == 4);
  CHECK(gateway.metrics().get("events_total") == 3);
}

TEST_CASE("a malformed payload is counted, logged once per topic, kept, and the next message still arrives",
          "[integration]") {
  eg::test::MosquittoBroker local_broker, upstream_broker;
  eg::test::TempDir dir;
  eg::ManualClock clock;
  const std::string database = dir.file("gw.db");
  {
    RunningGateway gateway(make_config(local_broker, upstream_broker, database), clock);
    eg::test::TestMqttClient platform(upstream_broker.uri(), "platform");
    platform.subscribe(gateway.topic("event"));
    eg::test::TestMqttClient sensors(local_broker.uri(), "sensors");

    sensors.publish("zigbee2mqtt/room301_gas", R"({"gas": tru)");
    sensors.publish("zigbee2mqtt/room301_gas", "\xff\xfe garbage");
    sensors.publish("zigbee2mqtt/room301_gas", R"({"gas": 7})");
    sensors.publish("zigbee2mqtt/room301_gas", R"({"gas":true})");

    auto gas = next_event(platform);
    CHECK(gas.kind() == v1::EVENT_KIND_GAS);
    CHECK(gas.gas().alarm());
    CHECK(gas.sequence() == 1);
    const auto& m = gateway.metrics();
    CHECK(m.get(R"(decode_errors_total{driver="zigbee2mqtt",reason="malformed"})") == 2);
    CHECK(m.get(R"(decode_errors_total{driver="zigbee2mqtt",reason="wrong_type"})") == 1);
    CHECK(m.get("payload_rejections_logged_total") == 1);  // the clock stood still: one line per topic
  }
  eg::gateway::Store store(database);
  auto letters = store.dead_letters(10);
  REQUIRE(letters.size() == 3);
  CHECK(letters[0].topic == "zigbee2mqtt/room301_gas");
  CHECK(letters[0].payload == R"({"gas": tru)");
  CHECK(letters[0].reason.starts_with("malformed: "));
  CHECK(letters[1].payload == "\xff\xfe garbage");
}

// Issue 12 #9: a clean stop sends the PUBACKs of what it committed before it
// disconnects; otherwise every message of the last group comes again at the
// next start (counted as duplicates_dropped_total, or worse, stored twice).
TEST_CASE("a clean stop acknowledges what it stored: nothing comes again at the next start", "[integration]") {
  eg::test::MosquittoBroker local_broker, upstream_broker;
  eg::test::TempDir dir;
  eg::ManualClock clock;
  auto config = make_config(local_broker, upstream_broker, dir.file("gw.db"));
  constexpr int kMessages = 300;
  {
    RunningGateway gateway(config, clock);
    eg::test::TestMqttClient sensors(local_broker.uri(), "sensors");
    for (int i = 0; i < kMessages; ++i)
      sensors.publish("zigbee2mqtt/room301_radar", "{\"heart_rate\":" + std::to_string(40 + i % 100) +
                                                       ",\"breathing_rate\":" + std::to_string(10 + i % 30) + "}");
    REQUIRE(eg::test::wait_until([&] { return gateway.metrics().get("messages_received_total") == kMessages; }, 20s));
  }  // stopped right after the last message: its group's PUBACKs are the ones at stake
  RunningGateway again(config, clock);
  eg::test::TestMqttClient sensors(local_broker.uri(), "sensors");
  sensors.publish("zigbee2mqtt/room301_radar", R"({"heart_rate":99,"breathing_rate":21})");  // a marker, queued last
  REQUIRE(eg::test::wait_until([&] { return again.metrics().get("messages_received_total") >= 1; }, 20s));
  CHECK(again.metrics().get("messages_received_total") == 1);  // only the marker: nothing redelivered
  CHECK(again.metrics().get("duplicates_dropped_total") == 0);
}

// Issue 13 #2: a device id is a name anyone can write into a payload. A plug
// publishing a native "fall cleared" under the radar's id, or a health report
// under the gateway's own id, is refused, counted and kept; the radar itself
// still gets through.
TEST_CASE("a device speaks only through its own driver and topic, no sensor speaks for the gateway",
          "[integration][bindings][security]") {
  eg::test::MosquittoBroker local_broker, upstream_broker;
  eg::test::TempDir dir;
  eg::ManualClock clock;
  const std::string database = dir.file("gw.db");
  auto config = make_config(local_broker, upstream_broker, database);
  config.drivers.push_back({"native", "eldercare/native"});
  {
    RunningGateway gateway(config, clock);
    eg::test::TestMqttClient platform(upstream_broker.uri(), "platform");
    platform.subscribe(gateway.topic("event"));
    eg::test::TestMqttClient sensors(local_broker.uri(), "sensors");

    sensors.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall"})");
    CHECK(next_event(platform).kind() == v1::EVENT_KIND_FALL);

    v1::SensorEvent forged;
    forged.set_device_id("room301_radar");
    forged.set_kind(v1::EVENT_KIND_FALL);
    forged.mutable_fall()->set_state(v1::FallPayload::STATE_NONE);
    sensors.publish("eldercare/native/plug7", forged.SerializeAsString());

    v1::SensorEvent gateway_health;
    gateway_health.set_device_id("gateway:gw-test/store");
    gateway_health.set_kind(v1::EVENT_KIND_DEVICE_HEALTH);
    gateway_health.mutable_device_health()->set_condition(v1::DeviceHealthPayload::CONDITION_ONLINE);
    sensors.publish("eldercare/native/plug7", gateway_health.SerializeAsString());

    sensors.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"normal"})");
    auto cleared = next_event(platform);  // the radar's own, not the forgery
    CHECK(cleared.kind() == v1::EVENT_KIND_FALL);
    CHECK(cleared.driver() == "zigbee2mqtt");
    CHECK(cleared.sequence() == 2);
    CHECK_FALSE(platform.next(300ms).has_value());

    const auto& m = gateway.metrics();
    CHECK(m.get(R"(device_binding_refusals_total{driver="native"})") == 1);
    CHECK(m.get(R"(decode_errors_total{driver="native",reason="reserved_id"})") == 1);
    CHECK(m.get("events_total") == 2);
  }
  eg::gateway::Store store(database);
  auto letters = store.dead_letters(10);
  REQUIRE(letters.size() == 2);
  CHECK(letters[0].topic == "eldercare/native/plug7");
  CHECK(
      letters[0].reason.starts_with("binding: device 'room301_radar' is bound to driver zigbee2mqtt on zigbee2mqtt/#"));
  CHECK(letters[1].reason.starts_with("reserved_id: "));
}

// Issue 13 #7: a device flooding routine readings keeps its burst and rate;
// the rest are dropped and counted, its alarms never are, and its neighbours'
// readings all arrive. The clock stands still, so no bucket refills.
TEST_CASE("a flooding device loses its surplus readings, never its alarms, and never starves a neighbour",
          "[integration][flood]") {
  eg::test::MosquittoBroker local_broker, upstream_broker;
  eg::test::TempDir dir;
  eg::ManualClock clock;
  auto config = make_config(local_broker, upstream_broker, dir.file("gw.db"));
  config.devices.emplace("room302_radar",
                         eg::gateway::DeviceEntry{"room302_radar", "r-302-a", "302", "A", {}, "", "", ""});
  config.device_readings_per_s = 20;
  config.device_reading_burst = 100;
  RunningGateway gateway(config, clock);
  eg::test::TestMqttClient platform(upstream_broker.uri(), "platform");
  platform.subscribe(gateway.topic("event"));
  eg::test::TestMqttClient flooder(local_broker.uri(), "flooder"), neighbour(local_broker.uri(), "neighbour");

  constexpr int kFlood = 4'000, kNeighbour = 40;
  auto vitals = [](int i) {
    return "{\"heart_rate\":" + std::to_string(50 + i % 60) + ",\"breathing_rate\":" + std::to_string(10 + i % 20) +
           "}";
  };
  for (int i = 0; i < kFlood; ++i) {
    flooder.publish("zigbee2mqtt/room301_radar", vitals(i));
    if (i == kFlood / 2) flooder.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall"})");
    if (i % (kFlood / kNeighbour) == 0) neighbour.publish("zigbee2mqtt/room302_radar", vitals(i / 100));
  }
  flooder.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"normal"})");
  const auto& m = gateway.metrics();
  REQUIRE(eg::test::wait_until([&] { return m.get("messages_received_total") >= kFlood + kNeighbour + 2; }, 60s));

  int flooder_vitals = 0, neighbour_vitals = 0, falls = 0;
  while (auto message = platform.next(2s)) {
    v1::SensorEvent event;
    REQUIRE(event.ParseFromString(message->payload));
    if (event.kind() == v1::EVENT_KIND_FALL) ++falls;
    if (event.kind() == v1::EVENT_KIND_VITALS)
      ++(event.device_id() == "room301_radar" ? flooder_vitals : neighbour_vitals);
    if (falls == 2 && neighbour_vitals == kNeighbour && flooder_vitals == 100) break;
  }
  CHECK(falls == 2);                      // the alarm in the middle of the flood and the all-clear after it
  CHECK(neighbour_vitals == kNeighbour);  // every neighbour reading
  CHECK(flooder_vitals == 100);           // the burst, then nothing: the clock did not move
  CHECK(m.get("device_readings_dropped_total") == kFlood - 100);
}
