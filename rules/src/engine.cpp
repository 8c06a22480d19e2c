#include "eg/rules/engine.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "fields.hpp"

namespace eg::rules {
namespace {

namespace v1 = eldercare::v1;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using Seconds = std::chrono::duration<double>;

google::protobuf::Timestamp to_timestamp(WallTime t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}
long long to_ms(WallTime t) {
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}
WallTime from_ms(long long ms) {
  return WallTime{duration_cast<WallTime::duration>(milliseconds(ms))};
}
WallTime::duration seconds(double s) {
  return duration_cast<WallTime::duration>(Seconds(s));
}

std::string alert_json(const v1::Alert& alert) {
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(alert, &text);
  return text;
}

void earliest(std::optional<WallTime>& best, WallTime candidate) {
  if (!best || candidate < *best) best = candidate;
}

int weekday(std::chrono::sys_days day) {
  return static_cast<int>(std::chrono::weekday(day).c_encoding());  // 0 = Sunday, as in Schedule
}

// The severity an alert gets for a value: the rule's ranking, else its own.
v1::Severity severity_of(const Rule& rule, const std::string& value) {
  auto it = rule.severity_by_value.find(value);
  return it == rule.severity_by_value.end() ? rule.severity : it->second;
}

// When a tracker has work for on_time(), before the rule's schedule is taken
// into account: an absence at last seen plus the silence, a condition once it
// has held for its duration. nullopt when nothing is pending. (The tracker is
// the engine's private type, hence `auto`.)
std::optional<WallTime> pending(const Rule& rule, const Parameters& p, const auto& tracker) {
  if (rule.type == ConditionType::kAbsence) {
    if (tracker.last_seen && !tracker.absence_reported) return *tracker.last_seen + seconds(p.absent_for_s);
  } else if (rule.type != ConditionType::kCount && tracker.condition && tracker.true_since) {
    return *tracker.true_since + seconds(p.for_s);
  }
  return std::nullopt;
}

}  // namespace

Engine::Engine(RuleSet rules, std::string gateway_id) : rules_(std::move(rules)), gateway_id_(std::move(gateway_id)) {
  check_residents(rules_);
}

bool Engine::applies(const Rule& rule, const v1::SensorEvent& event) const {
  const Selector& w = rule.watch;
  if (w.kind != v1::EVENT_KIND_UNSPECIFIED && w.kind != event.kind()) return false;
  if (!w.device.empty() && w.device != event.device_id()) return false;
  if (!w.resident.empty() && w.resident != event.resident_id()) return false;
  if (!w.room.empty() && w.room != event.room()) return false;
  if (!rule.requires_flag.empty()) {
    auto resident = rules_.residents.find(event.resident_id());
    if (resident == rules_.residents.end() || !resident->second.flags.contains(rule.requires_flag)) return false;
  }
  return true;
}

Parameters Engine::parameters_for(const Rule& rule, const std::string& resident_id) const {
  Parameters p = rule.parameters;
  auto resident = rules_.residents.find(resident_id);
  if (resident == rules_.residents.end()) return p;
  for (const auto& name : parameter_names())
    if (auto it = resident->second.overrides.find(rule.id + "." + name); it != resident->second.overrides.end())
      parameter(p, name) = it->second;
  return p;
}

bool Engine::in_schedule(const Rule& rule, WallTime t) const {
  if (!rule.schedule) return true;
  const Schedule& s = *rule.schedule;
  auto local = std::chrono::floor<std::chrono::minutes>(t) + rules_.utc_offset;
  auto day = std::chrono::floor<std::chrono::days>(local);
  int minute = static_cast<int>((local - day).count());
  if (s.from_minute < s.to_minute)
    return minute >= s.from_minute && minute < s.to_minute && s.weekdays.contains(weekday(day));
  // Crosses midnight: the part after midnight belongs to the previous day's window.
  if (minute >= s.from_minute) return s.weekdays.contains(weekday(day));
  if (minute < s.to_minute) return s.weekdays.contains(weekday(day - std::chrono::days(1)));
  return false;
}

std::optional<WallTime> Engine::next_schedule_start(const Rule& rule, WallTime t) const {
  auto start = std::chrono::ceil<std::chrono::minutes>(t);
  if (in_schedule(rule, start)) return WallTime(start);
  // Outside every window, the next minute inside one is a window's opening:
  // from_minute local time on an allowed day. Eight days see every weekday.
  // (on_time() and next_wakeup() ask this for every tracker due outside its
  // window, so no minute-by-minute search.)
  const Schedule& s = *rule.schedule;  // without a schedule every time is inside
  auto today = std::chrono::floor<std::chrono::days>(start + rules_.utc_offset);
  for (int i = 0; i <= 8; ++i) {
    auto day = today + std::chrono::days(i);
    auto opening = day + std::chrono::minutes(s.from_minute) - rules_.utc_offset;
    if (opening >= start && s.weekdays.contains(weekday(day))) return WallTime(opening);
  }
  return std::nullopt;
}

Output Engine::on_event(const v1::SensorEvent& event, WallTime now) {
  Output out;
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
    const Rule& rule = rules_.rules[i];
    if (!applies(rule, event)) continue;
    const std::string& subject =
        rule.per_device || event.resident_id().empty() ? event.device_id() : event.resident_id();
    Key key{i, subject};
    Tracker& tracker = trackers_[key];
    tracker.device = event.device_id();
    tracker.resident = event.resident_id();
    tracker.room = event.room();
    tracker.bed = event.bed();
    Parameters p = parameters_for(rule, event.resident_id());

    switch (rule.type) {
      case ConditionType::kAbsence: {
        tracker.last_seen = now;
        tracker.absence_reported = false;
        if (rule.auto_resolve && active_.contains(key)) clear(key, now, out);
        break;
      }
      case ConditionType::kCount: {
        if (!rule.field.empty()) {
          auto word = read_word(event, rule.field);
          if (!word || !rule.equals.contains(*word)) break;
        }
        tracker.hits.push_back(now);
        while (!tracker.hits.empty() && now - tracker.hits.front() > seconds(p.within_s)) tracker.hits.pop_front();
        if (tracker.hits.size() >= static_cast<std::size_t>(p.at_least) && in_schedule(rule, now))
          raise(key, tracker, event.id(), "", now, out);
        break;
      }
      case ConditionType::kMatch:
      case ConditionType::kThreshold: {
        std::string value;
        bool condition = false;
        if (rule.type == ConditionType::kMatch) {
          auto word = read_word(event, rule.field);
          if (!word) break;  // the event does not speak of this field
          value = *word;
          condition = rule.equals.contains(value);
          if (!condition && !rule.clears.empty() && !rule.clears.contains(value)) break;  // another aspect
        } else {
          auto number = read_number(event, rule.field);
          if (!number) break;
          value = std::to_string(*number);
          double v = *number;
          // Hysteresis: once raised, the condition holds until the value
          // passes the clear mark (defaults to the raise mark itself).
          if (!std::isnan(p.above)) {
            double clear_at = std::isnan(p.clear_below) ? p.above : p.clear_below;
            condition = tracker.condition ? !(v < clear_at) : v > p.above;
          } else {
            double clear_at = std::isnan(p.clear_above) ? p.below : p.clear_above;
            condition = tracker.condition ? !(v > clear_at) : v < p.below;
          }
        }
        bool rising = condition && !tracker.condition;
        tracker.condition = condition;
        tracker.last_value = value;
        tracker.last_evidence = event.id();
        if (!condition) {
          tracker.true_since.reset();
          if (rule.auto_resolve && active_.contains(key)) clear(key, now, out);
          break;
        }
        // true_since runs from the rising edge until the condition raises, so
        // on_time() raises a stretch of the condition once and a resolve by
        // hand is not undone by the timer. An event that reports the condition
        // again is news, though (an SOS button pressed again): with no alert
        // standing it raises a new one.
        if (rising) tracker.true_since = now;
        auto active = active_.find(key);
        bool held = tracker.true_since ? now - *tracker.true_since >= seconds(p.for_s) : active == active_.end();
        // A worse value (suspected -> detected) raises the standing alert's severity.
        bool worse = active != active_.end() && severity_of(rule, value) > active->second.alert.severity();
        if ((!held && !worse) || !in_schedule(rule, now)) break;  // on_time() raises when the duration is reached
        raise(key, tracker, event.id(), value, now, out);
        tracker.true_since.reset();
        break;
      }
    }
  }
  return out;
}

void Engine::raise(const Key& key, Tracker& tracker, const std::string& evidence, std::string value, WallTime now,
                   Output& out) {
  const Rule& rule = rules_.rules[key.first];
  v1::Severity severity = severity_of(rule, value);

  auto existing = active_.find(key);
  if (existing != active_.end()) {
    // Re-trigger: one alert per (rule, subject); count, evidence, and a
    // severity that may rise but never falls while active.
    ActiveAlert& active = existing->second;
    v1::Alert& alert = active.alert;
    alert.set_trigger_count(alert.trigger_count() + 1);
    if (!evidence.empty()) alert.add_evidence_event_ids(evidence);
    std::string reason = "re-triggered";
    if (severity > alert.severity()) {
      alert.set_severity(severity);
      reason = "severity raised to " + v1::Severity_Name(severity);
    }
    out.transitions.push_back(transition(active, alert.state(), "rule-engine", "rules", reason, now));
    return;
  }

  ActiveAlert active;
  active.rule = &rule;
  v1::Alert& alert = active.alert;
  alert.set_id(rule.id + ":" + key.second + ":" + std::to_string(to_ms(now)));
  alert.set_gateway_id(gateway_id_);
  alert.set_rule_id(rule.id);
  alert.set_resident_id(tracker.resident);
  alert.set_device_id(tracker.device);
  alert.set_room(tracker.room);
  alert.set_bed(tracker.bed);
  alert.set_severity(severity);
  alert.set_state(v1::ALERT_STATE_RAISED);
  alert.set_trigger_count(1);
  *alert.mutable_raised_time() = to_timestamp(now);
  alert.set_summary(rule.summary + (tracker.room.empty() ? "" : " in room " + tracker.room));
  if (!evidence.empty()) alert.add_evidence_event_ids(evidence);
  auto [it, inserted] = active_.emplace(key, std::move(active));
  out.transitions.push_back(
      transition(it->second, v1::ALERT_STATE_UNSPECIFIED, "rule-engine", "rules", "condition met", now));
  // The first rung starts at once: raising an alert means telling someone.
  if (!rule.ladder.empty()) {
    it->second.next_step_at = now;
    escalate(it->second, now, out);
  }
}

void Engine::escalate(ActiveAlert& active, WallTime now, Output& out) {
  const Ladder& ladder = rules_.ladders.at(active.rule->ladder);
  v1::Alert& alert = active.alert;
  // Deadlines run from when the step was due, not from when we got round to
  // it, so a late wake-up (or a restart) does not stretch the ladder.
  WallTime due = active.next_step_at.value_or(now);
  std::uint32_t step = alert.escalation_step();
  const bool repeat = step >= ladder.steps.size();
  if (repeat && ladder.repeat_last_every.count() == 0) {
    active.next_step_at.reset();  // the ladder is exhausted; the alert waits for a person
    return;
  }
  std::string reason =
      repeat      ? "repeat of the last step: still no acknowledgement"
      : step == 0 ? "first step"
                  : "no acknowledgement within " + std::to_string(ladder.steps[step - 1].timeout.count()) + " s";
  // A repeat is of the last rung, also for an alert restored past the end of
  // a ladder that has since been shortened.
  step = repeat ? static_cast<std::uint32_t>(ladder.steps.size()) : step + 1;
  const Step& rung = ladder.steps[step - 1];
  const bool last = step == ladder.steps.size();
  if (!last) {
    active.next_step_at = due + rung.timeout;
  } else if (ladder.repeat_last_every.count() > 0) {
    const auto every = ladder.repeat_last_every;
    WallTime next = due + (repeat ? every : rung.timeout);
    // Repeats that fell due while we slept (a late wake-up, a restart) are
    // covered by this delivery: one, not one per missed period. The next
    // keeps the rhythm, after now.
    if (next <= now) next += every * ((now - next) / every + 1);
    active.next_step_at = next;
  } else {
    active.next_step_at.reset();
  }
  v1::AlertState from = alert.state();
  alert.set_escalation_step(step);
  alert.set_state(v1::ALERT_STATE_ESCALATING);
  auto t = transition(active, from, "rule-engine", "rules", reason, now);
  t.set_escalation_target(rung.target);
  out.transitions.push_back(std::move(t));
  out.deliveries.push_back({rung.target, step, alert});
}

void Engine::clear(const Key& key, WallTime now, Output& out) {
  auto it = active_.find(key);
  if (it == active_.end()) return;
  v1::AlertState from = it->second.alert.state();
  it->second.alert.set_state(v1::ALERT_STATE_RESOLVED);
  out.transitions.push_back(transition(it->second, from, "rule-engine", "rules", "condition cleared", now));
  active_.erase(it);
}

Output Engine::on_time(WallTime now) {
  Output out;
  for (auto& [key, tracker] : trackers_) {
    const Rule& rule = rules_.rules[key.first];
    // Due exactly when next_wakeup() says: outside the rule's window, at the
    // window's next start. A due time slept through (a restart) fires now even
    // if the window has closed since; waiting for the next window would leave
    // next_wakeup() in the past and the gateway waking in a loop.
    auto due = pending(rule, parameters_for(rule, tracker.resident), tracker);
    if (due && !in_schedule(rule, *due)) due = next_schedule_start(rule, *due);
    if (!due || now < *due) continue;
    if (rule.type == ConditionType::kAbsence) {
      tracker.absence_reported = true;
      raise(key, tracker, "", "", now, out);
    } else {
      raise(key, tracker, tracker.last_evidence, tracker.last_value, now, out);
      tracker.true_since.reset();  // this stretch of the condition has raised
    }
  }
  for (auto& [key, active] : active_)
    while (active.next_step_at && *active.next_step_at <= now) {
      auto before = active.next_step_at;
      escalate(active, now, out);
      if (active.next_step_at == before) break;  // defensive: never spin
    }
  return out;
}

Output Engine::acknowledge(const std::string& alert_id, const std::string& actor, const std::string& channel,
                           WallTime now) {
  Output out;
  for (auto& [key, active] : active_) {
    if (active.alert.id() != alert_id) continue;
    v1::AlertState from = active.alert.state();
    if (from == v1::ALERT_STATE_ACKNOWLEDGED) return out;  // the same ack twice is one transition
    active.alert.set_state(v1::ALERT_STATE_ACKNOWLEDGED);
    active.next_step_at.reset();  // the ladder stops here
    out.transitions.push_back(transition(active, from, actor, channel, "acknowledged", now));
    return out;
  }
  return out;
}

Output Engine::resolve(const std::string& alert_id, const std::string& actor, const std::string& channel,
                       WallTime now) {
  Output out;
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if (it->second.alert.id() != alert_id) continue;
    v1::AlertState from = it->second.alert.state();
    it->second.alert.set_state(v1::ALERT_STATE_RESOLVED);
    out.transitions.push_back(transition(it->second, from, actor, channel, "resolved by hand", now));
    active_.erase(it);
    return out;
  }
  return out;
}

std::optional<WallTime> Engine::next_wakeup() const {
  std::optional<WallTime> next;
  for (const auto& [key, active] : active_)
    if (active.next_step_at) earliest(next, *active.next_step_at);
  for (const auto& [key, tracker] : trackers_) {
    const Rule& rule = rules_.rules[key.first];
    auto due = pending(rule, parameters_for(rule, tracker.resident), tracker);
    if (due && !in_schedule(rule, *due)) due = next_schedule_start(rule, *due);
    if (due) earliest(next, *due);
  }
  return next;
}

std::vector<v1::Alert> Engine::active_alerts() const {
  std::vector<v1::Alert> out;
  for (const auto& [key, active] : active_) out.push_back(active.alert);
  return out;
}

std::optional<v1::Alert> Engine::find_alert(const std::string& alert_id) const {
  for (const auto& [key, active] : active_)
    if (active.alert.id() == alert_id) return active.alert;
  return std::nullopt;
}

v1::AlertTransition Engine::transition(const ActiveAlert& active, v1::AlertState from, const std::string& actor,
                                       const std::string& channel, const std::string& reason, WallTime now) const {
  v1::AlertTransition t;
  t.set_alert_id(active.alert.id());
  t.set_gateway_id(gateway_id_);
  t.set_from_state(from);
  t.set_to_state(active.alert.state());
  *t.mutable_time() = to_timestamp(now);
  t.set_actor(actor);
  t.set_channel(channel);
  t.set_reason(reason);
  t.set_escalation_step(active.alert.escalation_step());
  *t.mutable_alert() = active.alert;
  return t;
}

std::string Engine::snapshot() const {
  using nlohmann::json;
  json trackers = json::array(), alerts = json::array();
  for (const auto& [key, t] : trackers_) {
    json hits = json::array();
    for (auto h : t.hits) hits.push_back(to_ms(h));
    trackers.push_back({{"rule", rules_.rules[key.first].id},
                        {"subject", key.second},
                        {"condition", t.condition},
                        {"true_since", t.true_since ? json(to_ms(*t.true_since)) : json()},
                        {"hits", hits},
                        {"last_seen", t.last_seen ? json(to_ms(*t.last_seen)) : json()},
                        {"absence_reported", t.absence_reported},
                        {"last_value", t.last_value},
                        {"last_evidence", t.last_evidence},
                        {"device", t.device},
                        {"resident", t.resident},
                        {"room", t.room},
                        {"bed", t.bed}});
  }
  for (const auto& [key, a] : active_)
    alerts.push_back({{"rule", rules_.rules[key.first].id},
                      {"subject", key.second},
                      {"alert", alert_json(a.alert)},
                      {"next_step_at", a.next_step_at ? json(to_ms(*a.next_step_at)) : json()}});
  return json{{"version", 1}, {"trackers", trackers}, {"alerts", alerts}}.dump(-1, ' ', false,
                                                                               json::error_handler_t::replace);
}

void Engine::restore(const std::string& text) {
  using nlohmann::json;
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc["version"] != 1)
    throw RuleError("rule engine snapshot is unreadable");
  auto rule_index = [&](const std::string& id) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < rules_.rules.size(); ++i)
      if (rules_.rules[i].id == id) return i;
    return std::nullopt;  // the rule was removed from the file since: its state goes with it
  };
  // Built aside and swapped in at the end: a snapshot that fails half-way
  // leaves the engine as it was.
  std::map<Key, Tracker> trackers;
  std::map<Key, ActiveAlert> alerts;
  try {
    for (const auto& t : doc.at("trackers")) {
      auto index = rule_index(t.at("rule").get<std::string>());
      if (!index) continue;
      Tracker& tracker = trackers[{*index, t.at("subject").get<std::string>()}];
      tracker.condition = t.at("condition").get<bool>();
      if (!t.at("true_since").is_null()) tracker.true_since = from_ms(t.at("true_since").get<long long>());
      for (const auto& h : t.at("hits")) tracker.hits.push_back(from_ms(h.get<long long>()));
      if (!t.at("last_seen").is_null()) tracker.last_seen = from_ms(t.at("last_seen").get<long long>());
      tracker.absence_reported = t.at("absence_reported").get<bool>();
      tracker.last_value = t.at("last_value").get<std::string>();
      tracker.last_evidence = t.at("last_evidence").get<std::string>();
      tracker.device = t.at("device").get<std::string>();
      tracker.resident = t.at("resident").get<std::string>();
      tracker.room = t.at("room").get<std::string>();
      tracker.bed = t.at("bed").get<std::string>();
    }
    for (const auto& a : doc.at("alerts")) {
      auto index = rule_index(a.at("rule").get<std::string>());
      if (!index) continue;
      ActiveAlert active;
      active.rule = &rules_.rules[*index];
      if (!google::protobuf::util::JsonStringToMessage(a.at("alert").get<std::string>(), &active.alert).ok())
        throw RuleError("rule engine snapshot holds an unreadable alert");
      if (!a.at("next_step_at").is_null()) active.next_step_at = from_ms(a.at("next_step_at").get<long long>());
      if (active.rule->ladder.empty() || !rules_.ladders.contains(active.rule->ladder)) active.next_step_at.reset();
      alerts.emplace(Key{*index, a.at("subject").get<std::string>()}, std::move(active));
    }
  } catch (const json::exception& error) {
    throw RuleError(std::string("rule engine snapshot is unreadable: ") + error.what());
  }
  trackers_ = std::move(trackers);
  active_ = std::move(alerts);
}

}  // namespace eg::rules
