// eldercare-gatewayd as a process: start, stop on SIGTERM within a second,
// retained status and last will, sequence numbers across restarts.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <catch2/catch.hpp>
#include <fstream>

#include <filesystem>

#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/gateway_status.pb.h"
#include "eldercare/v1/sensor_event.pb.h"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

std::string write_config(const eg::test::TempDir& dir, const eg::test::MosquittoBroker& broker) {
  std::string path = dir.file("gateway.toml");
  std::ofstream(path) << "[gateway]\nid = \"gw-proc\"\nsite = \"lab\"\ndatabase = \"" << dir.file("gw.db")
                      << "\"\n\n[local]\nuri = \"" << broker.uri() << "\"\n\n[upstream]\nuri = \"" << broker.uri()
                      << "\"\n";
  return path;
}

v1::GatewayStatus next_status(eg::test::TestMqttClient& platform) {
  auto message = platform.next(10s);
  REQUIRE(message.has_value());
  v1::GatewayStatus status;
  REQUIRE(status.ParseFromString(message->payload));
  return status;
}

bool log_has(eg::test::ChildProcess& process, const std::string& text) {
  return process.output().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("gatewayd says online, stops on SIGTERM within a second, and leaves a retained offline status",
          "[integration][process]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::string config = write_config(dir, broker);
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-proc/status");

  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
  auto online = next_status(platform);
  CHECK(online.online());
  CHECK(online.gateway_id() == "gw-proc");
  CHECK(online.site() == "lab");
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));

  auto before = std::chrono::steady_clock::now();
  gateway.signal(SIGTERM);
  auto code = gateway.wait_exit(3s);
  auto took = std::chrono::steady_clock::now() - before;
  INFO(gateway.output());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(took < 1s);
  auto offline = next_status(platform);
  CHECK_FALSE(offline.online());
  CHECK_FALSE(offline.unexpected_disconnect());

  // A late subscriber (the platform after a restart) sees the retained state.
  eg::test::TestMqttClient late(broker.uri(), "late");
  late.subscribe("eldercare/v1/lab/gw-proc/status");
  auto retained = next_status(late);
  CHECK_FALSE(retained.online());
}

TEST_CASE("gatewayd killed hard: the broker publishes its last will", "[integration][process]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::string config = write_config(dir, broker);
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-proc/status");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
  REQUIRE(next_status(platform).online());
  gateway.signal(SIGKILL);
  auto will = next_status(platform);
  CHECK_FALSE(will.online());
  CHECK(will.unexpected_disconnect());
}

TEST_CASE("gatewayd continues its sequence numbers after a restart", "[integration][process]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::string config = write_config(dir, broker);
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-proc/event");
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");

  std::vector<std::uint64_t> sequences;
  auto collect = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto message = platform.next(10s);
      REQUIRE(message.has_value());
      v1::SensorEvent event;
      REQUIRE(event.ParseFromString(message->payload));
      sequences.push_back(event.sequence());
    }
  };
  for (int run = 0; run < 2; ++run) {
    eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
    REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));
    sensors.publish("zigbee2mqtt/door_" + std::to_string(run), R"({"contact":false})");
    sensors.publish("zigbee2mqtt/door_" + std::to_string(run), R"({"contact":true})");
    collect(2);
    CHECK(gateway.stop() == 0);
  }
  CHECK(sequences == std::vector<std::uint64_t>{1, 2, 3, 4});
}

TEST_CASE("gatewayd re-reads its device registry on SIGHUP and keeps it when the new file is broken",
          "[integration][process]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::string config = write_config(dir, broker);
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-proc/event");
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));

  auto next_event = [&] {
    auto message = platform.next(10s);
    REQUIRE(message.has_value());
    v1::SensorEvent event;
    REQUIRE(event.ParseFromString(message->payload));
    return event;
  };
  sensors.publish("zigbee2mqtt/hall_door", R"({"contact":false})");
  CHECK(next_event().resident_id().empty());

  std::ofstream(config, std::ios::app) << "\n[[devices]]\nid = \"hall_door\"\nresident = \"r-12\"\nroom = \"12\"\n";
  gateway.signal(SIGHUP);
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "DEVICES_RELOADED count=1"); }));
  sensors.publish("zigbee2mqtt/hall_door", R"({"contact":true})");
  auto registered = next_event();
  CHECK(registered.resident_id() == "r-12");
  CHECK(registered.room() == "12");

  std::ofstream(config, std::ios::app) << "\n[[devices]]\nid = 7\n";  // broken: id must be a string
  gateway.signal(SIGHUP);
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "CONFIG_RELOAD_REJECTED"); }));
  sensors.publish("zigbee2mqtt/hall_door", R"({"contact":false})");
  CHECK(next_event().resident_id() == "r-12");
  CHECK(gateway.stop() == 0);
}

namespace {

// A NOTIFY_SOCKET of our own, as systemd gives a Type=notify service: the
// datagrams gatewayd sends (READY=1, STATUS=...) are collected here.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);  // inherited by the child spawned next
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  // Everything received so far, datagrams joined by newlines.
  const std::string& received() {
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0;) text_ += std::string(buffer, n) + "\n";
    return text_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string text_;
};

}  // namespace

TEST_CASE(
    "gatewayd with its local broker down at boot is READY for systemd, says so in STATUS, and subscribes "
    "when the broker comes",
    "[integration][process]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::string config = write_config(dir, broker);
  broker.stop();  // the local broker is not up yet at boot
  NotifySocket notify(dir.file("notify.sock"));
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
  INFO(gateway.output());
  // Before: READY=1 only once subscribed, so systemd killed the daemon at
  // its start timeout, again and again.
  REQUIRE(eg::test::wait_until([&] { return notify.received().find("READY=1") != std::string::npos; }, 10s));
  CHECK_THAT(notify.received(), Catch::Contains("STATUS=local broker DOWN"));
  CHECK_FALSE(log_has(gateway, "GATEWAY_READY"));
  broker.start();
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  CHECK(eg::test::wait_until(
      [&] { return notify.received().find("STATUS=local broker subscribed") != std::string::npos; }, 10s));
  CHECK(gateway.stop() == 0);
}

namespace {

std::string write_config_with_rules(const eg::test::TempDir& dir, const eg::test::MosquittoBroker& broker,
                                    const std::string& database) {
  std::string path = dir.file("gateway.toml");
  std::ofstream(path) << "[gateway]\nid = \"gw-proc\"\nsite = \"lab\"\ndatabase = \"" << database << "\"\nrules = \""
                      << EG_SOURCE_DIR << "/rules/eldercare-default.toml\"\nmin_free_disk_mb = 0"
                      << "\n\n[local]\nuri = \"" << broker.uri() << "\"\n\n[upstream]\nuri = \"" << broker.uri()
                      << "\"\n\n[[drivers]]\ndriver = \"zigbee2mqtt\"\nbase_topic = \"zigbee2mqtt\"\n";
  return path;
}

// Waits for an alert transition upstream raising `rule`.
bool raised_upstream(eg::test::TestMqttClient& platform, const std::string& rule) {
  for (;;) {
    auto message = platform.next(10s);
    if (!message) return false;
    v1::AlertTransition t;
    if (t.ParseFromString(message->payload) && t.alert().rule_id() == rule && t.to_state() == v1::ALERT_STATE_RAISED)
      return true;
  }
}

}  // namespace

TEST_CASE("gatewayd sets a corrupt database aside, starts with a fresh one and tells the maintainer",
          "[integration][process][store]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::ofstream(dir.file("gw.db")) << std::string(8192, 'x');  // not a database
  std::string config = write_config_with_rules(dir, broker, dir.file("gw.db"));
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-proc/alert");
  eg::test::TestMqttClient events(broker.uri(), "events");
  events.subscribe("eldercare/v1/lab/gw-proc/event");
  // Before: "STORE_OPEN_FAILED ... file is not a database", exit 1, and
  // systemd restarting it for ever with no alarms at all.
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
  INFO(gateway.output());
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  CHECK(log_has(gateway, "STORE_QUARANTINED"));
  bool set_aside = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    set_aside |= entry.path().filename().string().starts_with("gw.db.corrupt-");
  CHECK(set_aside);
  CHECK(raised_upstream(platform, "gateway-store-replaced"));
  // And it works: a sensor alarm goes through the fresh database.
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  sensors.publish("zigbee2mqtt/room301_gas", R"({"gas":true})");
  CHECK(raised_upstream(platform, "gas"));
  CHECK(gateway.stop() == 0);
}

TEST_CASE("gatewayd with an unusable state directory runs on an in-memory store and still raises alarms",
          "[integration][process][store]") {
  eg::test::MosquittoBroker broker;
  eg::test::TempDir dir;
  std::ofstream(dir.file("not-a-directory")) << "x";
  std::string config = write_config_with_rules(dir, broker, dir.file("not-a-directory") + "/gw.db");
  eg::test::TestMqttClient platform(broker.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-proc/alert");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", config}, dir.file("gateway.log"));
  INFO(gateway.output());
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }, 20s));
  CHECK(log_has(gateway, "STORE_IN_MEMORY"));
  CHECK(raised_upstream(platform, "gateway-store-failed"));  // the maintainer is told
  eg::test::TestMqttClient room(broker.uri(), "room");
  room.subscribe("eldercare/local/alarm");
  eg::test::TestMqttClient sensors(broker.uri(), "sensors");
  sensors.publish("zigbee2mqtt/room301_gas", R"({"gas":true})");
  CHECK(raised_upstream(platform, "gas"));
  CHECK(room.next(10s).has_value());  // the room's sounder hears it
  CHECK(gateway.stop() == 0);
}
