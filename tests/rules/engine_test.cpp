#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>
#include <set>

#include <chrono>
#include <string>
#include <vector>

#include "eg/rules/engine.hpp"

namespace v1 = eldercare::v1;
using eg::WallTime;
using eg::rules::Engine;
using eg::rules::Output;
using namespace std::chrono_literals;

namespace {

// 2026-01-01 00:00Z: Thursday 08:00 at the default +08:00.
const WallTime kT0{std::chrono::seconds(1'767'225'600)};

// A wall time from a local calendar date and time at +08:00.
WallTime local(std::chrono::year_month_day day, int hour, int minute, int second = 0) {
  return WallTime{std::chrono::sys_days{day}} + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second) - 8h;
}
constexpr auto kFriday = std::chrono::year{2026} / 1 / 2;
constexpr auto kSaturday = std::chrono::year{2026} / 1 / 3;

long long ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

v1::SensorEvent event(v1::EventKind kind, const std::string& id, const std::string& resident,
                      const std::string& device) {
  v1::SensorEvent e;
  e.set_id(id);
  e.set_kind(kind);
  e.set_device_id(device);
  e.set_resident_id(resident);
  e.set_room(resident.empty() ? "kitchen" : "301");
  e.set_bed(resident.empty() ? "" : "A");
  return e;
}
v1::SensorEvent fall(const std::string& id, v1::FallPayload::State state, const std::string& resident = "ann",
                     const std::string& device = "radar-301") {
  auto e = event(v1::EVENT_KIND_FALL, id, resident, device);
  e.mutable_fall()->set_state(state);
  return e;
}
v1::SensorEvent heart(const std::string& id, double bpm, const std::string& resident = "ann") {
  auto e = event(v1::EVENT_KIND_VITALS, id, resident, "bed-radar-" + resident);
  e.mutable_vitals()->set_heart_rate_bpm(bpm);
  return e;
}
v1::SensorEvent motion(const std::string& id, const std::string& resident = "ann") {
  auto e = event(v1::EVENT_KIND_PRESENCE, id, resident, "pir-" + resident);
  e.mutable_presence()->set_present(true);
  return e;
}
v1::SensorEvent door(const std::string& id, bool open, const std::string& resident = "ann") {
  auto e = event(v1::EVENT_KIND_DOOR, id, resident, "door-" + resident);
  e.mutable_door()->set_open(open);
  return e;
}
v1::SensorEvent sos(const std::string& id, bool active, const std::string& resident = "ann") {
  auto e = event(v1::EVENT_KIND_SOS_CALL, id, resident, "pendant-" + resident);
  e.mutable_sos()->set_active(active);
  return e;
}
v1::SensorEvent leak(const std::string& id, bool wet) {
  auto e = event(v1::EVENT_KIND_WATER_LEAK, id, "", "leak-kitchen");
  e.mutable_water_leak()->set_leak(wet);
  return e;
}

constexpr auto kNone = v1::FallPayload::STATE_NONE;
constexpr auto kSuspected = v1::FallPayload::STATE_SUSPECTED;
constexpr auto kDetected = v1::FallPayload::STATE_DETECTED;

// Ladders shared by the rule files below: 30 s, 2 min and 10 min rungs.
const std::string kLadders = R"(
[[ladder]]
id = "fall"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "30s"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
  [[ladder.step]]
  target = "family"
  timeout = "10m"

[[ladder]]
id = "nag"
repeat_last_every = "5m"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "30s"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
)";

eg::rules::RuleSet rule_set(const std::string& rules) {
  return eg::rules::parse_rules(kLadders + rules, "rules.toml");
}
Engine engine_for(const std::string& rules) {
  return Engine(rule_set(rules), "gw-1");
}

std::string state_name(v1::AlertState s) {
  switch (s) {
    case v1::ALERT_STATE_UNSPECIFIED:
      return "none";
    case v1::ALERT_STATE_RAISED:
      return "raised";
    case v1::ALERT_STATE_ESCALATING:
      return "escalating";
    case v1::ALERT_STATE_ACKNOWLEDGED:
      return "acknowledged";
    case v1::ALERT_STATE_RESOLVED:
      return "resolved";
    default:
      return "?";
  }
}

// "raised>escalating #1 local_alarm (first step)": one line per transition.
std::vector<std::string> describe(const Output& out) {
  std::vector<std::string> lines;
  for (const auto& t : out.transitions) {
    std::string line = state_name(t.from_state()) + ">" + state_name(t.to_state());
    if (!t.escalation_target().empty())
      line += " #" + std::to_string(t.escalation_step()) + " " + t.escalation_target();
    lines.push_back(line + " (" + t.reason() + ")");
  }
  return lines;
}
std::vector<std::string> targets(const Output& out) {
  std::vector<std::string> lines;
  for (const auto& d : out.deliveries) lines.push_back(d.target + " #" + std::to_string(d.step));
  return lines;
}
using Lines = std::vector<std::string>;
Lines evidence(const v1::Alert& alert) {
  return {alert.evidence_event_ids().begin(), alert.evidence_event_ids().end()};
}

const Lines kRaisedAndFirstStep = {"none>raised (condition met)", "raised>escalating #1 local_alarm (first step)"};

const std::string kFallRule = R"(
[[rule]]
id = "fall"
summary = "Fall"
kind = "fall"
ladder = "fall"
match = { field = "fall.state", equals = ["suspected", "detected"] }
severity_by_value = { suspected = "medium", detected = "high" }
)";

}  // namespace

// ---------------------------------------------------------------------------
// Raising and the alert itself

TEST_CASE("a detected fall raises one alert for the resident and starts the ladder at once", "[rules]") {
  Engine engine = engine_for(kFallRule);
  Output out = engine.on_event(fall("ev-1", kDetected), kT0);

  CHECK(describe(out) == kRaisedAndFirstStep);
  CHECK(targets(out) == Lines{"local_alarm #1"});
  REQUIRE(out.transitions.size() == 2);
  const auto& raised = out.transitions[0];
  std::string id = "fall:ann:" + std::to_string(ms(kT0));
  CHECK(raised.alert_id() == id);
  CHECK(raised.gateway_id() == "gw-1");
  CHECK(raised.actor() == "rule-engine");
  CHECK(raised.channel() == "rules");
  CHECK(raised.escalation_step() == 0);
  CHECK(raised.time().seconds() == 1'767'225'600);
  const auto& alert = raised.alert();
  CHECK(alert.id() == id);
  CHECK(alert.gateway_id() == "gw-1");
  CHECK(alert.rule_id() == "fall");
  CHECK(alert.resident_id() == "ann");
  CHECK(alert.device_id() == "radar-301");
  CHECK(alert.room() == "301");
  CHECK(alert.bed() == "A");
  CHECK(alert.severity() == v1::SEVERITY_HIGH);
  CHECK(alert.state() == v1::ALERT_STATE_RAISED);
  CHECK(alert.trigger_count() == 1);
  CHECK(alert.raised_time().seconds() == 1'767'225'600);
  CHECK(alert.summary() == "Fall in room 301");
  CHECK(evidence(alert) == Lines{"ev-1"});

  const auto& step = out.transitions[1];
  CHECK(step.alert_id() == id);
  CHECK(step.escalation_step() == 1);
  CHECK(step.alert().state() == v1::ALERT_STATE_ESCALATING);
  CHECK(step.alert().escalation_step() == 1);
  REQUIRE(out.deliveries.size() == 1);
  CHECK(out.deliveries[0].alert.id() == id);
  CHECK(out.deliveries[0].alert.state() == v1::ALERT_STATE_ESCALATING);

  REQUIRE(engine.active_alerts().size() == 1);
  CHECK(engine.active_alerts()[0].state() == v1::ALERT_STATE_ESCALATING);
  CHECK(engine.next_wakeup() == kT0 + 30s);
}

TEST_CASE("an event that does not meet the condition or the selector raises nothing", "[rules]") {
  Engine engine = engine_for(kFallRule + R"(
[[rule]]
id = "kitchen_leak"
kind = "water_leak"
room = "kitchen"
device = "leak-kitchen"
match = { field = "water_leak.leak", equals = "true" }
)");
  CHECK(engine.on_event(fall("ev-1", kNone), kT0).empty());
  CHECK(engine.on_event(door("ev-2", true), kT0).empty());  // another kind
  auto wrong_room = leak("ev-3", true);
  wrong_room.set_room("bathroom");
  CHECK(engine.on_event(wrong_room, kT0).empty());
  auto wrong_device = leak("ev-4", true);
  wrong_device.set_device_id("leak-bathroom");
  CHECK(engine.on_event(wrong_device, kT0).empty());
  auto no_payload = event(v1::EVENT_KIND_FALL, "ev-5", "ann", "radar-301");
  CHECK(engine.on_event(no_payload, kT0).empty());
  CHECK(engine.active_alerts().empty());
  CHECK_FALSE(engine.next_wakeup());

  CHECK(describe(engine.on_event(leak("ev-6", true), kT0)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("an event without a resident makes the device the alert's subject", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "leak"
kind = "water_leak"
match = { field = "water_leak.leak", equals = "true" }
)");
  Output out = engine.on_event(leak("ev-1", true), kT0);
  CHECK(describe(out) == Lines{"none>raised (condition met)"});  // no ladder: raised and no more
  CHECK(out.deliveries.empty());
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].alert().id() == "leak:leak-kitchen:" + std::to_string(ms(kT0)));
  CHECK(out.transitions[0].alert().resident_id().empty());
  CHECK(out.transitions[0].alert().summary() == "leak in room kitchen");
  CHECK(out.transitions[0].alert().severity() == v1::SEVERITY_MEDIUM);
  CHECK_FALSE(engine.next_wakeup());
}

TEST_CASE("one alert stands per rule and subject: residents apart, devices of one resident together", "[rules]") {
  Engine engine = engine_for(kFallRule);
  CHECK(describe(engine.on_event(fall("ev-1", kDetected, "ann", "radar-301"), kT0)) == kRaisedAndFirstStep);
  CHECK(describe(engine.on_event(fall("ev-2", kDetected, "bob", "radar-302"), kT0 + 1s)) == kRaisedAndFirstStep);
  // Ann's second radar sees the same fall: the standing alert covers it.
  CHECK(engine.on_event(fall("ev-3", kDetected, "ann", "radar-301-bath"), kT0 + 2s).empty());
  auto alerts = engine.active_alerts();
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].resident_id() == "ann");
  CHECK(alerts[1].resident_id() == "bob");
  CHECK(alerts[1].id() == "fall:bob:" + std::to_string(ms(kT0 + 1s)));
}

// ---------------------------------------------------------------------------
// Escalation ladders

TEST_CASE("an unacknowledged alert climbs the ladder at each step's deadline and then waits", "[rules]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected), kT0);

  CHECK(engine.on_time(kT0 + 29s).empty());
  Output second = engine.on_time(kT0 + 30s);
  CHECK(describe(second) == Lines{"escalating>escalating #2 nurse_station (no acknowledgement within 30 s)"});
  CHECK(targets(second) == Lines{"nurse_station #2"});
  CHECK(second.deliveries[0].alert.escalation_step() == 2);
  CHECK(engine.next_wakeup() == kT0 + 30s + 2min);

  CHECK(engine.on_time(kT0 + 30s + 2min - 1ms).empty());
  Output third = engine.on_time(kT0 + 30s + 2min);
  CHECK(describe(third) == Lines{"escalating>escalating #3 family (no acknowledgement within 120 s)"});
  CHECK(targets(third) == Lines{"family #3"});

  // The last step without repeat_last_every: nothing more until someone acts.
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 24h).empty());
  REQUIRE(engine.active_alerts().size() == 1);
  CHECK(engine.active_alerts()[0].escalation_step() == 3);
}

TEST_CASE("a late wake-up fires every step that fell due, with deadlines from when each was due", "[rules]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected), kT0);
  // Woken 40 s late for step 2: step 3 stays at 30 s + 2 min, not 70 s + 2 min.
  CHECK(targets(engine.on_time(kT0 + 70s)) == Lines{"nurse_station #2"});
  CHECK(engine.next_wakeup() == kT0 + 150s);
  // Asleep through everything: both missing steps at once, in order.
  Engine sleepy = engine_for(kFallRule);
  sleepy.on_event(fall("ev-1", kDetected), kT0);
  CHECK(targets(sleepy.on_time(kT0 + 1h)) == Lines{"nurse_station #2", "family #3"});
}

TEST_CASE("repeat_last_every re-delivers the last step until someone acknowledges", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "sos"
kind = "sos"
ladder = "nag"
match = { field = "sos.active", equals = "true" }
)");
  engine.on_event(sos("ev-1", true), kT0);
  CHECK(targets(engine.on_time(kT0 + 30s)) == Lines{"nurse_station #2"});
  // First repeat at the last step's due time plus its timeout, then every 5 minutes.
  CHECK(engine.next_wakeup() == kT0 + 30s + 2min);
  Output repeat = engine.on_time(kT0 + 30s + 2min);
  CHECK(describe(repeat) ==
        Lines{"escalating>escalating #2 nurse_station (repeat of the last step: still no acknowledgement)"});
  CHECK(targets(repeat) == Lines{"nurse_station #2"});
  CHECK(engine.next_wakeup() == kT0 + 30s + 7min);
  CHECK(engine.on_time(kT0 + 30s + 7min - 1s).empty());
  CHECK(targets(engine.on_time(kT0 + 30s + 7min)) == Lines{"nurse_station #2"});
  CHECK(engine.next_wakeup() == kT0 + 30s + 12min);

  std::string id = engine.active_alerts().at(0).id();
  CHECK(describe(engine.acknowledge(id, "nurse-7", "console", kT0 + 10min)) ==
        Lines{"escalating>acknowledged (acknowledged)"});
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 2h).empty());
}

TEST_CASE("a one-step ladder with a repeat re-delivers its only step", "[rules]") {
  Engine engine(eg::rules::parse_rules(R"(
[[ladder]]
id = "bell"
repeat_last_every_s = 60
  [[ladder.step]]
  target = "local_alarm"
  timeout = "20s"
[[rule]]
id = "sos"
ladder = "bell"
match = { field = "sos.active", equals = "true" }
)",
                                       "rules.toml"),
                "gw-1");
  CHECK(targets(engine.on_event(sos("ev-1", true), kT0)) == Lines{"local_alarm #1"});
  CHECK(engine.next_wakeup() == kT0 + 20s);
  CHECK(targets(engine.on_time(kT0 + 20s)) == Lines{"local_alarm #1"});
  CHECK(engine.next_wakeup() == kT0 + 80s);
}

TEST_CASE("repeats missed during a long sleep are delivered once, not once per missed period", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "sos"
ladder = "nag"
match = { field = "sos.active", equals = "true" }
)");
  engine.on_event(sos("ev-1", true), kT0);
  // Due by 10 h: step 2 at 30 s, then repeats at 2:30, 7:30, ... 9:57:30. The
  // late step 2 covers them all.
  Output out = engine.on_time(kT0 + 10h);
  CHECK(targets(out) == Lines{"nurse_station #2"});
  // The next repeat keeps its rhythm: 2:30 + k * 5 min, the first one after now.
  CHECK(engine.next_wakeup() == kT0 + 10h + 2min + 30s);
  CHECK(engine.on_time(kT0 + 10h + 1min).empty());
  // Asleep again through three repeats: one delivery.
  CHECK(targets(engine.on_time(kT0 + 10h + 17min)) == Lines{"nurse_station #2"});
  CHECK(engine.next_wakeup() == kT0 + 10h + 17min + 30s);
}

// Issue 12 #2: the ladder reaches a responder, or says that it could not.
const std::string kFourRungs = R"(
[[ladder]]
id = "life"
repeat_every = "5m"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "1m"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
  [[ladder.step]]
  target = "family"
  timeout = "5m"
  [[ladder.step]]
  target = "operator"
  timeout = "5m"
[[rule]]
id = "sos"
kind = "sos"
ladder = "life"
match = { field = "sos.active", equals = "true" }
)";

TEST_CASE("repeat_every repeats the whole ladder, every rung in order", "[rules]") {
  Engine engine(eg::rules::parse_rules(kFourRungs, "rules.toml"), "gw-1");
  engine.on_event(sos("ev-1", true), kT0);
  engine.on_time(kT0 + 1min);
  engine.on_time(kT0 + 3min);
  CHECK(targets(engine.on_time(kT0 + 8min)) == Lines{"operator #4"});
  CHECK(engine.next_wakeup() == kT0 + 13min);
  Output repeat = engine.on_time(kT0 + 13min);
  CHECK(targets(repeat) == Lines{"local_alarm #1", "nurse_station #2", "family #3", "operator #4"});
  CHECK(repeat.transitions.at(0).reason() == "repeat of the ladder: still no acknowledgement");
  CHECK(engine.active_alerts().at(0).escalation_step() == 4);
  CHECK(engine.next_wakeup() == kT0 + 18min);
}

TEST_CASE("a rung that cannot deliver is recorded as failed and the next rung follows at once", "[rules]") {
  Engine engine(eg::rules::parse_rules(kFourRungs, "rules.toml"), "gw-1");
  std::set<std::string> down = {"family"};
  engine.set_reachability([&](const std::string& target, const v1::Alert&) { return !down.contains(target); });
  engine.on_event(sos("ev-1", true), kT0);
  engine.on_time(kT0 + 1min);
  Output out = engine.on_time(kT0 + 3min);
  CHECK(describe(out) ==
        Lines{"escalating>escalating #3 family (no acknowledgement within 120 s; family cannot be reached: not "
              "delivered)",
              "escalating>escalating #4 operator (step 3 (family) cannot be reached)"});
  CHECK(out.transitions.at(0).delivery() == v1::DELIVERY_FAILED);
  CHECK(out.transitions.at(1).delivery() == v1::DELIVERY_UNSPECIFIED);
  CHECK(targets(out) == Lines{"operator #4"});
  REQUIRE(out.undeliverable.size() == 1);
  CHECK(out.undeliverable[0].target == "family");
  // The operator's own timeout runs from now: no waiting on the family's 5 minutes.
  CHECK(engine.next_wakeup() == kT0 + 3min + 5min);
  // The repeat skips the family again, and says so.
  Output repeat = engine.on_time(kT0 + 8min);
  CHECK(targets(repeat) == Lines{"local_alarm #1", "nurse_station #2", "operator #4"});
  CHECK(repeat.undeliverable.size() == 1);
}

TEST_CASE("a ladder whose last rungs cannot deliver ends with them recorded, not delivered", "[rules]") {
  Engine engine(eg::rules::parse_rules(kFourRungs, "rules.toml"), "gw-1");
  engine.set_reachability(
      [](const std::string& target, const v1::Alert&) { return target != "family" && target != "operator"; });
  engine.on_event(sos("ev-1", true), kT0);
  engine.on_time(kT0 + 1min);
  Output out = engine.on_time(kT0 + 3min);
  CHECK(targets(out).empty());
  CHECK(out.undeliverable.size() == 2);
  CHECK_FALSE(out.empty());
}

TEST_CASE("repeat = last and repeat_last_every repeat only the last rung, both spellings together are refused",
          "[rules]") {
  auto set = eg::rules::parse_rules(R"(
[[ladder]]
id = "l"
repeat_every = "5m"
repeat = "last"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "1m"
)",
                                    "rules.toml");
  CHECK_FALSE(set.ladders.at("l").repeat_all);
  CHECK(set.ladders.at("l").repeat_every == 5min);
  CHECK_THROWS_WITH(eg::rules::parse_rules(R"(
[[ladder]]
id = "l"
repeat_every = "5m"
repeat_last_every = "5m"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "1m"
)",
                                           "rules.toml"),
                    Catch::Contains("not both"));
  CHECK_THROWS_WITH(eg::rules::parse_rules(R"(
[[ladder]]
id = "l"
repeat = "sometimes"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "1m"
)",
                                           "rules.toml"),
                    Catch::Contains("rules.toml:4") && Catch::Contains("\"all\" or \"last\""));
}

TEST_CASE("acknowledging stops the ladder, a second ack and an unknown id change nothing", "[rules]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected), kT0);
  std::string id = engine.active_alerts().at(0).id();

  Output ack = engine.acknowledge(id, "nurse-7", "console", kT0 + 10s);
  REQUIRE(ack.transitions.size() == 1);
  const auto& t = ack.transitions[0];
  CHECK(t.from_state() == v1::ALERT_STATE_ESCALATING);
  CHECK(t.to_state() == v1::ALERT_STATE_ACKNOWLEDGED);
  CHECK(t.actor() == "nurse-7");
  CHECK(t.channel() == "console");
  CHECK(t.reason() == "acknowledged");
  CHECK(t.escalation_step() == 1);
  CHECK(t.time().seconds() == 1'767'225'610);
  CHECK(ack.deliveries.empty());

  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 30s).empty());
  CHECK(engine.on_time(kT0 + 1h).empty());
  CHECK(engine.acknowledge(id, "nurse-7", "console", kT0 + 20s).empty());
  CHECK(engine.acknowledge(id, "nurse-9", "platform", kT0 + 21s).empty());
  CHECK(engine.acknowledge("fall:ann:1", "nurse-7", "console", kT0 + 20s).empty());
  CHECK(engine.resolve("fall:ann:1", "nurse-7", "console", kT0 + 20s).empty());
  REQUIRE(engine.active_alerts().size() == 1);
  CHECK(engine.active_alerts()[0].state() == v1::ALERT_STATE_ACKNOWLEDGED);
}

// Issue 12 #1: acknowledged is not finished.
const std::string kRealertLadders = R"(
[[ladder]]
id = "life"
realert_after = "10m"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "30s"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
[[rule]]
id = "fall"
kind = "fall"
ladder = "life"
auto_resolve = false
match = { field = "fall.state", equals = ["suspected", "detected"] }
[[rule]]
id = "sos"
kind = "sos"
ladder = "life"
auto_resolve = false
retrigger = "each_event"
realert_after = "5m"
match = { field = "sos.active", equals = "true" }
)";

TEST_CASE("an acknowledged alert nobody resolves re-alerts from the first rung after realert_after", "[rules]") {
  Engine engine(eg::rules::parse_rules(kRealertLadders, "rules.toml"), "gw-1");
  engine.on_event(fall("ev-1", kDetected), kT0);
  std::string id = engine.active_alerts().at(0).id();
  CHECK(engine.active_alerts().at(0).episode() == 1);
  engine.acknowledge(id, "nurse-7", "console", kT0 + 20s);
  CHECK(engine.next_wakeup() == kT0 + 20s + 10min);
  CHECK(engine.on_time(kT0 + 20s + 10min - 1s).empty());

  Output realert = engine.on_time(kT0 + 20s + 10min);
  CHECK(describe(realert) == Lines{"acknowledged>raised (acknowledged but not resolved within 600 s: episode 2)",
                                   "raised>escalating #1 local_alarm (first step)"});
  CHECK(targets(realert) == Lines{"local_alarm #1"});
  CHECK(realert.transitions.back().alert().episode() == 2);
  CHECK(targets(engine.on_time(kT0 + 20s + 10min + 30s)) == Lines{"nurse_station #2"});

  // Acknowledged again and then resolved by hand: nothing comes back.
  engine.acknowledge(id, "nurse-7", "console", kT0 + 11min);
  CHECK(engine.next_wakeup() == kT0 + 21min);
  engine.resolve(id, "nurse-7", "console", kT0 + 12min);
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.active_count() == 0);
}

TEST_CASE("a rule's realert_after overrides its ladder's, and an SOS pressed again re-raises at once", "[rules]") {
  Engine engine(eg::rules::parse_rules(kRealertLadders, "rules.toml"), "gw-1");
  engine.on_event(sos("ev-1", true), kT0);
  std::string id = engine.active_alerts().at(0).id();
  engine.acknowledge(id, "nurse-7", "console", kT0 + 10s);
  CHECK(engine.next_wakeup() == kT0 + 10s + 5min);
  // Pressed again while acknowledged: every press is news for this rule.
  Output again = engine.on_event(sos("ev-2", true), kT0 + 1min);
  CHECK(describe(again) == Lines{"acknowledged>raised (re-triggered while acknowledged: episode 2)",
                                 "raised>escalating #1 local_alarm (first step)"});
  // While the new episode escalates, a third press counts without a new episode.
  CHECK(describe(engine.on_event(sos("ev-3", true), kT0 + 70s)) == Lines{"escalating>escalating (re-triggered)"});
  CHECK(engine.active_alerts().at(0).trigger_count() == 3);
}

TEST_CASE("a condition that only stays true while acknowledged is one episode, not a new trigger", "[rules]") {
  Engine engine(eg::rules::parse_rules(kRealertLadders, "rules.toml"), "gw-1");
  engine.on_event(fall("ev-1", kDetected), kT0);
  engine.acknowledge(engine.active_alerts().at(0).id(), "nurse-7", "console", kT0 + 5s);
  // The radar repeats "detected" (no rising edge): the nurse is on her way.
  CHECK(engine.on_event(fall("ev-2", kDetected), kT0 + 30s).empty());
  CHECK(engine.active_alerts().at(0).state() == v1::ALERT_STATE_ACKNOWLEDGED);
}

TEST_CASE("the re-alert deadline of an acknowledged alert survives a restore", "[rules]") {
  Engine engine(eg::rules::parse_rules(kRealertLadders, "rules.toml"), "gw-1");
  engine.on_event(fall("ev-1", kDetected), kT0);
  engine.acknowledge(engine.active_alerts().at(0).id(), "nurse-7", "console", kT0 + 20s);
  Engine restored(eg::rules::parse_rules(kRealertLadders, "rules.toml"), "gw-1");
  restored.restore_rows(engine.all_rows());
  CHECK(restored.next_wakeup() == kT0 + 20s + 10min);
  CHECK(targets(restored.on_time(kT0 + 20s + 10min)) == Lines{"local_alarm #1"});
}

TEST_CASE("an alert without a ladder can be acknowledged from raised", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "door"
match = { field = "door.open", equals = "true" }
)");
  engine.on_event(door("ev-1", true), kT0);
  std::string id = engine.active_alerts().at(0).id();
  CHECK(describe(engine.acknowledge(id, "nurse-7", "console", kT0 + 1s)) ==
        Lines{"raised>acknowledged (acknowledged)"});
}

// ---------------------------------------------------------------------------
// Clearing, resolving and re-triggering

TEST_CASE("an alert resolves when its condition clears, and the next trigger is a new alert", "[rules]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected), kT0);
  std::string first = engine.active_alerts().at(0).id();

  Output cleared = engine.on_event(fall("ev-2", kNone), kT0 + 10s);
  CHECK(describe(cleared) == Lines{"escalating>resolved (condition cleared)"});
  CHECK(cleared.transitions.at(0).alert_id() == first);
  CHECK(cleared.deliveries.empty());
  CHECK(engine.active_alerts().empty());
  CHECK_FALSE(engine.next_wakeup());  // the ladder went with the alert
  CHECK(engine.on_time(kT0 + 30s).empty());

  Output again = engine.on_event(fall("ev-3", kSuspected), kT0 + 60s);
  CHECK(describe(again) == kRaisedAndFirstStep);
  CHECK(again.transitions.at(0).alert_id() == "fall:ann:" + std::to_string(ms(kT0 + 60s)));
  CHECK(again.transitions.at(0).alert().trigger_count() == 1);
  CHECK(again.transitions.at(0).alert().severity() == v1::SEVERITY_MEDIUM);
}

TEST_CASE("an acknowledged alert still resolves when its condition clears", "[rules]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected), kT0);
  engine.acknowledge(engine.active_alerts().at(0).id(), "nurse-7", "console", kT0 + 5s);
  CHECK(describe(engine.on_event(fall("ev-2", kNone), kT0 + 10s)) ==
        Lines{"acknowledged>resolved (condition cleared)"});
}

const std::string kManualFallRule = R"(
[[rule]]
id = "fall"
kind = "fall"
auto_resolve = false
match = { field = "fall.state", equals = ["suspected", "detected"] }
severity_by_value = { suspected = "medium", detected = "high" }
)";

TEST_CASE("with auto_resolve = false an alert outlives its condition until resolved by hand", "[rules]") {
  Engine engine = engine_for(kManualFallRule);
  engine.on_event(fall("ev-1", kDetected), kT0);
  std::string id = engine.active_alerts().at(0).id();
  CHECK(engine.on_event(fall("ev-2", kNone), kT0 + 10s).empty());
  REQUIRE(engine.active_alerts().size() == 1);

  Output resolved = engine.resolve(id, "nurse-7", "console", kT0 + 60s);
  CHECK(describe(resolved) == Lines{"raised>resolved (resolved by hand)"});
  CHECK(resolved.transitions.at(0).actor() == "nurse-7");
  CHECK(resolved.transitions.at(0).channel() == "console");
  CHECK(engine.active_alerts().empty());
  CHECK(engine.resolve(id, "nurse-7", "console", kT0 + 61s).empty());
}

TEST_CASE("resolving by hand while the condition holds is not undone by the timer", "[rules]") {
  Engine engine = engine_for(kManualFallRule);
  engine.on_event(fall("ev-1", kSuspected), kT0);
  engine.resolve(engine.active_alerts().at(0).id(), "nurse-7", "console", kT0 + 60s);

  // Nothing is pending: no wake-up in the past, no alert raised again by time alone.
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 60s).empty());
  CHECK(engine.on_time(kT0 + 1h).empty());
  CHECK(engine.active_alerts().empty());

  // The radar reporting the fall again is news: a new alert, at its worst value.
  Output again = engine.on_event(fall("ev-2", kDetected), kT0 + 2h);
  CHECK(describe(again) == Lines{"none>raised (condition met)"});
  CHECK(again.transitions.at(0).alert_id() == "fall:ann:" + std::to_string(ms(kT0 + 2h)));
  CHECK(again.transitions.at(0).alert().severity() == v1::SEVERITY_HIGH);
  CHECK(again.transitions.at(0).alert().trigger_count() == 1);
}

TEST_CASE("an SOS button pressed again after its alert was resolved raises a new alert", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "sos"
kind = "sos"
auto_resolve = false
ladder = "fall"
match = { field = "sos.active", equals = "true" }
)");
  // A press-style button reports active = true on every press and never false.
  CHECK(describe(engine.on_event(sos("ev-1", true), kT0)) == kRaisedAndFirstStep);
  CHECK(engine.on_event(sos("ev-2", true), kT0 + 10s).empty());  // the call already stands
  engine.resolve(engine.active_alerts().at(0).id(), "nurse-7", "console", kT0 + 5min);
  CHECK(engine.on_time(kT0 + 6min).empty());
  Output again = engine.on_event(sos("ev-3", true), kT0 + 20min);
  CHECK(describe(again) == kRaisedAndFirstStep);
  CHECK(again.transitions.at(0).alert_id() == "sos:ann:" + std::to_string(ms(kT0 + 20min)));
  CHECK(evidence(again.transitions.at(0).alert()) == Lines{"ev-3"});
}

TEST_CASE("a rising edge after an acknowledgement re-triggers the same alert", "[rules]") {
  Engine engine = engine_for(kManualFallRule);
  engine.on_event(fall("ev-1", kSuspected), kT0);
  std::string id = engine.active_alerts().at(0).id();
  engine.acknowledge(id, "nurse-7", "console", kT0 + 5s);
  CHECK(engine.on_event(fall("ev-2", kNone), kT0 + 10s).empty());

  // A second fall while the first is acknowledged is told again: a new
  // episode of the same alert (this rule has no ladder to climb).
  Output again = engine.on_event(fall("ev-3", kSuspected), kT0 + 20s);
  CHECK(describe(again) == Lines{"acknowledged>raised (re-triggered while acknowledged: episode 2)"});
  const auto& alert = again.transitions.back().alert();
  CHECK(alert.id() == id);
  CHECK(alert.episode() == 2);
  CHECK(alert.trigger_count() == 2);
  CHECK(evidence(alert) == Lines{"ev-1", "ev-3"});
  CHECK(alert.severity() == v1::SEVERITY_MEDIUM);
  CHECK(alert.raised_time().seconds() == 1'767'225'600);
  CHECK(engine.active_alerts().size() == 1);
  CHECK(engine.active_alerts()[0].state() == v1::ALERT_STATE_RAISED);
}

TEST_CASE("a worse value raises the severity of the standing alert, and a milder one never lowers it", "[rules]") {
  Engine engine = engine_for(kFallRule);
  Output suspected = engine.on_event(fall("ev-1", kSuspected), kT0);
  CHECK(suspected.transitions.at(0).alert().severity() == v1::SEVERITY_MEDIUM);
  CHECK(engine.on_event(fall("ev-2", kSuspected), kT0 + 1s).empty());  // still the same: nothing new

  Output detected = engine.on_event(fall("ev-3", kDetected), kT0 + 2s);
  CHECK(describe(detected) == Lines{"escalating>escalating (severity raised to SEVERITY_HIGH)"});
  CHECK(detected.deliveries.empty());
  const auto& alert = detected.transitions.at(0).alert();
  CHECK(alert.severity() == v1::SEVERITY_HIGH);
  CHECK(alert.trigger_count() == 2);
  CHECK(alert.evidence_event_ids_size() == 2);
  CHECK(alert.evidence_event_ids(1) == "ev-3");

  CHECK(engine.on_event(fall("ev-4", kSuspected), kT0 + 3s).empty());
  CHECK(engine.on_event(fall("ev-5", kDetected), kT0 + 4s).empty());
  CHECK(engine.active_alerts().at(0).severity() == v1::SEVERITY_HIGH);
  // The ladder kept its own time through all of it.
  CHECK(engine.next_wakeup() == kT0 + 30s);
}

// ---------------------------------------------------------------------------
// Thresholds and durations

const std::string kTachycardia = R"(
[[rule]]
id = "tachycardia"
kind = "vitals"
threshold = { field = "vitals.heart_rate_bpm", above = 120, clear_below = 110 }
)";

TEST_CASE("a threshold with hysteresis raises above its mark and clears only below the clear mark", "[rules]") {
  Engine engine = engine_for(kTachycardia);
  CHECK(engine.on_event(heart("ev-1", 120), kT0).empty());  // not above
  CHECK(describe(engine.on_event(heart("ev-2", 125), kT0 + 1s)) == Lines{"none>raised (condition met)"});
  CHECK(engine.on_event(heart("ev-3", 115), kT0 + 2s).empty());
  CHECK(engine.on_event(heart("ev-4", 110), kT0 + 3s).empty());  // at the clear mark: still raised
  CHECK(engine.active_alerts().size() == 1);
  CHECK(describe(engine.on_event(heart("ev-5", 105), kT0 + 4s)) == Lines{"raised>resolved (condition cleared)"});
  CHECK(engine.on_event(heart("ev-6", 115), kT0 + 5s).empty());  // below the raise mark again
  CHECK(describe(engine.on_event(heart("ev-7", 121), kT0 + 6s)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("a below threshold raises under its mark and clears above clear_above", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "bradycardia"
threshold = { field = "vitals.heart_rate_bpm", below = 45, clear_above = 50 }
)");
  CHECK(describe(engine.on_event(heart("ev-1", 40), kT0)) == Lines{"none>raised (condition met)"});
  CHECK(engine.on_event(heart("ev-2", 48), kT0 + 1s).empty());
  CHECK(describe(engine.on_event(heart("ev-3", 51), kT0 + 2s)) == Lines{"raised>resolved (condition cleared)"});
}

TEST_CASE("a threshold without a clear mark clears below its raise mark", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "fever"
threshold = { field = "vitals.heart_rate_bpm", above = 100 }
)");
  CHECK(describe(engine.on_event(heart("ev-1", 101), kT0)) == Lines{"none>raised (condition met)"});
  CHECK(engine.on_event(heart("ev-2", 100), kT0 + 1s).empty());
  CHECK(describe(engine.on_event(heart("ev-3", 99.9), kT0 + 2s)) == Lines{"raised>resolved (condition cleared)"});
}

const std::string kSustainedTachycardia = R"(
[[rule]]
id = "tachycardia"
kind = "vitals"
threshold = { field = "vitals.heart_rate_bpm", above = 120, clear_below = 110, for = "60s" }
)";

TEST_CASE("a condition with a duration raises once it has held that long, from on_time", "[rules]") {
  Engine engine = engine_for(kSustainedTachycardia);
  CHECK(engine.on_event(heart("ev-1", 130), kT0).empty());
  CHECK(engine.next_wakeup() == kT0 + 60s);
  CHECK(engine.on_event(heart("ev-2", 115), kT0 + 30s).empty());  // hysteresis: still holding
  CHECK(engine.on_time(kT0 + 59s).empty());
  Output out = engine.on_time(kT0 + 60s);
  CHECK(describe(out) == Lines{"none>raised (condition met)"});
  // The alert carries the last event that kept the condition true.
  CHECK(out.transitions.at(0).alert().evidence_event_ids(0) == "ev-2");
  CHECK(out.transitions.at(0).alert().raised_time().seconds() == 1'767'225'660);
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 61s).empty());
  CHECK(engine.on_event(heart("ev-3", 130), kT0 + 62s).empty());
}

TEST_CASE("a condition with a duration that clears before the duration raises nothing", "[rules]") {
  Engine engine = engine_for(kSustainedTachycardia);
  engine.on_event(heart("ev-1", 130), kT0);
  CHECK(engine.on_event(heart("ev-2", 100), kT0 + 59s).empty());
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 60s).empty());
  // Holding again restarts the clock.
  engine.on_event(heart("ev-3", 130), kT0 + 100s);
  CHECK(engine.next_wakeup() == kT0 + 160s);
  CHECK(engine.on_time(kT0 + 159s).empty());
  CHECK(describe(engine.on_time(kT0 + 160s)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("an event arriving after the duration raises without waiting for on_time", "[rules]") {
  Engine engine = engine_for(kSustainedTachycardia);
  engine.on_event(heart("ev-1", 130), kT0);
  Output out = engine.on_event(heart("ev-2", 131), kT0 + 61s);
  CHECK(describe(out) == Lines{"none>raised (condition met)"});
  CHECK(engine.on_time(kT0 + 62s).empty());
}

TEST_CASE("a rising edge after an acknowledgement re-triggers once it has held for the duration", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "tachycardia"
auto_resolve = false
threshold = { field = "vitals.heart_rate_bpm", above = 120, clear_below = 110, for = "60s" }
)");
  engine.on_event(heart("ev-1", 130), kT0);
  engine.on_time(kT0 + 60s);
  std::string id = engine.active_alerts().at(0).id();
  engine.acknowledge(id, "nurse-7", "console", kT0 + 70s);
  CHECK(engine.on_event(heart("ev-2", 100), kT0 + 80s).empty());
  CHECK(engine.on_event(heart("ev-3", 130), kT0 + 90s).empty());
  CHECK(engine.next_wakeup() == kT0 + 150s);
  Output again = engine.on_time(kT0 + 150s);
  CHECK(describe(again) == Lines{"acknowledged>raised (re-triggered while acknowledged: episode 2)"});
  CHECK(again.transitions.at(0).alert().id() == id);
  CHECK(again.transitions.at(0).alert().trigger_count() == 2);
  CHECK_FALSE(engine.next_wakeup());
}

// ---------------------------------------------------------------------------
// Counts

const std::string kDoorCount = R"(
[[rule]]
id = "wandering"
kind = "door"
auto_resolve = true
count = { at_least = 3, within = "60s", field = "door.open", equals = "true" }
)";

TEST_CASE("a count raises at the Nth matching event inside its sliding window", "[rules]") {
  Engine engine = engine_for(kDoorCount);
  CHECK(engine.on_event(door("ev-1", true), kT0).empty());
  CHECK(engine.on_event(door("ev-2", false), kT0 + 5s).empty());  // not a matching event
  CHECK(engine.on_event(door("ev-3", true), kT0 + 10s).empty());
  CHECK(engine.on_event(door("ev-4", false), kT0 + 15s).empty());
  Output out = engine.on_event(door("ev-5", true), kT0 + 60s);  // ev-1 is exactly 60 s old: still inside
  CHECK(describe(out) == Lines{"none>raised (condition met)"});
  CHECK(out.transitions.at(0).alert().evidence_event_ids(0) == "ev-5");
}

TEST_CASE("a count slides: events older than the window do not count", "[rules]") {
  Engine engine = engine_for(kDoorCount);
  engine.on_event(door("ev-1", true), kT0);
  engine.on_event(door("ev-2", true), kT0 + 10s);
  CHECK(engine.on_event(door("ev-3", true), kT0 + 61s).empty());  // ev-1 left the window
  CHECK(describe(engine.on_event(door("ev-4", true), kT0 + 62s)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("each further event while the window holds the count re-triggers, and a count never resolves itself",
          "[rules]") {
  Engine engine = engine_for(kDoorCount);
  engine.on_event(door("ev-1", true), kT0);
  engine.on_event(door("ev-2", true), kT0 + 1s);
  engine.on_event(door("ev-3", true), kT0 + 2s);
  std::string id = engine.active_alerts().at(0).id();
  CHECK(engine.on_event(door("ev-4", false), kT0 + 3s).empty());  // a closed door clears nothing
  Output again = engine.on_event(door("ev-5", true), kT0 + 4s);
  CHECK(describe(again) == Lines{"raised>raised (re-triggered)"});
  CHECK(again.transitions.at(0).alert().id() == id);
  CHECK(again.transitions.at(0).alert().trigger_count() == 2);
  CHECK(evidence(again.transitions.at(0).alert()) == Lines{"ev-3", "ev-5"});
  CHECK(engine.on_time(kT0 + 1h).empty());
  CHECK(engine.active_alerts().size() == 1);
  CHECK_FALSE(engine.next_wakeup());

  // Long after, one opening is not three within a minute.
  CHECK(engine.on_event(door("ev-6", true), kT0 + 2h).empty());
  // Resolved by hand: a new alert takes the count again.
  engine.resolve(id, "nurse-7", "console", kT0 + 2h + 10s);
  CHECK(engine.on_event(door("ev-7", true), kT0 + 2h + 11s).empty());
  Output fresh = engine.on_event(door("ev-8", true), kT0 + 2h + 12s);
  CHECK(describe(fresh) == Lines{"none>raised (condition met)"});
  CHECK(fresh.transitions.at(0).alert_id() == "wandering:ann:" + std::to_string(ms(kT0 + 2h + 12s)));
}

TEST_CASE("a count without a field counts every event its selector lets through", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "chatty_sos"
kind = "sos"
count = { at_least = 2, within = "1m" }
)");
  CHECK(engine.on_event(sos("ev-1", false), kT0).empty());
  CHECK(describe(engine.on_event(sos("ev-2", false), kT0 + 1s)) == Lines{"none>raised (condition met)"});
}

// ---------------------------------------------------------------------------
// Absence

const std::string kNoMotion = R"(
[[rule]]
id = "no_motion"
kind = "presence"
absence = { for = "12h" }
)";

TEST_CASE("silence after a matching event raises an absence once, at last seen plus the silence", "[rules]") {
  Engine engine = engine_for(kNoMotion);
  CHECK_FALSE(engine.next_wakeup());  // never seen: nothing to miss yet
  CHECK(engine.on_event(motion("ev-1"), kT0).empty());
  CHECK(engine.next_wakeup() == kT0 + 12h);
  CHECK(engine.on_event(motion("ev-2"), kT0 + 1h).empty());
  CHECK(engine.next_wakeup() == kT0 + 13h);
  CHECK(engine.on_time(kT0 + 13h - 1s).empty());

  Output out = engine.on_time(kT0 + 13h);
  CHECK(describe(out) == Lines{"none>raised (condition met)"});
  const auto& alert = out.transitions.at(0).alert();
  CHECK(alert.id() == "no_motion:ann:" + std::to_string(ms(kT0 + 13h)));
  CHECK(alert.device_id() == "pir-ann");
  CHECK(alert.evidence_event_ids().empty());
  // Reported once until a new event.
  CHECK_FALSE(engine.next_wakeup());
  CHECK(engine.on_time(kT0 + 30h).empty());

  // Motion again resolves it and starts the silence over.
  CHECK(describe(engine.on_event(motion("ev-3"), kT0 + 31h)) == Lines{"raised>resolved (condition cleared)"});
  CHECK(engine.next_wakeup() == kT0 + 43h);
}

TEST_CASE("an absence that is not auto-resolved re-triggers after the next silence", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "no_motion"
kind = "presence"
auto_resolve = false
absence = { for = "1h" }
)");
  engine.on_event(motion("ev-1"), kT0);
  CHECK(describe(engine.on_time(kT0 + 1h)) == Lines{"none>raised (condition met)"});
  CHECK(engine.on_event(motion("ev-2"), kT0 + 2h).empty());
  CHECK(describe(engine.on_time(kT0 + 3h)) == Lines{"raised>raised (re-triggered)"});
  CHECK(engine.active_alerts().at(0).trigger_count() == 2);
}

// ---------------------------------------------------------------------------
// Schedules

// Whether a fresh engine raises for an open door at `t`.
bool raises_at(const std::string& schedule, WallTime t) {
  Engine engine = engine_for(R"(
[[rule]]
id = "night_door"
kind = "door"
match = { field = "door.open", equals = "true" }
schedule = )" + schedule + "\n");
  return !engine.on_event(door("ev-1", true), t).empty();
}

TEST_CASE("a night window includes its start and excludes its end, in local time", "[rules]") {
  const std::string night = R"({ from = "22:00", to = "06:00" })";
  CHECK_FALSE(raises_at(night, local(kFriday, 21, 59)));
  CHECK_FALSE(raises_at(night, local(kFriday, 21, 59, 59)));
  CHECK(raises_at(night, local(kFriday, 22, 0)));
  CHECK(raises_at(night, local(kSaturday, 0, 0)));
  CHECK(raises_at(night, local(kSaturday, 5, 59)));
  CHECK(raises_at(night, local(kSaturday, 5, 59, 59)));
  CHECK_FALSE(raises_at(night, local(kSaturday, 6, 0)));
  CHECK_FALSE(raises_at(night, local(kSaturday, 12, 0)));

  const std::string day = R"({ from = "08:00", to = "20:00" })";
  CHECK_FALSE(raises_at(day, local(kFriday, 7, 59)));
  CHECK(raises_at(day, local(kFriday, 8, 0)));
  CHECK(raises_at(day, local(kFriday, 19, 59)));
  CHECK_FALSE(raises_at(day, local(kFriday, 20, 0)));
}

TEST_CASE("a window crossing midnight belongs to the day it starts on", "[rules]") {
  const std::string friday_night = R"({ from = "22:00", to = "06:00", days = ["fri"] })";
  CHECK(raises_at(friday_night, local(kFriday, 23, 0)));
  CHECK(raises_at(friday_night, local(kSaturday, 1, 0)));  // Friday's night, on Saturday's date
  CHECK_FALSE(raises_at(friday_night, local(kSaturday, 23, 0)));
  CHECK_FALSE(raises_at(friday_night, local(kFriday, 1, 0)));  // Thursday's night
  const std::string friday_day = R"({ from = "08:00", to = "20:00", days = ["fri"] })";
  CHECK(raises_at(friday_day, local(kFriday, 12, 0)));
  CHECK_FALSE(raises_at(friday_day, local(kSaturday, 12, 0)));
}

TEST_CASE("schedules follow the rule file's utc_offset", "[rules]") {
  auto rules = eg::rules::parse_rules(R"(
utc_offset = "-05:00"
[[rule]]
id = "night_door"
match = { field = "door.open", equals = "true" }
schedule = { from = "22:00", to = "06:00" }
)",
                                      "rules.toml");
  // 03:00Z is 22:00 at -05:00 and 11:00 at +08:00.
  WallTime at_22_local{std::chrono::sys_days{kFriday} + 3h};
  CHECK_FALSE(Engine(rules, "gw-1").on_event(door("ev-1", true), at_22_local).empty());
  CHECK(Engine(rules, "gw-1").on_event(door("ev-1", true), at_22_local - 1min).empty());
}

TEST_CASE("a condition that holds when its window opens raises at the opening", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "night_door"
kind = "door"
match = { field = "door.open", equals = "true" }
schedule = { from = "22:00", to = "06:00" }
)");
  CHECK(engine.on_event(door("ev-1", true), local(kFriday, 21, 30)).empty());
  CHECK(engine.next_wakeup() == local(kFriday, 22, 0));
  CHECK(engine.on_time(local(kFriday, 21, 59, 59)).empty());
  CHECK(describe(engine.on_time(local(kFriday, 22, 0))) == Lines{"none>raised (condition met)"});
}

TEST_CASE("an absence falling due outside its window fires at the next window start", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "no_motion_at_night"
kind = "presence"
absence = { for = "2h" }
schedule = { from = "22:00", to = "06:00", days = ["fri"] }
)");
  engine.on_event(motion("ev-1"), local(kFriday, 12, 0));
  // Due at 14:00, outside the window: the window opens at 22:00.
  CHECK(engine.next_wakeup() == local(kFriday, 22, 0));
  CHECK(engine.on_time(local(kFriday, 14, 0)).empty());
  CHECK(engine.on_time(local(kFriday, 21, 59)).empty());
  CHECK(describe(engine.on_time(local(kFriday, 22, 0))) == Lines{"none>raised (condition met)"});

  // Seen on Saturday at 05:00: due 07:00, after Friday's night; the next
  // Friday-night window is a week later.
  engine.on_event(motion("ev-2"), local(kSaturday, 5, 0));
  CHECK(engine.next_wakeup() == local(kSaturday, 22, 0) + std::chrono::days(6));
}

TEST_CASE("an absence that fell due inside its window but is noticed after it fires then", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "no_motion_at_night"
kind = "presence"
absence = { for = "2h" }
schedule = { from = "22:00", to = "06:00" }
)");
  engine.on_event(motion("ev-1"), local(kFriday, 21, 0));
  CHECK(engine.next_wakeup() == local(kFriday, 23, 0));
  // The gateway was down from 22:30 to 07:00: the silence was met at 23:00.
  Output late = engine.on_time(local(kSaturday, 7, 0));
  CHECK(describe(late) == Lines{"none>raised (condition met)"});
  // And nothing is left that would have the gateway wake in a loop.
  CHECK_FALSE(engine.next_wakeup());
}

TEST_CASE("a count inside a schedule raises only inside its window", "[rules]") {
  Engine engine = engine_for(R"(
[[rule]]
id = "night_wandering"
kind = "door"
count = { at_least = 2, within = "10m", field = "door.open", equals = "true" }
schedule = { from = "22:00", to = "06:00" }
)");
  CHECK(engine.on_event(door("ev-1", true), local(kFriday, 12, 0)).empty());
  CHECK(engine.on_event(door("ev-2", true), local(kFriday, 12, 1)).empty());
  CHECK(engine.on_event(door("ev-3", true), local(kFriday, 23, 0)).empty());
  CHECK(describe(engine.on_event(door("ev-4", true), local(kFriday, 23, 1))) == Lines{"none>raised (condition met)"});
}

TEST_CASE("a gateway waking only when next_wakeup says never wakes in the past or in a loop", "[rules]") {
  Engine engine = engine_for(kFallRule + kSustainedTachycardia + kDoorCount + R"(
[[rule]]
id = "night_silence"
kind = "presence"
ladder = "fall"
absence = { for = "2h" }
schedule = { from = "22:00", to = "06:00", days = ["fri", "sat"] }
[[rule]]
id = "night_door"
kind = "door"
auto_resolve = false
match = { field = "door.open", equals = "true", for = "5m" }
schedule = { from = "22:00", to = "06:00" }
)");
  const WallTime start = local(kFriday, 8, 0);
  std::vector<std::pair<WallTime, v1::SensorEvent>> events = {
      {start + 1h, motion("ev-1")},  // silence due at 11:00, outside the window
      {start + 2h, fall("ev-2", kSuspected)},
      {start + 2h + 5s, heart("ev-3", 130)},
      {start + 13h + 50min, door("ev-4", true)},  // 21:50, left open into the night
      {start + 14h, motion("ev-5")},              // 22:00, just after the window opened
      {start + 30h, fall("ev-6", kNone)},
  };
  WallTime now = start;
  std::size_t next_event = 0, wakeups = 0, raised = 0;
  while (now < start + 3 * 24h && wakeups < 10'000) {
    auto wake = engine.next_wakeup();
    if (wake) REQUIRE(*wake > now);  // never a wake-up for a time already handled
    WallTime event_at = next_event < events.size() ? events[next_event].first : WallTime::max();
    if (!wake && event_at == WallTime::max()) break;
    now = wake ? std::min(*wake, event_at) : event_at;
    Output out = engine.on_time(now);
    ++wakeups;
    if (now == event_at) {
      Output more = engine.on_event(events[next_event++].second, now);
      out.transitions.insert(out.transitions.end(), more.transitions.begin(), more.transitions.end());
    }
    for (const auto& t : out.transitions) raised += t.to_state() == v1::ALERT_STATE_RAISED;
  }
  CHECK(wakeups < 50);
  CHECK(next_event == events.size());
  // The fall, the sustained heart rate, the silence since 09:00 as the window
  // opens at 22:00 (the motion at 22:00 then resolves it), the door left open
  // at 22:00, and the silence since 22:00 at midnight.
  CHECK(raised == 5);
}

// ---------------------------------------------------------------------------
// Residents: required flags and overrides

TEST_CASE("a rule that requires a flag applies only to residents with that flag", "[rules]") {
  auto rules = rule_set(R"(
[[rule]]
id = "exit_at_night"
kind = "door"
requires = "dementia"
match = { field = "door.open", equals = "true" }
)");
  rules.residents["ann"] = {"ann", {"dementia"}, {}};
  rules.residents["bob"] = {"bob", {"living_alone"}, {}};
  Engine engine(rules, "gw-1");
  CHECK(engine.on_event(door("ev-1", true, "bob"), kT0).empty());
  CHECK(engine.on_event(door("ev-2", true, "carl"), kT0).empty());  // not in the registry
  CHECK(engine.on_event(door("ev-3", true, ""), kT0).empty());      // no resident at all
  CHECK(describe(engine.on_event(door("ev-4", true, "ann"), kT0)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("a resident's overrides replace the rule's numbers for that resident only", "[rules]") {
  auto rules = rule_set(kTachycardia + kNoMotion + kDoorCount);
  rules.residents["bob"] = {"bob",
                            {},
                            {{"tachycardia.above", 100},
                             {"tachycardia.clear_below", 95},
                             {"no_motion.absent_for_s", 3600},
                             {"wandering.at_least", 2}}};
  Engine engine(rules, "gw-1");

  CHECK(engine.on_event(heart("ev-1", 105, "ann"), kT0).empty());
  CHECK(describe(engine.on_event(heart("ev-2", 105, "bob"), kT0)) == Lines{"none>raised (condition met)"});
  CHECK(engine.on_event(heart("ev-3", 97, "bob"), kT0 + 1s).empty());  // above bob's clear mark
  CHECK(describe(engine.on_event(heart("ev-4", 94, "bob"), kT0 + 2s)) == Lines{"raised>resolved (condition cleared)"});

  engine.on_event(motion("ev-5", "ann"), kT0);
  engine.on_event(motion("ev-6", "bob"), kT0);
  CHECK(engine.next_wakeup() == kT0 + 1h);
  Output out = engine.on_time(kT0 + 1h);
  REQUIRE(out.transitions.size() == 1);
  CHECK(out.transitions[0].alert().resident_id() == "bob");

  engine.on_event(door("ev-7", true, "ann"), kT0);
  CHECK(engine.on_event(door("ev-8", true, "ann"), kT0 + 1s).empty());
  engine.on_event(door("ev-9", true, "bob"), kT0);
  CHECK(describe(engine.on_event(door("ev-10", true, "bob"), kT0 + 1s)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("an engine refuses residents whose overrides do not fit its rules", "[rules]") {
  auto rules = rule_set(kTachycardia);
  rules.residents["bob"] = {"bob", {}, {{"tachycardia.at_least", 2}}};
  CHECK_THROWS_AS(Engine(rules, "gw-1"), eg::rules::RuleError);
}

// ---------------------------------------------------------------------------
// Determinism, snapshot and restore

// A morning of events, an acknowledgement and time passing in 10 s ticks, as a
// gateway timer would, fed to `engine` for the part in [from, to): every
// transition serialized, and every delivery.
std::vector<std::string> run_script(Engine& engine, WallTime from, WallTime to) {
  struct Step {
    WallTime at;
    std::optional<v1::SensorEvent> event;  // none: acknowledge the first active alert
  };
  const std::vector<Step> script = {
      {kT0, fall("ev-1", kSuspected)},
      {kT0 + 1s, heart("ev-2", 130, "bob")},
      {kT0 + 2s, fall("ev-3", kDetected)},
      {kT0 + 5s, motion("ev-4", "carl")},
      {kT0 + 20s, heart("ev-5", 105, "bob")},
      {kT0 + 40s, door("ev-6", true, "dora")},
      {kT0 + 41s, door("ev-7", true, "dora")},
      {kT0 + 42s, door("ev-8", true, "dora")},
      {kT0 + 3min, {}},
      {kT0 + 5min, heart("ev-9", 140, "bob")},
      {kT0 + 20min, fall("ev-10", kNone)},
  };
  std::vector<std::string> out;
  auto keep = [&](const Output& o) {
    for (const auto& t : o.transitions) out.push_back(t.SerializeAsString());
    for (const auto& d : o.deliveries) out.push_back(d.target + " #" + std::to_string(d.step) + " " + d.alert.id());
  };
  for (WallTime tick = from; tick < to; tick += 10s) {
    keep(engine.on_time(tick));
    for (const auto& step : script) {
      if (step.at < tick || step.at >= tick + 10s) continue;
      keep(engine.on_time(step.at));
      if (step.event) {
        keep(engine.on_event(*step.event, step.at));
      } else if (!engine.active_alerts().empty()) {
        keep(engine.acknowledge(engine.active_alerts().front().id(), "nurse-7", "console", step.at));
      }
    }
  }
  return out;
}

const std::string kEverything = kFallRule + kSustainedTachycardia + kNoMotion + kDoorCount;

TEST_CASE("the same events at the same times give byte-identical transitions", "[rules]") {
  Engine a = engine_for(kEverything), b = engine_for(kEverything);
  auto first = run_script(a, kT0, kT0 + 13h);
  auto second = run_script(b, kT0, kT0 + 13h);
  CHECK(first.size() > 10);
  CHECK(first == second);
  CHECK(a.snapshot() == b.snapshot());
}

TEST_CASE("a restored engine escalates at the originally scheduled time without repeating itself", "[rules]") {
  Engine original = engine_for(kFallRule);
  original.on_event(fall("ev-1", kDetected), kT0);
  CHECK(targets(original.on_time(kT0 + 30s)) == Lines{"nurse_station #2"});
  std::string saved = original.snapshot();

  // Down from 31 s to 100 s; step 3 is due at 2 min 30 s all the same.
  Engine restored = engine_for(kFallRule);
  restored.restore(saved);
  REQUIRE(restored.active_alerts().size() == 1);
  CHECK(restored.active_alerts()[0].SerializeAsString() == original.active_alerts()[0].SerializeAsString());
  CHECK(restored.next_wakeup() == kT0 + 150s);
  CHECK(restored.on_time(kT0 + 100s).empty());  // nothing fired twice
  Output third = restored.on_time(kT0 + 150s);
  CHECK(targets(third) == Lines{"family #3"});
  CHECK(third.transitions.at(0).SerializeAsString() ==
        original.on_time(kT0 + 150s).transitions.at(0).SerializeAsString());
}

TEST_CASE("a restored engine picks up from a whole script as if it had never stopped", "[rules]") {
  Engine reference = engine_for(kEverything);
  auto expected = run_script(reference, kT0, kT0 + 13h);

  Engine before = engine_for(kEverything);
  auto got = run_script(before, kT0, kT0 + 2min);
  Engine after = engine_for(kEverything);
  after.restore(before.snapshot());
  auto rest = run_script(after, kT0 + 2min, kT0 + 13h);
  got.insert(got.end(), rest.begin(), rest.end());
  CHECK(got == expected);
  CHECK(after.snapshot() == reference.snapshot());
}

TEST_CASE("an absence counts the time between snapshot and restore", "[rules]") {
  Engine original = engine_for(kNoMotion);
  original.on_event(motion("ev-1"), kT0);
  std::string saved = original.snapshot();

  Engine restored = engine_for(kNoMotion);
  restored.restore(saved);
  CHECK(restored.tracked_subjects() == 1);
  CHECK(restored.next_wakeup() == kT0 + 12h);
  // Restarted 14 hours later: the silence has long been met.
  CHECK(describe(restored.on_time(kT0 + 14h)) == Lines{"none>raised (condition met)"});
}

TEST_CASE("restore drops the state of rules that left the file and survives a shorter ladder", "[rules]") {
  Engine original = engine_for(kFallRule + kNoMotion);
  original.on_event(fall("ev-1", kDetected), kT0);
  original.on_event(motion("ev-2"), kT0);
  original.on_time(kT0 + 30s);  // the fall alert is at step 2 of 3, step 3 due at 150 s
  std::string saved = original.snapshot();

  Engine without_fall = engine_for(kNoMotion);
  without_fall.restore(saved);
  CHECK(without_fall.active_alerts().empty());
  CHECK(without_fall.tracked_subjects() == 1);

  // The "fall" ladder now has one rung, repeated: the alert at step 2 repeats that rung.
  Engine shorter(eg::rules::parse_rules(R"(
[[ladder]]
id = "fall"
repeat_last_every = "5m"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "1m"
)" + kFallRule,
                                        "rules.toml"),
                 "gw-1");
  shorter.restore(saved);
  REQUIRE(shorter.active_alerts().size() == 1);
  CHECK(shorter.next_wakeup() == kT0 + 150s);
  Output out = shorter.on_time(kT0 + 150s);
  CHECK(targets(out) == Lines{"nurse_station #1"});
  CHECK(shorter.next_wakeup() == kT0 + 150s + 5min);
}

TEST_CASE("restore rejects text that is not a snapshot and leaves the engine as it was", "[rules]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-0", kDetected), kT0);
  const std::string before = engine.snapshot();
  CHECK_THROWS_AS(engine.restore("not json"), eg::rules::RuleError);
  CHECK_THROWS_AS(engine.restore("[]"), eg::rules::RuleError);
  CHECK_THROWS_AS(engine.restore("42"), eg::rules::RuleError);
  CHECK_THROWS_AS(engine.restore(R"({"version": 3, "trackers": [], "alerts": []})"), eg::rules::RuleError);
  CHECK_THROWS_AS(engine.restore(R"({"version": 1, "trackers": [{"rule": "fall"}], "alerts": []})"),
                  eg::rules::RuleError);
  CHECK_THROWS_AS(engine.restore(R"({"version": 1, "trackers": [], "alerts": [{"rule": "fall", "subject": "ann",
                                   "alert": "{nope", "next_step_at": null}]})"),
                  eg::rules::RuleError);
  CHECK_THROWS_AS(engine.restore(R"({"version": "1", "trackers": [], "alerts": []})"), eg::rules::RuleError);
  // A snapshot whose first tracker reads well and whose alert does not.
  std::string half = before;
  half.replace(half.find("\"next_step_at\":"), 14, "\"next_step_at\":\"soon\",\"x\":");
  CHECK_THROWS_AS(engine.restore(half), eg::rules::RuleError);
  CHECK(engine.snapshot() == before);
  CHECK(engine.active_alerts().size() == 1);

  engine.restore(R"({"version": 1, "trackers": [], "alerts": []})");
  CHECK(engine.tracked_subjects() == 0);
  CHECK(engine.active_alerts().empty());
}

TEST_CASE("equipment rules are per device and cleared only by their own value", "[rules]") {
  auto rules = eg::rules::parse_rules(R"(
[[rule]]
id = "low-battery"
kind = "device_health"
match = { field = "device_health.condition", equals = "battery_low", clears = "battery_ok" }
)",
                                      "r.toml");
  REQUIRE(rules.rules.at(0).per_device);
  eg::rules::Engine engine(rules, "gw");
  eg::WallTime t{std::chrono::seconds(1'767'225'600)};
  auto health = [](const char* device, v1::DeviceHealthPayload::Condition condition) {
    v1::SensorEvent e;
    e.set_kind(v1::EVENT_KIND_DEVICE_HEALTH);
    e.set_device_id(device);
    e.set_resident_id("r-1");  // two sensors of one resident
    e.mutable_device_health()->set_condition(condition);
    return e;
  };
  CHECK(engine.on_event(health("door", v1::DeviceHealthPayload::CONDITION_BATTERY_LOW), t).transitions.size() == 1);
  CHECK(engine.on_event(health("radar", v1::DeviceHealthPayload::CONDITION_BATTERY_LOW), t).transitions.size() == 1);
  CHECK(engine.active_alerts().size() == 2);
  // The door coming online says nothing about its battery.
  CHECK(engine.on_event(health("door", v1::DeviceHealthPayload::CONDITION_ONLINE), t).transitions.empty());
  auto cleared = engine.on_event(health("door", v1::DeviceHealthPayload::CONDITION_BATTERY_OK), t);
  REQUIRE(cleared.transitions.size() == 1);
  CHECK(cleared.transitions[0].to_state() == v1::ALERT_STATE_RESOLVED);
  CHECK(cleared.transitions[0].alert().device_id() == "door");
  CHECK(engine.active_alerts().size() == 1);
}

// ---------------------------------------------------------------------------
// Scale: what one event costs does not grow with the subjects watched

TEST_CASE("an event changes and persists only its own subject's rows, among 2,000 watched", "[rules][scale]") {
  Engine engine = engine_for(kNoMotion + kFallRule);
  for (int r = 0; r < 2000; ++r) engine.on_event(motion("m-" + std::to_string(r), "r" + std::to_string(r)), kT0);
  CHECK(engine.tracked_subjects() == 2000);
  CHECK(engine.take_changes().size() == 2000);  // the first group writes each once
  CHECK(engine.next_wakeup() == kT0 + 12h);

  engine.on_event(motion("m-x", "r7"), kT0 + 1min);
  auto changes = engine.take_changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].rule == "no_motion");
  CHECK(changes[0].subject == "r7");
  CHECK(engine.next_wakeup() == kT0 + 12h);  // the others are still due first

  // A fall that is not a fall keeps no state at all.
  engine.on_event(fall("f-1", kNone, "r9"), kT0 + 2min);
  CHECK(engine.take_changes().empty());
  CHECK(engine.tracked_subjects() == 2000);

  // Time passing fires exactly the subjects that are due, each once.
  auto out = engine.on_time(kT0 + 12h);
  CHECK(out.transitions.size() == 1999);
  CHECK(engine.next_wakeup() == kT0 + 12h + 1min);  // r7, heard a minute later, is all that is left
  CHECK(engine.on_time(kT0 + 12h + 1min).transitions.size() == 1);
  CHECK_FALSE(engine.next_wakeup());  // reported absences wait for the next sign of life
}

TEST_CASE("trackers beyond the limit evict the least recently touched subject without an alert", "[rules][scale]") {
  eg::rules::Limits limits;
  limits.max_trackers = 3;
  Engine engine(rule_set(kNoMotion), "gw-1", limits);
  for (const char* r : {"a", "b", "c", "d"}) engine.on_event(motion(std::string("m-") + r, r), kT0);
  CHECK(engine.tracked_subjects() == 3);
  CHECK(engine.counters().trackers_evicted == 1);
  // "a" was forgotten: only b, c and d fall silent.
  auto out = engine.on_time(kT0 + 12h);
  std::set<std::string> silent;
  for (const auto& t : out.transitions) silent.insert(t.alert().resident_id());
  CHECK(silent == std::set<std::string>{"b", "c", "d"});
}

TEST_CASE("state restored from changed rows equals the state that wrote them", "[rules][scale]") {
  Engine a = engine_for(kEverything);
  Engine b = engine_for(kEverything);
  std::vector<eg::rules::StateRow> table;  // the store, as upserts and deletes by key
  auto apply = [&](std::vector<eg::rules::StateRow> rows) {
    for (auto& row : rows) {
      auto same = [&](const eg::rules::StateRow& r) {
        return r.table == row.table && r.rule == row.rule && r.subject == row.subject;
      };
      std::erase_if(table, same);
      if (!row.state.empty()) table.push_back(std::move(row));
    }
  };
  run_script(a, kT0, kT0 + 2min);
  apply(a.take_changes());
  run_script(a, kT0 + 2min, kT0 + 30min);
  apply(a.take_changes());
  b.restore_rows(table);
  CHECK(b.snapshot() == a.snapshot());
  CHECK(b.next_wakeup() == a.next_wakeup());
}

// ---------------------------------------------------------------------------
// Issue 12 #14: self-tests, warm-up and stale states are not alarms

namespace {

const std::string kGasRule = R"(
[[rule]]
id = "gas"
summary = "Gas"
kind = "gas"
ladder = "fall"
match = { field = "gas.alarm", equals = "true" }
)";

v1::SensorEvent gas(const std::string& id, bool alarm) {
  auto e = event(v1::EVENT_KIND_GAS, id, "ann", "gas-kitchen");
  e.mutable_gas()->set_alarm(alarm);
  return e;
}

}  // namespace

TEST_CASE("a detector's self-test or warm-up raises nothing and leaves the condition as it was", "[rules][self-test]") {
  Engine engine = engine_for(kGasRule);
  auto test = gas("ev-1", true);
  test.set_self_test(true);
  CHECK(engine.on_event(test, kT0).empty());
  auto warming = gas("ev-2", true);
  warming.set_warming_up(true);
  CHECK(engine.on_event(warming, kT0 + 1s).empty());
  CHECK(engine.counters().self_test_events == 2);
  CHECK(engine.active_alerts().empty());
  // Gas for real after the test: a rising edge, as if the test never happened.
  CHECK(describe(engine.on_event(gas("ev-3", true), kT0 + 2s)) == kRaisedAndFirstStep);
}

TEST_CASE("a retained or replayed alarm state never brings back an alert staff resolved, the device's own report does",
          "[rules][self-test]") {
  Engine engine = engine_for(kGasRule);
  engine.on_event(gas("ev-1", true), kT0);
  auto id = engine.active_alerts().at(0).id();
  engine.resolve(id, "nurse-7", "console", kT0 + 1min);
  engine.on_event(gas("ev-2", false), kT0 + 2min);  // the detector cleared

  // The gateway restarted (retained) and the bridge replayed its cached state
  // saved before the detector cleared: neither is the device speaking.
  auto restored = engine_for(kGasRule);
  restored.restore(engine.snapshot());
  auto retained = gas("ev-3", true);
  retained.set_retained(true);
  CHECK(restored.on_event(retained, kT0 + 1h).empty());
  auto replayed = gas("ev-4", true);
  replayed.set_replayed(true);
  CHECK(restored.on_event(replayed, kT0 + 1h + 1s).empty());
  CHECK(restored.counters().stale_states_after_resolve == 2);
  CHECK(restored.active_alerts().empty());

  // The detector itself reports gas again: a new alert.
  CHECK(describe(restored.on_event(gas("ev-5", true), kT0 + 2h)) == kRaisedAndFirstStep);
}

TEST_CASE("a retained alarm state with no resolution on record still raises: stale is not the same as false",
          "[rules][self-test]") {
  Engine engine = engine_for(kGasRule);
  auto retained = gas("ev-1", true);
  retained.set_retained(true);
  CHECK(describe(engine.on_event(retained, kT0)) == kRaisedAndFirstStep);
}

// ---------------------------------------------------------------------------
// Issue 12 #17: doors by role, residents away

namespace {

const std::string kAwayRules = R"(
[[rule]]
id = "night-door"
summary = "Door at night"
kind = "door"
match = { field = "door.open", equals = "true" }
device_role = ["exit"]
ladder = "fall"

[[rule]]
id = "quiet"
summary = "No movement"
kind = "presence"
absence = { for = "4h" }
ladder = "fall"

[[rule]]
id = "overdue-return"
summary = "Not back"
away = { grace = "30m" }
ladder = "fall"
)";

}  // namespace

TEST_CASE("a door rule with device_role fires on exit doors and on doors with no role given, not on inner ones",
          "[rules][away]") {
  Engine engine = engine_for(kAwayRules);
  auto bathroom = door("ev-1", true);
  bathroom.set_device_role("bathroom");
  CHECK(engine.on_event(bathroom, kT0).empty());
  auto unknown = door("ev-2", true, "bob");
  CHECK_FALSE(engine.on_event(unknown, kT0).empty());  // no role given: an alarm rather than a miss
  auto exit = door("ev-3", true);
  exit.set_device_role("exit");
  CHECK(describe(engine.on_event(exit, kT0 + 1s)) == kRaisedAndFirstStep);
}

TEST_CASE(
    "away: inactivity pauses, the overdue alert follows the expected return, a sign of life resolves it, and it "
    "all survives a restore",
    "[rules][away]") {
  Engine engine = engine_for(kAwayRules);
  engine.on_event(motion("ev-1"), kT0);
  REQUIRE(engine.set_away("ann", kT0 + 48h, kT0 + 10min));
  CHECK(engine.is_away("ann"));
  // Her leaving, just after (the hall sensor sees her go): not a return.
  engine.on_event(motion("ev-2"), kT0 + 12min);
  CHECK(engine.is_away("ann"));

  auto restored = engine_for(kAwayRules);
  restored.restore(engine.snapshot());
  CHECK(restored.is_away("ann"));
  // The 4 h of quiet pass in her absence: nothing.
  CHECK(restored.on_time(kT0 + 5h).empty());
  CHECK(restored.on_time(kT0 + 48h).empty());
  // Not back 30 min after the expected return.
  auto overdue = restored.on_time(kT0 + 48h + 30min);
  REQUIRE_FALSE(overdue.transitions.empty());
  CHECK(overdue.transitions[0].alert().rule_id() == "overdue-return");
  CHECK(overdue.transitions[0].to_state() == v1::ALERT_STATE_RAISED);
  // She is back: her PIR sees her.
  auto back = restored.on_event(motion("ev-3"), kT0 + 49h);
  REQUIRE_FALSE(back.transitions.empty());
  CHECK(back.transitions[0].alert().rule_id() == "overdue-return");
  CHECK(back.transitions[0].to_state() == v1::ALERT_STATE_RESOLVED);
  CHECK_FALSE(restored.is_away("ann"));
  // From now on, her quiet counts again.
  auto quiet = restored.on_time(kT0 + 53h + 1s);
  REQUIRE_FALSE(quiet.transitions.empty());
  CHECK(quiet.transitions[0].alert().rule_id() == "quiet");
}

TEST_CASE("away: staff mark her returned, without an away rule, away is refused", "[rules][away]") {
  Engine engine = engine_for(kAwayRules);
  REQUIRE(engine.set_away("ann", kT0 + 2h, kT0));
  engine.on_time(kT0 + 2h + 30min);
  REQUIRE(engine.active_alerts().size() == 1);
  auto back = engine.returned("ann", kT0 + 3h);
  REQUIRE(back.transitions.size() == 1);
  CHECK(back.transitions[0].to_state() == v1::ALERT_STATE_RESOLVED);
  CHECK_FALSE(engine.is_away("ann"));

  Engine without = engine_for(kFallRule);
  CHECK_FALSE(without.set_away("ann", kT0 + 2h, kT0));
}

TEST_CASE("only the device that raised an alarm can clear it, another device of the same resident cannot",
          "[rules][security]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected, "ann", "radar-bedroom"), kT0);
  REQUIRE(engine.active_alerts().size() == 1);
  // The bathroom radar (or a compromised device claiming to be hers) sees nobody fallen.
  CHECK(engine.on_event(fall("ev-2", kNone, "ann", "radar-bathroom"), kT0 + 5s).empty());
  CHECK(engine.active_alerts().size() == 1);
  CHECK(engine.counters().clears_from_other_devices == 1);
  // The radar that saw the fall says she is up: over.
  CHECK(describe(engine.on_event(fall("ev-3", kNone, "ann", "radar-bedroom"), kT0 + 10s)) ==
        Lines{"escalating>resolved (condition cleared)"});
}

TEST_CASE("a resident's cancel counts only on the alert its own device raised", "[rules][security]") {
  Engine engine = engine_for(kFallRule);
  engine.on_event(fall("ev-1", kDetected, "ann", "radar-bedroom"), kT0);
  auto cancel = event(v1::EVENT_KIND_SOS_CALL, "ev-2", "ann", "pendant-ann");
  CHECK(engine.device_cancel(cancel, 120s, kT0 + 5s).empty());  // not the radar: neither resolves nor acknowledges
  CHECK(engine.active_alerts().at(0).state() != v1::ALERT_STATE_ACKNOWLEDGED);
  CHECK(engine.counters().cancels_from_other_devices == 1);
  auto from_radar = event(v1::EVENT_KIND_FALL, "ev-3", "ann", "radar-bedroom");
  CHECK(describe(engine.device_cancel(from_radar, 120s, kT0 + 6s)) ==
        Lines{"escalating>resolved (cancelled by the resident within 120 s)"});
}
