// A publisher on the local broker sends a packet over local.max_packet_kb: the
// gateway skips it unread (never buffering it), dead-letters it by topic, and
// the next message on the same connection is decoded and forwarded as usual.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "eldercare/v1/sensor_event.pb.h"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

TEST_CASE("an oversize packet is dropped and reported, the message after it still arrives", "[integration][bounds]") {
  eg::test::TempDir dir;
  eg::test::MosquittoBroker local;
  eg::test::MosquittoBroker upstream;
  std::ofstream(dir.file("gateway.toml"))
      << "[gateway]\nid = \"gw-ov\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
      << "\"\nmin_free_disk_mb = 0\n\n[local]\nuri = \"" << local.uri()
      << "\"\nmax_packet_kb = 16\n\n[upstream]\nuri = \"" << upstream.uri() << "\"\nmax_rate_per_s = 0\n";
  eg::test::TestMqttClient platform(upstream.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-ov/event");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return gateway.output().find("GATEWAY_READY") != std::string::npos; }));
  eg::test::TestMqttClient sensors(local.uri(), "sensors");

  // 1 MB of JSON-looking bytes, then a normal reading from another device.
  sensors.publish("zigbee2mqtt/flood", "{\"heart_rate\":" + std::string(1024 * 1024, '7') + "}");
  sensors.publish("zigbee2mqtt/radar-1", R"({"heart_rate":72})");

  auto message = platform.next(10s);
  REQUIRE(message.has_value());
  v1::SensorEvent event;
  REQUIRE(event.ParseFromString(message->payload));
  CHECK(event.device_id() == "radar-1");
  CHECK(event.vitals().heart_rate_bpm() == 72);
  REQUIRE(eg::test::wait_until(
      [&] { return gateway.output().find("PAYLOAD_REJECTED topic=\"zigbee2mqtt/flood\"") != std::string::npos; }));
  CHECK(gateway.output().find("over local.max_packet_kb (16)") != std::string::npos);
  CHECK_FALSE(platform.next(500ms).has_value());  // the oversize one was not forwarded
  gateway.signal(SIGTERM);
  CHECK(gateway.wait_exit(5s) == 0);
}
