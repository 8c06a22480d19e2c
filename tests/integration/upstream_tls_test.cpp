// The upstream over TLS, as the platform runs it: a real mosquitto with a TLS
// listener and a private CA (made with openssl in the test), mutual TLS, and
// what happens when the server's certificate is not trusted.
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

namespace {

std::string write_config(const eg::test::TempDir& dir, const eg::test::MosquittoBroker& local,
                         const eg::test::MosquittoBroker& upstream, const std::string& tls_table) {
  std::string path = dir.file("gateway.toml");
  std::ofstream(path) << "[gateway]\nid = \"gw-tls\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
                      << "\"\n\n[local]\nuri = \"" << local.uri() << "\"\n\n[upstream]\nuri = \"" << upstream.ssl_uri()
                      << "\"\n"
                      << tls_table << "\n[[devices]]\nid = \"room301_gas\"\nresident = \"r-301\"\n";
  return path;
}

bool log_has(eg::test::ChildProcess& process, const std::string& text) {
  return process.output().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("events reach the platform over mutual TLS, an untrusted server gets nothing and the events wait",
          "[integration][tls]") {
  eg::test::TempDir pki_dir;
  eg::test::TestPki pki(pki_dir);
  eg::test::MosquittoBroker local;
  eg::test::MosquittoBroker upstream(eg::test::BrokerTls{&pki, true});
  eg::test::TestMqttClient platform(upstream.uri(), "platform");  // on the broker's plain listener
  platform.subscribe("eldercare/v1/lab/gw-tls/event");
  eg::test::TestMqttClient sensors(local.uri(), "sensors");

  SECTION("mutual TLS with our CA: delivered") {
    eg::test::TempDir dir;
    auto config = write_config(dir, local, upstream,
                               "[upstream.tls]\nca_file = \"" + pki.ca_cert + "\"\ncert_file = \"" + pki.client_cert +
                                   "\"\nkey_file = \"" + pki.client_key + "\"\n");
    eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
    REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
    INFO(gateway.output());
    sensors.publish("zigbee2mqtt/room301_gas", R"({"gas":true})");
    std::optional<v1::SensorEvent> gas;
    REQUIRE(eg::test::wait_until(
        [&] {
          auto message = platform.next(500ms);
          if (!message) return false;
          v1::SensorEvent event;
          if (!event.ParseFromString(message->payload) || event.kind() != v1::EVENT_KIND_GAS) return false;
          gas = event;
          return true;
        },
        20s));
    CHECK(gas->device_id() == "room301_gas");
    CHECK(gas->gas().alarm());
    CHECK(log_has(gateway, "MQTT_CONNECTED link=upstream"));
    CHECK(gateway.stop() == 0);
  }

  SECTION("a server certificate from another CA: refused and nothing sent; with the right CA the event follows") {
    eg::test::TempDir dir;
    auto tls_with = [&](const std::string& ca) {
      return "[upstream.tls]\nca_file = \"" + ca + "\"\ncert_file = \"" + pki.client_cert + "\"\nkey_file = \"" +
             pki.client_key + "\"\n";
    };
    {
      auto config = write_config(dir, local, upstream, tls_with(pki.other_ca_cert));
      eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway-1.log"));
      REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
      INFO(gateway.output());
      REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "MQTT_CONNECT_FAILED link=upstream"); }, 20s));
      sensors.publish("zigbee2mqtt/room301_gas", R"({"gas":true})");
      CHECK_FALSE(platform.next(2s).has_value());
      CHECK_FALSE(log_has(gateway, "MQTT_CONNECTED link=upstream"));
      CHECK(gateway.stop() == 0);
    }
    auto config = write_config(dir, local, upstream, tls_with(pki.ca_cert));
    eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway-2.log"));
    INFO(gateway.output());
    auto message = platform.next(20s);
    REQUIRE(message.has_value());
    v1::SensorEvent event;
    REQUIRE(event.ParseFromString(message->payload));
    CHECK(event.kind() == v1::EVENT_KIND_GAS);  // stored while the upstream was refused, sent now
    CHECK(gateway.stop() == 0);
  }
}
