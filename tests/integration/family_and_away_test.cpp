// Issue 12 through the daemon: the family rung reaches a real HTTP receiver
// and its delivery is recorded upstream; a resident set away from the console
// gets an overdue-return alert that her own sign of life resolves.
#include <google/protobuf/util/time_util.h>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "command_signing.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/command.pb.h"
#include "http_server.hpp"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;
using google::protobuf::util::TimeUtil;

namespace {

void write_files(const eg::test::TempDir& dir, const eg::test::MosquittoBroker& broker, std::uint16_t webhook_port) {
  std::ofstream(dir.file("rules.toml")) << R"(
[[ladder]]
id = "family-first"
[[ladder.step]]
target = "family"
timeout = "30s"

[[rule]]
id = "fall"
summary = "Fall detected"
kind = "fall"
match = { field = "fall.state", equals = "detected" }
severity = "high"
auto_resolve = false
ladder = "family-first"

[[rule]]
id = "overdue-return"
summary = "Not back by the expected return"
away = { grace = "1s", leave_within = "1s" }
severity = "medium"
ladder = "family-first"
)";
  std::ofstream(dir.file("gateway.toml"))
      << "[gateway]\nid = \"gw-fam\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
      << "\"\nrules = \"rules.toml\"\n\n[local]\nuri = \"" << broker.uri() << "\"\n\n[upstream]\nuri = \""
      << broker.uri() << "\"\n\n[[family.webhook]]\nurl = \"http://127.0.0.1:" << webhook_port
      << "/notify\"\nresidents = [\"r-301\"]\nretry_delay_ms = 50\n\n"
         "[[devices]]\nid = \"room301_radar\"\nresident = \"r-301\"\nroom = \"301\"\n\n"
         "[[devices]]\nid = \"room301_pir\"\nresident = \"r-301\"\nroom = \"301\"\n\n"
         "[commands]\nkeys_file = \""
      << eg::test::write_command_keys(dir) << "\"\n";
}

bool log_has(eg::test::ChildProcess& process, const std::string& text) {
  return process.output().find(text) != std::string::npos;
}

// The next transition of `rule` that reaches the platform.
std::optional<v1::AlertTransition> next_of(eg::test::TestMqttClient& platform, const std::string& rule,
                                           v1::AlertState state) {
  for (int i = 0; i < 20; ++i) {
    auto message = platform.next(10s);
    if (!message) return std::nullopt;
    v1::AlertTransition t;
    if (t.ParseFromString(message->payload) && t.alert().rule_id() == rule && t.to_state() == state) return t;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("through the daemon: a fall reaches the family's webhook and the delivery is recorded upstream",
          "[integration][family]") {
  eg::test::ScriptedHttpServer receiver({503, 200});  // one failure first: the retry delivers
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  write_files(dir, broker, receiver.port());
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-fam/alert");
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));

  sensors.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall"})");
  REQUIRE(eg::test::wait_until([&] { return receiver.requests().size() >= 2; }));
  auto body = nlohmann::json::parse(receiver.requests()[1].body());
  CHECK(body["resident"] == "r-301");
  CHECK(body["room"] == "301");
  CHECK(body["rule"] == "fall");

  auto delivered = next_of(platform, "fall", v1::ALERT_STATE_ESCALATING);
  REQUIRE(delivered.has_value());
  INFO(gateway.output());
  // The rung itself, then the receiver's answer recorded against it.
  bool recorded = false;
  for (int i = 0; i < 5 && !recorded; ++i) {
    auto message = platform.next(5s);
    if (!message) break;
    v1::AlertTransition t;
    REQUIRE(t.ParseFromString(message->payload));
    recorded = t.reason() == "the family's notification service took the alert";
  }
  CHECK(recorded);
  CHECK(gateway.stop() == 0);
}

TEST_CASE(
    "through the daemon: a resident set away from the console is overdue after her expected return, and her "
    "own sign of life resolves it",
    "[integration][away]") {
  eg::test::ScriptedHttpServer receiver({200});
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  write_files(dir, broker, receiver.port());
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-fam/alert");
  eg::test::TestMqttClient console(broker.uri(), "console");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));

  v1::Command away;
  away.set_id("away-1");
  away.set_actor("nurse-7");
  away.mutable_set_away()->set_resident_id("r-301");
  *away.mutable_set_away()->mutable_expected_return() = TimeUtil::MillisecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::milliseconds>((std::chrono::system_clock::now() + 2s).time_since_epoch())
          .count());
  console.publish("eldercare/local/command", eg::test::signed_command(away));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "RESIDENT_AWAY resident=\"r-301\""); }));

  auto overdue = next_of(platform, "overdue-return", v1::ALERT_STATE_RAISED);
  REQUIRE(overdue.has_value());
  CHECK(overdue->alert().resident_id() == "r-301");

  console.publish("zigbee2mqtt/room301_pir", R"({"occupancy":true})");
  auto back = next_of(platform, "overdue-return", v1::ALERT_STATE_RESOLVED);
  REQUIRE(back.has_value());

  // A return in the past is refused, with the reason in the log.
  away.set_id("away-2");
  *away.mutable_set_away()->mutable_expected_return() = TimeUtil::SecondsToTimestamp(1);
  console.publish("eldercare/local/command", eg::test::signed_command(away));
  REQUIRE(eg::test::wait_until([&] {
    return log_has(
        gateway,
        "AWAY_REJECTED resident=\"r-301\" actor=\"nurse-7\" channel=\"console\" reason=\"expected_return is not in "
        "the future\"");
  }));
  INFO(gateway.output());
  CHECK(gateway.stop() == 0);
}
