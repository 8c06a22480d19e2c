// Alerts end to end with eldercare-gatewayd as a process: a fall raises an
// alert, the ladder climbs on time, a restart mid-ladder keeps the schedule
// without duplicates, and an acknowledgement from the console stops it.
#include <signal.h>

#include <google/protobuf/util/time_util.h>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "command_signing.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/command.pb.h"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;
using google::protobuf::util::TimeUtil;

namespace {

void write_files(const eg::test::TempDir& dir, const eg::test::MosquittoBroker& broker) {
  std::ofstream(dir.file("rules.toml")) << R"(
[[ladder]]
id = "fast"
[[ladder.step]]
target = "local_alarm"
timeout = "2s"
[[ladder.step]]
target = "nurse_station"
timeout = "2s"
[[ladder.step]]
target = "platform"
timeout = "2s"

[[rule]]
id = "fall"
summary = "Fall detected"
kind = "fall"
match = { field = "fall.state", equals = "detected" }
severity = "high"
auto_resolve = false
ladder = "fast"
)";
  std::ofstream(dir.file("gateway.toml"))
      << "[gateway]\nid = \"gw-alert\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
      << "\"\nrules = \"rules.toml\"\n\n[local]\nuri = \"" << broker.uri() << "\"\n\n[upstream]\nuri = \""
      << broker.uri() << "\"\n\n[commands]\nkeys_file = \"" << eg::test::write_command_keys(dir)
      << "\"\n\n[[devices]]\nid = \"room301_radar\"\nresident = \"r-301\"\n"
         "room = \"301\"\n";
}

v1::AlertTransition next_transition(eg::test::TestMqttClient& platform) {
  auto message = platform.next(10s);
  REQUIRE(message.has_value());
  v1::AlertTransition transition;
  REQUIRE(transition.ParseFromString(message->payload));
  return transition;
}

bool log_has(eg::test::ChildProcess& process, const std::string& text) {
  return process.output().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("a fall alert climbs its ladder on schedule across a restart and stops at the console's ack",
          "[integration][alerts]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  write_files(dir, broker);
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-alert/alert");
  eg::test::TestMqttClient room(broker.uri(), "room");
  room.subscribe("eldercare/local/alarm");
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  const std::vector<std::string> gatewayd{EG_GATEWAYD, "-c", dir.file("gateway.toml")};

  std::set<std::tuple<std::string, int, std::uint32_t>> seen;  // (alert, state, step): each exactly once
  std::uint64_t last_sequence = 0;
  auto record = [&](const v1::AlertTransition& t) {
    CHECK(seen.insert({t.alert_id(), t.to_state(), t.escalation_step()}).second);
    CHECK(t.sequence() > last_sequence);
    last_sequence = t.sequence();
  };

  v1::AlertTransition raised;
  {
    eg::test::ChildProcess gateway(gatewayd, dir.file("gateway-1.log"));
    REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));
    sensors.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall"})");

    raised = next_transition(platform);
    record(raised);
    CHECK(raised.to_state() == v1::ALERT_STATE_RAISED);
    CHECK(raised.alert().rule_id() == "fall");
    CHECK(raised.alert().resident_id() == "r-301");
    CHECK(raised.alert().severity() == v1::SEVERITY_HIGH);
    auto step1 = next_transition(platform);
    record(step1);
    CHECK(step1.to_state() == v1::ALERT_STATE_ESCALATING);
    CHECK(step1.escalation_step() == 1);
    CHECK(step1.escalation_target() == "local_alarm");
    auto sounder = room.next(5s);
    REQUIRE(sounder.has_value());
    auto notice = nlohmann::json::parse(sounder->payload);
    CHECK(notice["alert_id"] == raised.alert_id());
    CHECK(notice["room"] == "301");

    INFO(gateway.output());
    CHECK(gateway.stop() == 0);  // mid-ladder: step 2 is due 2 s after the raise
  }

  eg::test::ChildProcess gateway(gatewayd, dir.file("gateway-2.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));
  auto step2 = next_transition(platform);
  record(step2);
  CHECK(step2.alert_id() == raised.alert_id());
  CHECK(step2.escalation_step() == 2);
  CHECK(step2.escalation_target() == "nurse_station");
  auto due = TimeUtil::TimestampToMilliseconds(raised.time()) + 2000;
  auto fired = TimeUtil::TimestampToMilliseconds(step2.time());
  INFO("step 2 fired " << fired - due << " ms after it was due");
  CHECK(std::llabs(fired - due) < 250);

  v1::Command ack;
  ack.set_id("ack-1");
  ack.set_actor("nurse-7");
  ack.mutable_acknowledge()->set_alert_id(raised.alert_id());
  const std::string signed_ack = eg::test::signed_command(ack);
  sensors.publish("eldercare/local/command", signed_ack);
  auto acknowledged = next_transition(platform);
  record(acknowledged);
  CHECK(acknowledged.to_state() == v1::ALERT_STATE_ACKNOWLEDGED);
  CHECK(acknowledged.actor() == "nurse-7");
  CHECK(acknowledged.channel() == "console");
  sensors.publish("eldercare/local/command", signed_ack);  // the same ack again: no effect

  // Step 3 would have been due 4 s after the raise: nothing more may come.
  CHECK_FALSE(platform.next(3s).has_value());
  CHECK(gateway.stop() == 0);
}
