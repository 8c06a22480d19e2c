#include "replay.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "alerting.hpp"
#include "eg/drivers/mapped_json.hpp"
#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"
#include "eg/gateway/config.hpp"
#include "eg/rules/engine.hpp"
#include "housekeeping.hpp"
#include "liveness.hpp"
#include "registry.hpp"

namespace eg::test {

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

std::vector<std::string> ReplayResult::raised() const {
  std::vector<std::string> out;
  for (const auto& t : transitions)
    if (t.to_state() == v1::ALERT_STATE_RAISED) out.push_back(t.alert().rule_id());
  return out;
}

bool ReplayResult::raised(const std::string& rule) const {
  auto all = raised();
  return std::find(all.begin(), all.end(), rule) != all.end();
}

WallTime ScenarioReplay::default_start() {
  return WallTime{std::chrono::seconds{1'796'605'200}};  // 2026-12-07T01:00:00Z
}

struct ScenarioReplay::Impl {
  Impl(const std::string& config_toml, WallTime start_time)
      : config(gateway::parse_config(config_toml, EG_SOURCE_DIR "/config/scenario.toml")),
        clock(start_time),
        start(start_time),
        engine(gateway::load_rule_set(config), config.gateway_id),
        liveness([this](const std::string& device) { return config.devices.contains(device); },
                 config.devices.size() + config.max_tracked_devices) {
    // As the gateway builds them: an installer's mappings first, then routes.
    gateway::build_router(config, router, liveness);
    next_minute = clock.steady_now() + 60s;
  }

  void collect(rules::Output out) {
    for (auto& t : out.transitions) {
      std::ostringstream line;
      line << seconds_now() << "s " << t.alert().rule_id() << " " << v1::AlertState_Name(t.to_state()) << " "
           << t.alert().device_id();
      result.log.push_back(line.str());
      result.transitions.push_back(std::move(t));
    }
  }

  double seconds_now() const { return std::chrono::duration<double>(clock.wall_now() - start).count(); }

  // Into the engine as the gateway does: the registry's whereabouts, an id.
  void judge(v1::SensorEvent event) {
    auto device = config.devices.find(event.device_id());
    if (device != config.devices.end()) gateway::annotate(device->second, event);
    event.set_id("ev-" + std::to_string(++next_id));
    if (device != config.devices.end() && gateway::is_cancel(device->second, event))
      return collect(engine.device_cancel(event, config.escalation.cancel_resolves_within, clock.wall_now()));
    collect(engine.on_event(event, clock.wall_now()));
  }

  // Runs the clock to `target`, stopping at every engine deadline and at the
  // gateway's minute tick (the silence check) on the way.
  void advance_to(WallTime target) {
    while (true) {
      WallTime now = clock.wall_now();
      WallTime minute = now + (next_minute - clock.steady_now());
      WallTime next = minute;
      if (auto wakeup = engine.next_wakeup(); wakeup && *wakeup < next) next = std::max(*wakeup, now);
      if (next > target) break;
      clock.advance(next - now);
      if (clock.steady_now() >= next_minute) {
        next_minute += 60s;
        for (const auto& device : liveness.silence().newly_silent(clock.steady_now()))
          judge(
              gateway::Housekeeping::health_event(device, v1::DeviceHealthPayload::CONDITION_SILENT, clock.wall_now()));
      }
      collect(engine.on_time(clock.wall_now()));
    }
    clock.advance(target - clock.wall_now());
  }

  // A member of staff at the console: {"resolve": "<rule id>"} or
  // {"acknowledge": "<rule id>"} for the rule's standing alert.
  void staff(const std::string& payload) {
    auto command = nlohmann::json::parse(payload);
    for (const auto& alert : engine.active_alerts()) {
      if (command.value("resolve", "") == alert.rule_id())
        collect(engine.resolve(alert.id(), "nurse-7", "console", clock.wall_now()));
      else if (command.value("acknowledge", "") == alert.rule_id())
        collect(engine.acknowledge(alert.id(), "nurse-7", "console", clock.wall_now()));
    }
    if (command.contains("away")) {
      WallTime back = start + std::chrono::duration_cast<WallTime::duration>(
                                  std::chrono::duration<double>(command.at("until_s").get<double>()));
      if (!engine.set_away(command.at("away").get<std::string>(), back, clock.wall_now()))
        result.log.push_back("away refused: the rules have no away rule");
    }
    if (command.contains("returned"))
      collect(engine.returned(command.at("returned").get<std::string>(), clock.wall_now()));
  }

  void play(const simulator::ScenarioStep& step) {
    WallTime at = start + std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(step.at_s));
    advance_to(at);
    if (step.topic == kStaffTopic) return staff(step.payload);
    // A retained step at time 0 is what the broker held when the gateway
    // subscribed; a later one reaches a live subscription, which MQTT 3.1.1
    // delivers without the retain flag.
    drivers::Message message{step.topic, step.payload, clock.wall_now(), step.retain && step.at_s <= 0};
    drivers::Driver* driver = router.find(step.topic);
    auto decoded = router.decode(message);
    if (!decoded) {
      if (driver) driver->take_heard();
      result.log.push_back(std::to_string(step.at_s) + "s rejected " + step.topic + ": " + decoded.error().reason);
      return;
    }
    auto events = std::move(decoded.value());
    if (driver)
      for (const auto& device : liveness.heard(*driver, events, clock.steady_now()))
        events.push_back(
            gateway::Housekeeping::health_event(device, v1::DeviceHealthPayload::CONDITION_ONLINE, clock.wall_now()));
    for (auto& event : events) judge(std::move(event));
  }

  gateway::GatewayConfig config;
  ManualClock clock;
  WallTime start;
  drivers::Router router;
  rules::Engine engine;
  gateway::Liveness liveness;
  SteadyTime next_minute;
  std::uint64_t next_id = 0;
  ReplayResult result;
};

ScenarioReplay::ScenarioReplay(const std::string& config_toml, WallTime start)
    : impl_(std::make_unique<Impl>(config_toml, start)) {}

ScenarioReplay::~ScenarioReplay() = default;

ReplayResult ScenarioReplay::run(const std::vector<simulator::ScenarioStep>& steps, double until_s) {
  for (const auto& step : steps) impl_->play(step);
  impl_->advance_to(impl_->start +
                    std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(until_s)));
  return std::move(impl_->result);
}

}  // namespace eg::test
