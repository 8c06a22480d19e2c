// Alarms to an emergency operator over SIA DC-09, end to end: a simulated
// radar's fall message -> eldercare-gatewayd's rule engine -> its DC-09
// transmitter -> a real, independent receiver (iobroker.sia 2.0.4 under node)
// on 127.0.0.1. The receiver's own decoding is what is checked.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "command_signing.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/command.pb.h"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "sia_receiver.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

const char* kKey128 = "00112233445566778899AABBCCDDEEFF";
const char* kKey256 = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

struct Receivers {
  std::uint16_t primary_port = 0;
  std::string primary_transport = "tcp";
  std::uint16_t backup_port = 0;  // 0: no backup
  std::string backup_transport = "tcp";
  std::string key_hex;
};

void write_files(const eg::test::TempDir& dir, const eg::test::MosquittoBroker& broker, const Receivers& receivers,
                 int devices, const std::string& extra_operator = "", const std::string& extra_rules = "",
                 const std::string& extra_devices = "") {
  std::ofstream(dir.file("rules.toml")) << R"(
[[ladder]]
id = "to-operator"
[[ladder.step]]
target = "operator"
timeout = "10m"

[[ladder]]
id = "local"
[[ladder.step]]
target = "nurse_station"
timeout = "10m"

[[rule]]
id = "fall"
summary = "Fall detected"
kind = "fall"
match = { field = "fall.state", equals = "detected" }
severity = "high"
auto_resolve = false
ladder = "to-operator"

[[rule]]
id = "operator-link-down"
summary = "Emergency operator unreachable"
kind = "device_health"
match = { field = "device_health.condition", equals = "operator_link_down", clears = "operator_link_up" }
severity = "high"
ladder = "local"
)" << extra_rules;
  std::ofstream config(dir.file("gateway.toml"));
  config << "[gateway]\nid = \"gw-op\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
         << "\"\nrules = \"rules.toml\"\n\n[local]\nuri = \"" << broker.uri() << "\"\n\n[upstream]\nuri = \""
         << broker.uri() << "\"\n\n[operator]\naccount = \"1234\"\npartition = 1\nack_timeout_ms = 1500\n"
         << "attempts_per_path = 2\nretry_delay_ms = 200\nretry_pause_s = 2\n";
  if (!receivers.key_hex.empty())
    config << "aes_key_file = \"" << dir.secret_file("dc09.key", receivers.key_hex) << "\"\n";
  config << extra_operator;
  config << "[operator.primary]\nhost = \"127.0.0.1\"\nport = " << receivers.primary_port << "\ntransport = \""
         << receivers.primary_transport << "\"\n";
  if (receivers.backup_port != 0)
    config << "[operator.backup]\nhost = \"127.0.0.1\"\nport = " << receivers.backup_port << "\ntransport = \""
           << receivers.backup_transport << "\"\n";
  for (int i = 1; i <= devices; ++i)
    config << "\n[[devices]]\nid = \"radar" << i << "\"\nresident = \"r-" << i << "\"\nroom = \"" << 300 + i << "\"\n";
  config << extra_devices;
  config << "\n[commands]\nkeys_file = \"" << eg::test::write_command_keys(dir) << "\"\n";
}

bool log_has(eg::test::ChildProcess& process, const std::string& text) {
  return process.output().find(text) != std::string::npos;
}

// Collects the gateway's alert transitions from the upstream broker.
struct Platform {
  explicit Platform(const std::string& uri) : client(uri, "platform") {
    client.subscribe("eldercare/v1/lab/gw-op/alert");
  }
  bool wait_for(const std::function<bool(const std::vector<v1::AlertTransition>&)>& done,
                std::chrono::milliseconds timeout = 20s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!done(seen)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      auto message = client.next(std::min(left, 500ms));
      if (!message) continue;
      v1::AlertTransition t;
      REQUIRE(t.ParseFromString(message->payload));
      seen.push_back(std::move(t));
    }
    return true;
  }
  std::vector<v1::AlertTransition> deliveries(v1::Delivery kind) const {
    std::vector<v1::AlertTransition> out;
    for (const auto& t : seen)
      if (t.delivery() == kind) out.push_back(t);
    return out;
  }
  eg::test::TestMqttClient client;
  std::vector<v1::AlertTransition> seen;
};

std::size_t count_of(const std::vector<v1::AlertTransition>& seen, v1::Delivery kind) {
  return static_cast<std::size_t>(
      std::count_if(seen.begin(), seen.end(), [&](const auto& t) { return t.delivery() == kind; }));
}

std::string sequence_in(const std::string& detail) {
  std::smatch m;
  REQUIRE(std::regex_search(detail, m, std::regex("seq=(\\d{4})")));
  return m[1];
}

// "#1234|1101 01 002" -> account, qualifier, code, partition, zone, as the receiver decoded it.
struct ContactId {
  std::string account;
  int qualifier = 0, code = 0, partition = 0, zone = 0;
};
ContactId contact_id(const std::string& data_message) {
  std::smatch m;
  REQUIRE(std::regex_match(data_message, m, std::regex("#([0-9A-F]+)\\|(\\d)(\\d{3}) (\\d{2}) (\\d{3})")));
  return {m[1], std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5])};
}

// The receiver writes its ACK before it reports the message: wait for the report.
std::function<bool(const std::vector<eg::test::SiaMessage>&)> reported(std::size_t n) {
  return [n](const std::vector<eg::test::SiaMessage>& all) {
    return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [](auto& m) {
             return m.error.empty() && m.id.find("NULL") == std::string::npos;
           })) >= n;
  };
}

std::vector<eg::test::SiaMessage> accepted(const eg::test::SiaReceiver& receiver) {
  std::vector<eg::test::SiaMessage> out;
  for (auto& m : receiver.messages())
    if (m.error.empty() && m.id.find("NULL") == std::string::npos) out.push_back(m);
  return out;
}

}  // namespace

TEST_CASE("a fall raised by the rule engine reaches a real DC-09 receiver as Contact ID 101, and its restore as 3101",
          "[integration][dc09]") {
  auto [transport, key] = GENERATE(table<std::string, std::string>(
      {{"tcp", ""}, {"udp", ""}, {"tcp", kKey128}, {"udp", kKey128}, {"tcp", kKey256}, {"udp", kKey256}}));
  INFO("transport " << transport << ", AES key of " << key.size() * 4 << " bits");
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  eg::test::SiaReceiver receiver(eg::test::free_port_tcp_and_udp(), "1234", key);
  write_files(dir, broker, {receiver.port(), transport, 0, "tcp", key}, 1);
  Platform platform(broker.uri());
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));

  sensors.publish("zigbee2mqtt/radar1", R"({"fall_down_status":"fall"})");
  INFO(gateway.output());
  INFO(receiver.log());
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 1; }));
  auto confirmed = platform.deliveries(v1::DELIVERY_CONFIRMED).at(0);
  CHECK(confirmed.escalation_target() == "operator");
  CHECK(confirmed.channel() == "dc09");
  CHECK(confirmed.alert().rule_id() == "fall");
  CHECK(confirmed.alert().resident_id() == "r-1");

  REQUIRE(receiver.wait_for(reported(1), 10s));
  auto messages = accepted(receiver);
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].id == (key.empty() ? "ADM-CID" : "*ADM-CID"));
  CHECK(messages[0].act == "1234");
  CHECK(messages[0].seq == sequence_in(confirmed.delivery_detail()));
  CHECK(messages[0].rpref == "0");
  CHECK(messages[0].lpref == "0");
  auto alarm = contact_id(messages[0].data_message);
  CHECK(alarm.account == "1234");
  CHECK(alarm.qualifier == 1);
  CHECK(alarm.code == 101);
  CHECK(alarm.partition == 1);
  CHECK(alarm.zone == 2);

  // The nurse resolves it on the console: the operator gets the restore.
  v1::Command resolve;
  resolve.set_id("resolve-1");
  resolve.set_actor("nurse-7");
  resolve.mutable_resolve()->set_alert_id(confirmed.alert_id());
  sensors.publish("eldercare/local/command", eg::test::signed_command(resolve));
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 2; }));
  REQUIRE(receiver.wait_for(reported(2), 10s));
  messages = accepted(receiver);
  REQUIRE(messages.size() == 2);
  auto restore = contact_id(messages[1].data_message);
  CHECK(restore.qualifier == 3);
  CHECK(restore.code == 101);
  CHECK(restore.partition == 1);
  CHECK(restore.zone == 2);
  CHECK(messages[1].seq == sequence_in(platform.deliveries(v1::DELIVERY_CONFIRMED).at(1).delivery_detail()));
  CHECK(messages[1].seq != messages[0].seq);
  CHECK(gateway.stop() == 0);
}

TEST_CASE(
    "the operator link survives its receivers dying: same sequence on retry, backup path, local escalation, "
    "delivery when back, nothing lost or reordered",
    "[integration][dc09]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  const std::uint16_t primary_port = eg::test::free_port_tcp_and_udp();
  std::uint16_t backup_port = eg::test::free_port_tcp_and_udp();
  while (backup_port == primary_port) backup_port = eg::test::free_port_tcp_and_udp();
  auto primary = std::make_unique<eg::test::SiaReceiver>(primary_port, "1234");
  auto backup = std::make_unique<eg::test::SiaReceiver>(backup_port, "1234");
  write_files(dir, broker, {primary_port, "tcp", backup_port, "udp", ""}, 6);
  Platform platform(broker.uri());
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::TestMqttClient nurse(broker.uri(), "nurse");
  nurse.subscribe("eldercare/local/nurse_station");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  INFO(gateway.output());
  auto fall = [&](int i) {
    sensors.publish("zigbee2mqtt/radar" + std::to_string(i), R"({"fall_down_status":"fall"})");
  };
  std::vector<eg::test::SiaMessage> received;  // everything every receiver accepted, in the order it did

  // 1. The primary takes the first alarm.
  fall(1);
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 1; }));
  CHECK(platform.deliveries(v1::DELIVERY_CONFIRMED)[0].actor() == "operator:primary");

  // 2. The primary dies mid-stream: the next alarm is retried on it with one
  //    sequence number, then goes to the backup with that same number.
  REQUIRE(primary->wait_for(reported(1), 10s));
  for (auto& m : accepted(*primary)) received.push_back(m);
  primary->kill();
  fall(2);
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 2; }));
  auto via_backup = platform.deliveries(v1::DELIVERY_CONFIRMED)[1];
  CHECK(via_backup.actor() == "operator:backup");
  const std::string second_sequence = sequence_in(via_backup.delivery_detail());
  CHECK(via_backup.delivery_detail().find("attempts=3") != std::string::npos);  // 2 on the primary, 1 on the backup
  CHECK(log_has(gateway, "attempt 1 of sequence " + std::to_string(std::stoi(second_sequence)) + " failed"));
  CHECK(log_has(gateway, "attempt 2 of sequence " + std::to_string(std::stoi(second_sequence)) + " failed"));
  REQUIRE(backup->wait_for(reported(1), 10s));
  CHECK(accepted(*backup).at(0).seq == second_sequence);
  // The primary's failure is a health alert escalating on site.
  REQUIRE(platform.wait_for([](auto& seen) {
    return std::any_of(seen.begin(), seen.end(), [](auto& t) {
      return t.alert().rule_id() == "operator-link-down" && t.to_state() == v1::ALERT_STATE_ESCALATING;
    });
  }));

  // 3. Both receivers down: alarms queue; the failure is an alert transition
  //    and the nurse station is told at once.
  for (auto& m : accepted(*backup)) received.push_back(m);
  backup->kill();
  fall(3);
  fall(4);
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_FAILED) >= 1; }, 30s));
  auto failed = platform.deliveries(v1::DELIVERY_FAILED)[0];
  CHECK(failed.escalation_target() == "operator");
  CHECK(eg::test::wait_until(
      [&] {
        auto notice = nurse.next(200ms);
        return notice && nlohmann::json::parse(notice->payload).value("operator_unreachable", false) &&
               nlohmann::json::parse(notice->payload)["alert_id"] == failed.alert_id();
      },
      10s));

  // 4. The primary comes back: everything queued is delivered, in order.
  primary = std::make_unique<eg::test::SiaReceiver>(primary_port, "1234");
  fall(5);
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 5; }, 40s));
  REQUIRE(primary->wait_for(reported(3), 10s));
  for (auto& m : accepted(*primary)) received.push_back(m);

  // Every alarm raised is confirmed exactly once, in the order raised, and the
  // receivers saw exactly those sequence numbers in that order.
  std::vector<std::string> raised, confirmed_alerts, confirmed_sequences;
  for (const auto& t : platform.seen)
    if (t.alert().rule_id() == "fall" && t.to_state() == v1::ALERT_STATE_RAISED) raised.push_back(t.alert_id());
  for (const auto& t : platform.deliveries(v1::DELIVERY_CONFIRMED)) {
    confirmed_alerts.push_back(t.alert_id());
    confirmed_sequences.push_back(sequence_in(t.delivery_detail()));
  }
  CHECK(raised.size() == 5);
  CHECK(confirmed_alerts == raised);
  std::vector<std::string> receiver_sequences;
  for (const auto& m : received) {
    receiver_sequences.push_back(m.seq);
    auto alarm = contact_id(m.data_message);
    CHECK(alarm.code == 101);
    CHECK(alarm.qualifier == 1);
  }
  CHECK(receiver_sequences == confirmed_sequences);
  CHECK(gateway.stop() == 0);
}

TEST_CASE("the resident's own cancel acknowledges from the device channel, and the operator gets a 406 cancel",
          "[integration][dc09]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  eg::test::SiaReceiver receiver(eg::test::free_port_tcp_and_udp(), "1234");
  write_files(dir, broker, {receiver.port(), "tcp", 0, "tcp", ""}, 0, "send_cancels = true\n", R"(
[[ladder]]
id = "nurse-then-operator"
[[ladder.step]]
target = "nurse_station"
timeout = "10m"
[[ladder.step]]
target = "operator"
timeout = "10m"

[[rule]]
id = "sos"
summary = "Emergency call button pressed"
kind = "sos"
match = { field = "sos.active", equals = "true" }
severity = "high"
auto_resolve = false
ladder = "nurse-then-operator"
)",
              "\n[[devices]]\nid = \"pendant1\"\nresident = \"r-1\"\nroom = \"301\"\ncancel_actions = [\"double\"]\n"
              // Only acknowledges: a cancel soon after the call would resolve it (alerting_test).
              "\n[escalation]\ncancel_resolves_within_s = 0\n");
  Platform platform(broker.uri());
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  INFO(gateway.output());
  INFO(receiver.log());

  sensors.publish("zigbee2mqtt/pendant1", R"({"action":"single"})");  // help!
  REQUIRE(platform.wait_for([](auto& seen) {
    return std::any_of(seen.begin(), seen.end(), [](auto& t) { return t.escalation_target() == "nurse_station"; });
  }));
  sensors.publish("zigbee2mqtt/pendant1", R"({"action":"double"})");  // "I am fine"
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 1; }));
  auto acked = std::find_if(platform.seen.begin(), platform.seen.end(),
                            [](auto& t) { return t.to_state() == v1::ALERT_STATE_ACKNOWLEDGED; });
  REQUIRE(acked != platform.seen.end());
  CHECK(acked->actor() == "device:pendant1");
  CHECK(acked->channel() == "device");
  CHECK(acked->alert().rule_id() == "sos");
  // The cancel press raised nothing of its own.
  CHECK(std::count_if(platform.seen.begin(), platform.seen.end(),
                      [](auto& t) { return t.to_state() == v1::ALERT_STATE_RAISED; }) == 1);

  REQUIRE(receiver.wait_for(reported(1), 10s));
  auto messages = accepted(receiver);
  REQUIRE(messages.size() == 1);  // no alarm: the operator step never came; only the cancel
  auto cancel = contact_id(messages[0].data_message);
  CHECK(cancel.qualifier == 1);
  CHECK(cancel.code == 406);
  CHECK(cancel.zone == 1);
  auto confirmed = platform.deliveries(v1::DELIVERY_CONFIRMED).at(0);
  CHECK(confirmed.alert_id() == acked->alert_id());
  CHECK(confirmed.delivery_detail().find("cancel code=406") != std::string::npos);
  CHECK(gateway.stop() == 0);
}

TEST_CASE("NULL supervision: a receiver that stops answering raises a local alert, which resolves when it is back",
          "[integration][dc09]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  const std::uint16_t port = eg::test::free_port_tcp_and_udp();
  auto receiver = std::make_unique<eg::test::SiaReceiver>(port, "1234");
  write_files(dir, broker, {port, "tcp", 0, "tcp", ""}, 0, "supervision_interval_s = 1\ntest_report_interval_s = 1\n");
  Platform platform(broker.uri());
  eg::test::TestMqttClient nurse(broker.uri(), "nurse");
  nurse.subscribe("eldercare/local/nurse_station");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  INFO(gateway.output());

  // iobroker.sia answers a NULL with a NAK (it wants data in every message):
  // an answer all the same, so the path stays up.
  REQUIRE(receiver->wait_for([](auto& all) { return all.size() >= 2; }, 10s));
  CHECK_FALSE(log_has(gateway, "OPERATOR_PATH_DOWN"));
  // The periodic test report: Contact ID 602, new event, partition 01, zone 000.
  REQUIRE(receiver->wait_for(
      [](auto& all) {
        return std::any_of(all.begin(), all.end(), [](auto& m) { return m.data_message == "#1234|1602 01 000"; });
      },
      10s));

  receiver->kill();
  auto link_alert = [](v1::AlertState state) {
    return [state](const std::vector<v1::AlertTransition>& seen) {
      return std::any_of(seen.begin(), seen.end(),
                         [&](auto& t) { return t.alert().rule_id() == "operator-link-down" && t.to_state() == state; });
    };
  };
  REQUIRE(platform.wait_for(link_alert(v1::ALERT_STATE_ESCALATING), 15s));
  auto notice = nurse.next(5s);
  REQUIRE(notice.has_value());
  auto body = nlohmann::json::parse(notice->payload);
  CHECK(body["rule"] == "operator-link-down");
  CHECK(body["device"] == "gateway:gw-op/operator-primary");

  receiver = std::make_unique<eg::test::SiaReceiver>(port, "1234");
  REQUIRE(platform.wait_for(link_alert(v1::ALERT_STATE_RESOLVED), 15s));
  CHECK(log_has(gateway, "OPERATOR_PATH_UP path=primary"));
  CHECK(gateway.stop() == 0);
}

TEST_CASE("an alarm the operator had not acknowledged when the gateway stopped is sent after the restart",
          "[integration][dc09]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  const std::uint16_t port = eg::test::free_port_tcp_and_udp();  // nobody listens yet
  write_files(dir, broker, {port, "tcp", 0, "tcp", ""}, 1);
  Platform platform(broker.uri());
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  const std::vector<std::string> gatewayd{EG_GATEWAYD, "-c", dir.file("gateway.toml")};
  {
    eg::test::ChildProcess gateway(gatewayd, dir.file("gateway-1.log"));
    REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
    INFO(gateway.output());
    sensors.publish("zigbee2mqtt/radar1", R"({"fall_down_status":"fall"})");
    REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_FAILED) == 1; }));
    CHECK(gateway.stop() == 0);
  }
  eg::test::SiaReceiver receiver(port, "1234");
  eg::test::ChildProcess gateway(gatewayd, dir.file("gateway-2.log"));
  INFO(gateway.output());
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 1; }));
  CHECK(log_has(gateway, "OPERATOR_RESEND kind=alarm"));
  REQUIRE(receiver.wait_for(reported(1), 10s));
  auto messages = accepted(receiver);
  REQUIRE(messages.size() == 1);
  auto alarm = contact_id(messages[0].data_message);
  CHECK(alarm.qualifier == 1);
  CHECK(alarm.code == 101);
  CHECK(alarm.zone == 2);
  CHECK(platform.deliveries(v1::DELIVERY_CONFIRMED)[0].alert_id() ==
        platform.deliveries(v1::DELIVERY_FAILED)[0].alert_id());
  // Delivered once: nothing is left to re-send on the next start.
  CHECK(gateway.stop() == 0);
  eg::test::ChildProcess third(gatewayd, dir.file("gateway-3.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(third, "GATEWAY_READY"); }, 20s));
  CHECK(log_has(third, "resending=0"));
  CHECK(third.stop() == 0);
}

TEST_CASE("in SIA DCS format the fall reaches the real receiver as MA and its restore as MH", "[integration][dc09]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  eg::test::SiaReceiver receiver(eg::test::free_port_tcp_and_udp(), "1234", kKey128);
  write_files(dir, broker, {receiver.port(), "tcp", 0, "tcp", kKey128}, 1, "format = \"SIA-DCS\"\n");
  Platform platform(broker.uri());
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  INFO(gateway.output());
  INFO(receiver.log());
  sensors.publish("zigbee2mqtt/radar1", R"({"fall_down_status":"fall"})");
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 1; }));
  v1::Command resolve;
  resolve.set_id("resolve-1");
  resolve.set_actor("nurse-7");
  resolve.mutable_resolve()->set_alert_id(platform.deliveries(v1::DELIVERY_CONFIRMED)[0].alert_id());
  sensors.publish("eldercare/local/command", eg::test::signed_command(resolve));
  REQUIRE(platform.wait_for([](auto& seen) { return count_of(seen, v1::DELIVERY_CONFIRMED) == 2; }));
  REQUIRE(receiver.wait_for(reported(2), 10s));
  auto messages = accepted(receiver);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].id == "*SIA-DCS");
  CHECK(messages[0].act == "1234");
  CHECK(messages[0].data_message == "#1234|Nri1/MA002");  // new medical alarm, area 1, zone 002 (fall)
  CHECK(messages[1].data_message == "#1234|Nri1/MH002");  // its restore
  CHECK(gateway.stop() == 0);
}
