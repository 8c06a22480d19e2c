// Commands over a real broker, on eldercare-gatewayd as a process: anyone on
// the LAN can publish on the command topic, so only a signed, fresh, new
// command from someone allowed to send it changes an alert.
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "command_signing.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/command.pb.h"
#include "http_get.hpp"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "sia_receiver.hpp"  // free_port_tcp_and_udp
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

constexpr const char* kCommandTopic = "eldercare/local/command";

// The shipped broker config with its users; the gateway logs in as its own.
struct Lab {
  eg::test::MosquittoBroker broker{eg::test::ShippedBrokerConfig{
      EG_SOURCE_DIR "/config/mosquitto", {"eldercare-gateway", "zigbee2mqtt", "console", "platform-bridge"}}};
  eg::test::TempDir dir;
  std::uint16_t http_port = eg::test::free_port_tcp_and_udp();

  Lab() {
    std::ofstream(dir.file("rules.toml")) << R"(
[[ladder]]
id = "slow"
[[ladder.step]]
target = "local_alarm"
timeout = "10m"

[[rule]]
id = "fall"
summary = "Fall detected"
kind = "fall"
match = { field = "fall.state", equals = "detected" }
severity = "high"
auto_resolve = false
ladder = "slow"
)";
    std::ofstream(dir.file("gateway.toml"))
        << "[gateway]\nid = \"gw-cmd\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
        << "\"\nrules = \"rules.toml\"\nhttp_port = " << http_port << "\n\n[local]\nuri = \"" << broker.uri() << "\"\n"
        << login() << "\n[upstream]\nuri = \"" << broker.uri() << "\"\n"
        << login() << "\n[commands]\nkeys_file = \"" << eg::test::write_command_keys(dir)
        << "\"\nresend_min_interval_s = 3600\n\n[[devices]]\nid = \"room301_radar\"\nresident = \"r-301\"\n"
           "room = \"301\"\n";
  }

  std::string login() const {
    return "username = \"eldercare-gateway\"\npassword_file = \"" + broker.password_file("eldercare-gateway") + "\"\n";
  }

  eg::test::TestMqttClient client(const std::string& user) {
    return eg::test::TestMqttClient(broker.uri(), user + "-test", {user, broker.password(user)});
  }

  // The gateway's counter, 0 while it has none.
  std::uint64_t metric(const std::string& name) {
    std::string metrics = eg::test::http_get(http_port, "/metrics");
    auto at = metrics.find("\neldercare_" + name + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(metrics.substr(metrics.find(' ', at + 1) + 1));
  }

  bool refused(const std::string& reason, std::uint64_t times = 1) {
    return eg::test::wait_until([&] { return metric("commands_rejected_total{reason=\"" + reason + "\"}") >= times; },
                                10s);
  }
};

v1::AlertTransition next_transition(eg::test::TestMqttClient& platform, std::chrono::milliseconds timeout = 10s) {
  auto message = platform.next(timeout);
  REQUIRE(message.has_value());
  v1::AlertTransition transition;
  REQUIRE(transition.ParseFromString(message->payload));
  return transition;
}

v1::Command acknowledgement(const std::string& alert_id, const std::string& actor = "nurse-7") {
  v1::Command command;
  command.set_actor(actor);
  command.mutable_acknowledge()->set_alert_id(alert_id);
  return command;
}

}  // namespace

TEST_CASE(
    "over a real broker, unsigned, forged, replayed and stale acknowledgements are refused and a signed one "
    "is applied once",
    "[integration][commands][security]") {
  Lab lab;
  auto platform = lab.client("platform-bridge");
  platform.subscribe("eldercare/v1/lab/gw-cmd/alert");
  auto lan = lab.client("console");  // someone at the console, or with its password, but no key
  auto sensors = lab.client("zigbee2mqtt");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", lab.dir.file("gateway.toml")}, lab.dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return gateway.output().find("GATEWAY_READY") != std::string::npos; }, 20s));
  INFO(gateway.output());

  sensors.publish("zigbee2mqtt/room301_radar", R"({"fall_down_status":"fall"})");
  auto raised = next_transition(platform);
  REQUIRE(raised.to_state() == v1::ALERT_STATE_RAISED);
  auto escalating = next_transition(platform);  // step 1, the room's alarm
  REQUIRE(escalating.to_state() == v1::ALERT_STATE_ESCALATING);
  const std::string alert_id = raised.alert_id();

  // What anyone could send before commands were signed: a bare Command.
  auto bare = acknowledgement(alert_id);
  bare.set_id("bare-1");
  lan.publish(kCommandTopic, bare.SerializeAsString());
  REQUIRE(eg::test::wait_until([&] { return lab.metric("commands_received_total") >= 1; }, 10s));
  CHECK(lab.metric("commands_authenticated_total") == 0);
  // Signed with a key the gateway does not hold under that name.
  auto forged = acknowledgement(alert_id);
  forged.set_id("forged-1");
  *forged.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  lan.publish(kCommandTopic, eg::proto::sign_command(forged, "nurse-7", std::string(32, 'x')));
  CHECK(lab.refused("bad_signature"));
  // A genuine nurse-7 key signing for somebody else.
  lan.publish(kCommandTopic, eg::test::signed_command(acknowledgement(alert_id, "nurse-8")));
  CHECK(lab.refused("actor_mismatch"));
  // Genuine but captured ten minutes ago.
  auto stale = acknowledgement(alert_id);
  *stale.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  stale.mutable_time()->set_seconds(stale.time().seconds() - 600);
  lan.publish(kCommandTopic, eg::test::signed_command(stale));
  CHECK(lab.refused("stale"));
  // The console may not ask for a resend, even with a genuine key.
  v1::Command resend;
  resend.mutable_resend_from()->set_from_sequence(1);
  lan.publish(kCommandTopic, eg::test::signed_command(resend, "platform"));
  CHECK(lab.refused("not_permitted"));
  CHECK(lab.metric("commands_rejected_total{reason=\"malformed\"}") +
            lab.metric("commands_rejected_total{reason=\"unsigned\"}") ==
        1);                                       // the bare Command
  CHECK_FALSE(platform.next(300ms).has_value());  // none of them changed the alert

  // nurse-7's own signed acknowledgement, then the same bytes replayed.
  const std::string signed_ack = eg::test::signed_command(acknowledgement(alert_id));
  lan.publish(kCommandTopic, signed_ack);
  auto acknowledged = next_transition(platform);
  CHECK(acknowledged.to_state() == v1::ALERT_STATE_ACKNOWLEDGED);
  CHECK(acknowledged.actor() == "nurse-7");
  CHECK(acknowledged.channel() == "console");
  lan.publish(kCommandTopic, signed_ack);
  CHECK(lab.refused("replayed"));
  CHECK(lab.metric("commands_authenticated_total") == 1);
  CHECK(gateway.output().find("COMMAND_REJECTED topic=\"eldercare/local/command\" channel=console reason=") !=
        std::string::npos);
  CHECK(gateway.stop() == 0);
}

TEST_CASE("over a real broker, the platform's resend is limited in range and rate",
          "[integration][commands][security]") {
  Lab lab;
  auto platform = lab.client("platform-bridge");
  platform.subscribe("eldercare/v1/lab/gw-cmd/event");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", lab.dir.file("gateway.toml")}, lab.dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return gateway.output().find("GATEWAY_READY") != std::string::npos; }, 20s));
  INFO(gateway.output());
  auto sensors = lab.client("zigbee2mqtt");
  sensors.publish("zigbee2mqtt/room301_radar", R"({"presence":true})");
  REQUIRE(platform.next(10s).has_value());

  const std::string downlink = "eldercare/v1/lab/gw-cmd/command";
  v1::Command resend;
  resend.mutable_resend_from()->set_from_sequence(1'000'000);  // beyond anything stored
  platform.publish(downlink, eg::test::signed_command(resend, "platform"));
  CHECK(lab.refused("resend_out_of_range"));
  resend.mutable_resend_from()->set_from_sequence(1);
  platform.publish(downlink, eg::test::signed_command(resend, "platform"));
  REQUIRE(eg::test::wait_until([&] { return gateway.output().find("RESEND from=1") != std::string::npos; }, 10s));
  auto again = platform.next(10s);  // the stored event, sent again
  REQUIRE(again.has_value());
  platform.publish(downlink, eg::test::signed_command(resend, "platform"));
  CHECK(lab.refused("resend_rate_limited"));
  CHECK(gateway.stop() == 0);
}
