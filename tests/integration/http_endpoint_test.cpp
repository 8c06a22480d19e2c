// The gateway's local HTTP endpoint, on eldercare-gatewayd as a process:
// Prometheus metrics, health, and what it says to anything else.
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "http_get.hpp"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "sia_receiver.hpp"  // free_port_tcp_and_udp
#include "temp_dir.hpp"
#include "wait.hpp"

using namespace std::chrono_literals;

namespace {

using eg::test::http_exchange;

std::string get(std::uint16_t port, const std::string& path) {
  return eg::test::http_get(port, path);
}

std::string body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

}  // namespace

TEST_CASE("gatewayd serves /metrics and /health on 127.0.0.1 when gateway.http_port is set",
          "[integration][process][http]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  const std::uint16_t port = eg::test::free_port_tcp_and_udp();
  std::ofstream(dir.file("gateway.toml"))
      << "[gateway]\nid = \"gw-http\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db") << "\"\nhttp_port = " << port
      << "\n\n[local]\nuri = \"" << broker.uri() << "\"\n\n[upstream]\nuri = \"" << broker.uri() << "\"\n";
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return gateway.output().find("GATEWAY_READY") != std::string::npos; }, 20s));
  INFO(gateway.output());
  CHECK(gateway.output().find("HTTP_READY address=127.0.0.1:" + std::to_string(port)) != std::string::npos);

  sensors.publish("zigbee2mqtt/radar1", "{not json");  // counted as a decode error
  std::string metrics;
  REQUIRE(eg::test::wait_until(
      [&] {
        metrics = get(port, "/metrics");
        return metrics.find("eldercare_decode_errors_total{driver=\"zigbee2mqtt\",reason=\"malformed\"} 1") !=
               std::string::npos;
      },
      10s));
  CHECK(metrics.starts_with("HTTP/1.1 200 OK"));
  CHECK(metrics.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(metrics.find("\neldercare_local_connected 1\n") != std::string::npos);

  auto health = get(port, "/health");
  CHECK(health.starts_with("HTTP/1.1 200 OK"));
  auto json = nlohmann::json::parse(body_of(health));
  CHECK(json["status"] == "ok");
  CHECK(json["gateway"] == "gw-http");
  CHECK(json["local_connected"] == true);

  CHECK(get(port, "/nothing-here").starts_with("HTTP/1.1 404 Not Found"));
  CHECK(http_exchange(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            .starts_with("HTTP/1.1 405 Method Not Allowed"));
  CHECK(http_exchange(port, "garbage\r\n\r\n").empty());  // not HTTP: closed without an answer
  CHECK(gateway.stop() == 0);
}
