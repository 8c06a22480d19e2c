// A real full disk under a numbered stream: the gateway's state directory is
// a small tmpfs that this test mounts, fills while 1,500 sensor messages
// arrive, and frees again. Nothing the broker handed over may be lost,
// upstream sequences have no holes, and an SOS pressed while the disk is
// full still reaches the room's alarm topic. Needs root (mount); without it
// the test says so and checks nothing.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/sensor_event.pb.h"
#include "mosquitto.hpp"
#include "mqtt_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

// A size-limited tmpfs at `path`, unmounted when it goes.
class SmallFileSystem {
 public:
  SmallFileSystem(std::string path, std::size_t megabytes) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    std::string options = "size=" + std::to_string(megabytes) + "m";
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallFileSystem() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // Writes a filler file until the file system refuses: it is full.
  void fill() {
    std::ofstream filler(path_ + "/filler", std::ios::binary);
    std::string block(64 * 1024, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) && filler.flush()) {
    }
  }
  void free_space() { std::filesystem::remove(path_ + "/filler"); }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

bool log_has(eg::test::ChildProcess& process, const std::string& text) {
  return process.output().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("a full disk during a numbered stream: nothing lost, no sequence hole, alarms still raised locally",
          "[integration][store-and-forward][disk-full]") {
  eg::test::TempDir dir;
  SmallFileSystem state(dir.file("state"), 8);
  if (!state.mounted()) {
    WARN("not run: cannot mount a tmpfs (" << state.error() << "); needs root, as CI has");
    return;
  }
  eg::test::MosquittoBroker local;
  eg::test::MosquittoBroker upstream;
  {
    std::ofstream config(dir.file("gateway.toml"));
    config << "[gateway]\nid = \"gw-df\"\nsite = \"lab\"\ndatabase = \"" << dir.file("state/gw.db")
           << "\"\nrules = \"rules.toml\"\nmin_free_disk_mb = 0\n\n[local]\nuri = \"" << local.uri()
           << "\"\n\n[upstream]\nuri = \"" << upstream.uri() << "\"\nmax_rate_per_s = 0\n";
    std::ofstream(dir.file("rules.toml")) << "[[ladder]]\nid = \"room\"\n[[ladder.step]]\ntarget = \"local_alarm\"\n"
                                             "timeout = \"10m\"\n\n"
                                             "[[rule]]\nid = \"sos\"\nkind = \"sos\"\n"
                                             "match = { field = \"sos.active\", equals = \"true\" }\n"
                                             "severity = \"high\"\nauto_resolve = false\nladder = \"room\"\n";
  }
  eg::test::TestMqttClient platform(upstream.uri(), "platform");
  platform.subscribe("eldercare/v1/lab/gw-df/event");
  platform.subscribe("eldercare/v1/lab/gw-df/alert");  // transitions share the sequence space
  eg::test::TestMqttClient room(local.uri(), "room-sounder");
  room.subscribe("eldercare/local/alarm");
  eg::test::ChildProcess gateway({EG_GATEWAYD, "-c", dir.file("gateway.toml")}, dir.file("gateway.log"));
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "GATEWAY_READY"); }));
  eg::test::TestMqttClient sensors(local.uri(), "sensors");

  // Message i: device radar-<i / 150>, heart rate 40 + i % 150: each one a
  // new value for its device, so each is one event, recognisable upstream.
  const int kMessages = 1500;
  auto send = [&](int i) {
    sensors.publish("zigbee2mqtt/radar-" + std::to_string(i / 150),
                    "{\"heart_rate\":" + std::to_string(40 + i % 150) + "}");
  };
  std::map<std::string, std::set<int>> received;  // device -> heart rates
  std::set<std::uint64_t> sequences;
  std::size_t events = 0, sos_events = 0;
  std::set<int> store_conditions;  // the gateway's own health events about its store
  auto drain = [&](std::chrono::milliseconds wait) {
    while (auto message = platform.next(wait)) {
      wait = 0ms;
      if (message->topic.ends_with("/alert")) {
        v1::AlertTransition transition;
        REQUIRE(transition.ParseFromString(message->payload));
        sequences.insert(transition.sequence());
        continue;
      }
      v1::SensorEvent event;
      REQUIRE(event.ParseFromString(message->payload));
      sequences.insert(event.sequence());
      ++events;
      if (event.has_vitals()) received[event.device_id()].insert(static_cast<int>(event.vitals().heart_rate_bpm()));
      if (event.has_sos()) ++sos_events;
      if (event.device_id() == "gateway:gw-df/store") store_conditions.insert(event.device_health().condition());
    }
  };

  for (int i = 0; i < 300; ++i) send(i);
  state.fill();
  for (int i = 300; i < 900; ++i) send(i);
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "STORE_FAILED"); }, 30s));

  // An emergency while nothing can be stored: the room still hears it.
  sensors.publish("zigbee2mqtt/sos_button", R"({"action":"emergency"})");
  std::optional<eg::test::ReceivedMessage> alarm;
  REQUIRE(eg::test::wait_until([&] { return (alarm = room.next(100ms)).has_value(); }, 10s));
  CHECK(alarm->payload.find("\"rule\":\"sos\"") != std::string::npos);
  CHECK_FALSE(log_has(gateway, "STORE_WRITABLE"));  // it was raised while the store was failing

  for (int i = 900; i < 1200; ++i) send(i);
  state.free_space();
  REQUIRE(eg::test::wait_until([&] { return log_has(gateway, "STORE_WRITABLE"); }, 30s));
  for (int i = 1200; i < kMessages; ++i) send(i);

  // Everything, at least once: 1,500 readings and the SOS event.
  auto have_all = [&] {
    drain(50ms);
    std::size_t distinct = 0;
    for (const auto& [device, rates] : received) distinct += rates.size();
    return distinct == static_cast<std::size_t>(kMessages) && sos_events >= 1 && store_conditions.size() == 2;
  };
  bool complete = eg::test::wait_until(have_all, 60s);
  std::size_t distinct = 0;
  for (const auto& [device, rates] : received) distinct += rates.size();
  INFO("received " << distinct << " of " << kMessages << " readings; gateway log:\n" << gateway.output());
  CHECK(distinct == static_cast<std::size_t>(kMessages));
  REQUIRE(complete);
  // Gap-free: every number from 1 to the highest seen.
  REQUIRE_FALSE(sequences.empty());
  CHECK(*sequences.begin() == 1);
  CHECK(sequences.size() == *sequences.rbegin());
  // The platform hears of the failure and the recovery, in the same stream.
  CHECK(store_conditions ==
        std::set<int>{v1::DeviceHealthPayload::CONDITION_STORE_FAILED, v1::DeviceHealthPayload::CONDITION_STORE_OK});
  // One failure, one recovery: no flapping while the disk stayed full.
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto at = gateway.output().find(what); at != std::string::npos; at = gateway.output().find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count("STORE_FAILED ") == 1);
  CHECK(count("STORE_WRITABLE ") == 1);
  gateway.signal(SIGTERM);
  CHECK(gateway.wait_exit(5s) == 0);
}
