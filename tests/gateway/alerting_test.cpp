// The rule engine inside the gateway, in virtual time: escalation deadlines
// run on the monotonic clock, so stepping the wall clock (NTP after a boot
// without RTC, an installer setting the date) neither fires every rung at
// once nor freezes the ladder; timestamps and restored state follow the
// wall clock (issue 12 #4).
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <catch2/catch.hpp>

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>

#include "alerting.hpp"

namespace v1 = eldercare::v1;
using eg::gateway::Alerting;
using namespace std::chrono_literals;

namespace {

const char* kRules = R"(
[[ladder]]
id = "life"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "1m"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
  [[ladder.step]]
  target = "platform"
  timeout = "5m"
[[rule]]
id = "fall"
kind = "fall"
ladder = "life"
auto_resolve = false
match = { field = "fall.state", equals = "detected" }
[[rule]]
id = "sos"
kind = "sos"
ladder = "life"
auto_resolve = false
match = { field = "sos.active", equals = "true" }
)";

struct Harness {
  explicit Harness(eg::ManualClock& manual_clock) : clock(manual_clock) {
    config.gateway_id = "gw-1";
    alerting = std::make_unique<Alerting>(
        io, eg::rules::parse_rules(kRules, "rules.toml"), config, clock, metrics,
        Alerting::Hooks{[this](v1::AlertTransition t) { transitions.push_back(std::move(t)); },
                        [this](const std::string& topic, std::string payload) {
                          auto notice = nlohmann::json::parse(payload);
                          local.push_back(topic + " #" + std::to_string(notice["step"].get<int>()));
                        },
                        [](v1::SensorEvent) {}, [](std::string_view, std::string_view) { return std::int64_t{0}; },
                        [](std::int64_t) {}, nullptr});
  }
  // Steps delivered since the last call, as "target #step" from the transitions.
  std::vector<std::string> steps() {
    std::vector<std::string> out;
    for (; seen < transitions.size(); ++seen)
      if (!transitions[seen].escalation_target().empty())
        out.push_back(transitions[seen].escalation_target() + " #" +
                      std::to_string(transitions[seen].escalation_step()));
    return out;
  }
  void press(const std::string& device, const std::string& action = "single") {
    v1::SensorEvent event;
    event.set_id("ev-" + action);
    event.set_kind(v1::EVENT_KIND_SOS_CALL);
    event.set_device_id(device);
    event.set_resident_id("r-301");
    event.mutable_sos()->set_active(true);
    event.mutable_sos()->set_vendor_action(action);
    if (action == "single")
      alerting->on_event(event);
    else
      alerting->on_device_cancel(event);
  }
  void fall() {
    v1::SensorEvent event;
    event.set_id("ev-1");
    event.set_kind(v1::EVENT_KIND_FALL);
    event.set_device_id("radar-301");
    event.set_resident_id("r-301");
    event.mutable_fall()->set_state(v1::FallPayload::STATE_DETECTED);
    alerting->on_event(event);
  }

  eg::ManualClock& clock;
  boost::asio::io_context io;
  eg::gateway::GatewayConfig config;
  eg::gateway::Metrics metrics;
  std::vector<v1::AlertTransition> transitions;
  std::vector<std::string> local;
  std::size_t seen = 0;
  std::unique_ptr<Alerting> alerting;
};

long long seconds_of(const google::protobuf::Timestamp& t) {
  return t.seconds();
}
long long seconds_of(eg::WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("alerting: stepping the wall clock an hour forward fires no rung early", "[gateway][alerting][time]") {
  eg::ManualClock clock;
  Harness h(clock);
  h.alerting->start({}, std::nullopt);
  h.fall();
  CHECK(h.steps() == std::vector<std::string>{"local_alarm #1"});
  clock.step_wall(1h);
  h.alerting->tick();
  CHECK(h.steps().empty());  // on wall-clock differences, nurse and platform fired here
  clock.advance(59s);
  h.alerting->tick();
  CHECK(h.steps().empty());
  clock.advance(1s);
  h.alerting->tick();
  CHECK(h.steps() == std::vector<std::string>{"nurse_station #2"});
  // Timestamps are wall time, step included.
  CHECK(seconds_of(h.transitions.back().time()) == seconds_of(clock.wall_now()));
  CHECK(h.local == std::vector<std::string>{"eldercare/local/alarm #1", "eldercare/local/nurse_station #2"});
}

TEST_CASE("alerting: stepping the wall clock an hour back does not freeze the ladder", "[gateway][alerting][time]") {
  eg::ManualClock clock;
  Harness h(clock);
  h.alerting->start({}, std::nullopt);
  h.fall();
  h.steps();
  clock.step_wall(-1h);
  clock.advance(60s);
  h.alerting->tick();
  CHECK(h.steps() == std::vector<std::string>{"nurse_station #2"});  // on wall time: due in 61 minutes
  clock.advance(120s);
  h.alerting->tick();
  CHECK(h.steps() == std::vector<std::string>{"platform #3"});
}

TEST_CASE("alerting: a restart after a clock step resumes the ladder at its real remaining time",
          "[gateway][alerting][time]") {
  eg::ManualClock clock;
  std::vector<eg::rules::StateRow> rows;
  {
    Harness before(clock);
    before.alerting->start({}, std::nullopt);
    before.fall();
    clock.advance(10s);
    clock.step_wall(1h);  // stepped while the first process runs
    before.alerting->tick();
    rows = before.alerting->all_state_rows();
  }
  Harness after(clock);  // a new process: anchored at today's wall clock
  after.alerting->start(rows, std::nullopt);
  CHECK(after.steps().empty());
  clock.advance(49s);
  after.alerting->tick();
  CHECK(after.steps().empty());
  clock.advance(1s);
  after.alerting->tick();
  CHECK(after.steps() == std::vector<std::string>{"nurse_station #2"});
}

TEST_CASE("alerting: after a reboot into a clock far in the past, deadlines wait no longer than the rules allow",
          "[gateway][alerting][time]") {
  eg::ManualClock clock;
  std::vector<eg::rules::StateRow> rows;
  {
    Harness before(clock);
    before.alerting->start({}, std::nullopt);
    before.fall();
    rows = before.alerting->all_state_rows();
  }
  // No RTC: the box boots in 1970 and NTP has not answered yet.
  eg::ManualClock rebooted(eg::WallTime{std::chrono::seconds(86'400)});
  Harness after(rebooted);
  after.alerting->start(rows, std::nullopt);
  CHECK(after.steps().empty());
  rebooted.advance(5min);  // the longest wait of these rules
  after.alerting->tick();
  CHECK(after.steps() == std::vector<std::string>{"nurse_station #2"});
  CHECK(seconds_of(after.transitions.back().time()) == seconds_of(rebooted.wall_now()));
}

TEST_CASE(
    "alerting: the resident's cancel soon after the call resolves it, a late one only acknowledges, another "
    "device's alarm it leaves alone",
    "[gateway][alerting][cancel]") {
  eg::ManualClock clock;
  Harness h(clock);
  h.alerting->start({}, std::nullopt);
  h.press("pendant-301");
  h.fall();  // a sensor's alarm in the same flat: only the radar (or staff) may end it
  REQUIRE(h.alerting->active_alerts() == 2);
  clock.advance(90s);
  h.transitions.clear();
  h.seen = 0;
  h.press("pendant-301", "double");  // "I'm OK", within the default 120 s
  REQUIRE(h.transitions.size() == 1);
  const auto& sos = h.transitions[0];
  CHECK(sos.alert().rule_id() == "sos");
  CHECK(sos.to_state() == v1::ALERT_STATE_RESOLVED);
  CHECK(sos.actor() == "device:pendant-301");
  CHECK(sos.channel() == "device");
  CHECK(sos.reason() == "cancelled by the resident within 120 s");
  CHECK(h.alerting->active_alerts() == 1);  // the fall, untouched
  CHECK(h.metrics.get("device_cancels_resolved_total") == 1);
  CHECK(h.metrics.get("cancels_from_other_devices_total") == 1);

  // Pressed again and cancelled only after the window: acknowledged, still open.
  h.press("pendant-301");
  clock.advance(121s);
  h.transitions.clear();
  h.press("pendant-301", "double");
  REQUIRE(h.transitions.size() == 1);  // not the fall: another device raised it
  CHECK(h.transitions[0].to_state() == v1::ALERT_STATE_ACKNOWLEDGED);
  CHECK(h.transitions[0].alert().rule_id() == "sos");
  CHECK(h.alerting->active_alerts() == 2);
}
