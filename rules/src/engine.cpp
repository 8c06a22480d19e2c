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
  } else if (rule.type == ConditionType::kAway) {
    if (tracker.away_until && !tracker.absence_reported) return *tracker.away_until + seconds(p.for_s);
  } else if (rule.type != ConditionType::kCount && tracker.condition && tracker.true_since) {
    return *tracker.true_since + seconds(p.for_s);
  }
  return std::nullopt;
}

}  // namespace

Engine::Engine(RuleSet rules, std::string gateway_id, Limits limits)
    : rules_(std::move(rules)), gateway_id_(std::move(gateway_id)), limits_(limits) {
  check_residents(rules_);
  // Which rules an event of each kind may touch, in rule order (the order
  // their transitions come out in). A rule with no kind watches every kind.
  rules_by_kind_.resize(static_cast<std::size_t>(v1::EventKind_ARRAYSIZE));
  for (std::size_t kind = 0; kind < rules_by_kind_.size(); ++kind)
    for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
      auto watched = rules_.rules[i].watch.kind;
      if (watched == v1::EVENT_KIND_UNSPECIFIED || static_cast<std::size_t>(watched) == kind)
        rules_by_kind_[kind].push_back(i);
    }
  for (std::size_t i = 0; i < rules_.rules.size(); ++i)
    if (rules_.rules[i].type == ConditionType::kAway) away_rules_.push_back(i);
  // A resident's overrides, applied once here rather than looked up by name
  // for every rule of every event.
  for (const auto& [id, resident] : rules_.residents) {
    if (resident.overrides.empty()) continue;
    std::vector<Parameters> per_rule;
    for (const Rule& rule : rules_.rules) {
      Parameters p = rule.parameters;
      for (const auto& name : parameter_names())
        if (auto it = resident.overrides.find(rule.id + "." + name); it != resident.overrides.end())
          parameter(p, name) = it->second;
      per_rule.push_back(p);
    }
    resident_parameters_.emplace(id, std::move(per_rule));
  }
}

bool Engine::applies(const Rule& rule, const v1::SensorEvent& event) const {
  const Selector& w = rule.watch;
  if (w.kind != v1::EVENT_KIND_UNSPECIFIED && w.kind != event.kind()) return false;
  if (!w.device.empty() && w.device != event.device_id()) return false;
  if (!w.resident.empty() && w.resident != event.resident_id()) return false;
  if (!w.room.empty() && w.room != event.room()) return false;
  if (!w.device_roles.empty() && !event.device_role().empty() && !w.device_roles.contains(event.device_role()))
    return false;
  if (!rule.requires_flag.empty()) {
    auto resident = rules_.residents.find(event.resident_id());
    if (resident == rules_.residents.end() || !resident->second.flags.contains(rule.requires_flag)) return false;
  }
  return true;
}

const Parameters& Engine::parameters_for(std::size_t rule, const std::string& resident_id) const {
  if (!resident_parameters_.empty()) {
    auto resident = resident_parameters_.find(resident_id);
    if (resident != resident_parameters_.end()) return resident->second[rule];
  }
  return rules_.rules[rule].parameters;
}

// Schedules are local wall-clock time: engine time (monotonic) is moved to
// the wall clock for the check, and an opening found on the wall clock is
// moved back.
bool Engine::in_schedule(const Rule& rule, WallTime t) const {
  return in_schedule_wall(rule, wall(t));
}

bool Engine::in_schedule_wall(const Rule& rule, WallTime t) const {
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

std::optional<WallTime> Engine::next_schedule_start(const Rule& rule, WallTime engine_time) const {
  auto start = std::chrono::ceil<std::chrono::minutes>(wall(engine_time));
  if (in_schedule_wall(rule, start)) return WallTime(start) - wall_offset_;
  // Outside every window, the next minute inside one is a window's opening:
  // from_minute local time on an allowed day. Eight days see every weekday.
  const Schedule& s = *rule.schedule;  // without a schedule every time is inside
  auto today = std::chrono::floor<std::chrono::days>(start + rules_.utc_offset);
  for (int i = 0; i <= 8; ++i) {
    auto day = today + std::chrono::days(i);
    auto opening = day + std::chrono::minutes(s.from_minute) - rules_.utc_offset;
    if (opening >= start && s.weekdays.contains(weekday(day))) return WallTime(opening) - wall_offset_;
  }
  return std::nullopt;
}

// When on_time() must look at a tracker: its pending time, moved to the rule
// window's next opening when it falls outside the window.
std::optional<WallTime> Engine::due_of(std::size_t rule_index, const Tracker& tracker) const {
  const Rule& rule = rules_.rules[rule_index];
  auto due = pending(rule, parameters_for(rule_index, tracker.resident), tracker);
  if (due && !in_schedule(rule, *due)) due = next_schedule_start(rule, *due);
  return due;
}

// --- tracker and alert bookkeeping -----------------------------------------

Engine::Tracker& Engine::tracker_for(const Key& key) {
  auto it = trackers_.find(key);
  if (it != trackers_.end()) {
    recency_.splice(recency_.end(), recency_, it->second.recency);
    dirty_trackers_.insert(key);
    return it->second;
  }
  if (trackers_.size() >= limits_.max_trackers) {
    // Full: forget the least recently touched subject that has no alert
    // standing. Only a flood of invented subjects gets here.
    for (auto victim = recency_.begin(); victim != recency_.end(); ++victim) {
      if (active_.contains(*victim)) continue;
      ++counters_.trackers_evicted;
      erase_tracker(trackers_.find(*victim));
      break;
    }
  }
  auto [inserted, ok] = trackers_.emplace(key, Tracker{});
  recency_.push_back(key);
  inserted->second.recency = std::prev(recency_.end());
  dirty_trackers_.insert(key);
  return inserted->second;
}

void Engine::erase_tracker(std::map<Key, Tracker>::iterator it) {
  if (it == trackers_.end()) return;
  if (it->second.indexed_due) due_index_.erase({*it->second.indexed_due, it->first});
  recency_.erase(it->second.recency);
  dirty_trackers_.insert(it->first);
  trackers_.erase(it);
}

// A tracker in its resting state (no condition, no count, never seen for an
// absence) carries nothing a fresh one would not: drop it, so the engine holds
// state only for subjects with something going on.
void Engine::forget_tracker_if_idle(const Key& key) {
  auto it = trackers_.find(key);
  if (it == trackers_.end()) return;
  const Tracker& t = it->second;
  if (t.condition || t.true_since || !t.hits.empty() || t.last_seen || t.resolved || t.away_until) return;
  erase_tracker(it);
}

void Engine::reindex_tracker(const Key& key, Tracker& tracker) {
  auto due = due_of(key.first, tracker);
  if (due == tracker.indexed_due) return;
  if (tracker.indexed_due) due_index_.erase({*tracker.indexed_due, key});
  if (due) due_index_.insert({*due, key});
  tracker.indexed_due = due;
}

void Engine::reindex_alert(const Key& key, ActiveAlert& active) {
  dirty_alerts_.insert(key);
  if (active.next_step_at == active.indexed_step) return;
  if (active.indexed_step) step_index_.erase({*active.indexed_step, key});
  if (active.next_step_at) step_index_.insert({*active.next_step_at, key});
  active.indexed_step = active.next_step_at;
}

void Engine::add_alert(const Key& key, ActiveAlert active) {
  alert_keys_[active.alert.id()] = key;
  auto [it, inserted] = active_.insert_or_assign(key, std::move(active));
  reindex_alert(key, it->second);
}

void Engine::erase_alert(std::map<Key, ActiveAlert>::iterator it) {
  if (it->second.indexed_step) step_index_.erase({*it->second.indexed_step, it->first});
  alert_keys_.erase(it->second.alert.id());
  dirty_alerts_.insert(it->first);
  Key key = it->first;
  active_.erase(it);
  forget_tracker_if_idle(key);
}

// --- events ------------------------------------------------------------------

Output Engine::on_event(const v1::SensorEvent& event, WallTime now) {
  Output out;
  auto kind = static_cast<std::size_t>(event.kind());
  const auto& candidates = rules_by_kind_[kind < rules_by_kind_.size() ? kind : 0];
  // A detector's test or a sensor warming up says nothing about the room;
  // an old state a publisher sends again is not news from the device.
  const bool testing = event.self_test() || event.warming_up();
  const bool stale = event.retained() || event.replayed();
  bool counted = false;
  for (std::size_t i : candidates) {
    const Rule& rule = rules_.rules[i];
    if (!applies(rule, event)) continue;
    const std::string& subject =
        rule.per_device || event.resident_id().empty() ? event.device_id() : event.resident_id();
    Key key{i, subject};
    if (testing && rule.type != ConditionType::kAbsence) {
      // Neither raises nor clears: the state before the test still stands.
      if (!std::exchange(counted, true)) ++counters_.self_test_events;
      continue;
    }
    if (stale && rule.type != ConditionType::kAbsence) {
      auto tracker = trackers_.find(key);
      if (tracker != trackers_.end() && tracker->second.resolved) {
        if (!std::exchange(counted, true)) ++counters_.stale_states_after_resolve;
        continue;
      }
    }
    const Parameters& p = parameters_for(i, event.resident_id());
    auto whereabouts = [&](Tracker& tracker) {
      tracker.device = event.device_id();
      tracker.resident = event.resident_id();
      tracker.room = event.room();
      tracker.bed = event.bed();
    };

    switch (rule.type) {
      case ConditionType::kAbsence: {
        Tracker& tracker = tracker_for(key);
        whereabouts(tracker);
        tracker.last_seen = now;
        tracker.absence_reported = false;
        reindex_tracker(key, tracker);
        if (rule.auto_resolve && active_.contains(key)) clear(key, now, out);
        break;
      }
      case ConditionType::kAway: {
        // A live sign of life from her own devices says she is back; a
        // device's health report or an empty room is not her, and neither is
        // her leaving just after she was marked away.
        if (event.kind() == v1::EVENT_KIND_DEVICE_HEALTH || event.resident_id().empty()) break;
        if (event.has_presence() && !event.presence().present()) break;
        auto tracker = trackers_.find(key);
        if (tracker == trackers_.end() || !tracker->second.away_until) break;
        if (tracker->second.last_seen && now - *tracker->second.last_seen < seconds(p.within_s)) break;
        back_home(key, tracker->second, now, out);
        break;
      }
      case ConditionType::kCount: {
        if (!rule.field.empty()) {
          auto word = read_word(event, rule.field);
          if (!word || !rule.equals.contains(*word)) break;
        }
        Tracker& tracker = tracker_for(key);
        whereabouts(tracker);
        if (!stale) tracker.resolved = false;  // a live press: news again
        tracker.hits.push_back(now);
        while (!tracker.hits.empty() && now - tracker.hits.front() > seconds(p.within_s)) tracker.hits.pop_front();
        if (tracker.hits.size() >= static_cast<std::size_t>(p.at_least) && in_schedule(rule, now))
          raise(key, tracker, event.id(), "", now, out);
        break;
      }
      case ConditionType::kMatch:
      case ConditionType::kThreshold: {
        auto existing = trackers_.find(key);
        const bool was = existing != trackers_.end() && existing->second.condition;
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
          double v = *number;
          // Hysteresis: once raised, the condition holds until the value
          // passes the clear mark (defaults to the raise mark itself).
          if (!std::isnan(p.above)) {
            double clear_at = std::isnan(p.clear_below) ? p.above : p.clear_below;
            condition = was ? !(v < clear_at) : v > p.above;
          } else {
            double clear_at = std::isnan(p.clear_above) ? p.below : p.clear_above;
            condition = was ? !(v > clear_at) : v < p.below;
          }
          if (condition || existing != trackers_.end()) value = std::to_string(v);
        }
        if (!condition && !clearable_by(key, existing, event.device_id())) {
          // Only the device that raised an alarm may say it is over: a
          // second detector of the same resident (or a compromised plug
          // claiming to be one) reporting "clear" does not end a gas alarm.
          ++counters_.clears_from_other_devices;
          break;
        }
        if (!condition && existing == trackers_.end()) {
          // Nothing going on for this subject, as before: no state to keep.
          if (rule.auto_resolve && active_.contains(key)) clear(key, now, out);
          break;
        }
        Tracker& tracker = tracker_for(key);
        whereabouts(tracker);
        bool rising = condition && !tracker.condition;
        if (condition && !stale) tracker.resolved = false;  // the device itself reports it: news again
        tracker.condition = condition;
        tracker.last_value = value;
        tracker.last_evidence = event.id();
        if (!condition) {
          tracker.true_since.reset();
          reindex_tracker(key, tracker);
          if (rule.auto_resolve && active_.contains(key)) clear(key, now, out);
          forget_tracker_if_idle(key);
          break;
        }
        // true_since runs from the rising edge until the condition raises, so
        // on_time() raises a stretch of the condition once and a resolve by
        // hand is not undone by the timer. An event that reports the condition
        // again is news, though (an SOS button pressed again): with no alert
        // standing it raises a new one.
        if (rising) tracker.true_since = now;
        // With an alert standing, a report of the condition that is not a
        // rising edge is news only for press-style rules (retrigger =
        // each_event); a vital sign that stays high is one episode.
        auto active = active_.find(key);
        const bool standing = active != active_.end();
        bool held =
            tracker.true_since ? now - *tracker.true_since >= seconds(p.for_s) : !standing || rule.retrigger_each_event;
        // A worse value (suspected -> detected) raises the standing alert's severity.
        bool worse = active != active_.end() && severity_of(rule, value) > active->second.alert.severity();
        if ((held || worse) && in_schedule(rule, now)) {
          raise(key, tracker, event.id(), value, now, out);
          tracker.true_since.reset();
        }
        reindex_tracker(key, tracker);  // else on_time() raises when the duration is reached
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
    if (alert.state() == v1::ALERT_STATE_ACKNOWLEDGED) {
      // Acknowledged is not finished: a second fall, the button pressed
      // again, is told to the ladder as if new.
      new_episode(active, reason + " while acknowledged", now, out);
    } else {
      out.transitions.push_back(transition(active, alert.state(), "rule-engine", "rules", reason, now));
    }
    reindex_alert(key, active);
    return;
  }
  if (active_.size() >= limits_.max_active_alerts) {
    ++counters_.alerts_refused;
    return;
  }

  ActiveAlert active;
  active.rule = &rule;
  v1::Alert& alert = active.alert;
  alert.set_id(rule.id + ":" + key.second + ":" + std::to_string(to_ms(wall(now))));
  alert.set_gateway_id(gateway_id_);
  alert.set_rule_id(rule.id);
  alert.set_resident_id(tracker.resident);
  alert.set_device_id(tracker.device);
  alert.set_room(tracker.room);
  alert.set_bed(tracker.bed);
  alert.set_severity(severity);
  alert.set_state(v1::ALERT_STATE_RAISED);
  alert.set_trigger_count(1);
  alert.set_episode(1);
  *alert.mutable_raised_time() = to_timestamp(wall(now));
  alert.set_summary(rule.summary + (tracker.room.empty() ? "" : " in room " + tracker.room));
  if (!evidence.empty()) alert.add_evidence_event_ids(evidence);
  add_alert(key, std::move(active));
  ActiveAlert& added = active_.at(key);
  out.transitions.push_back(
      transition(added, v1::ALERT_STATE_UNSPECIFIED, "rule-engine", "rules", "condition met", now));
  // The first rung starts at once: raising an alert means telling someone.
  if (!rule.ladder.empty()) {
    added.next_step_at = now;
    escalate(added, now, out);
    reindex_alert(key, added);
  }
}

void Engine::escalate(ActiveAlert& active, WallTime now, Output& out) {
  const Ladder& ladder = rules_.ladders.at(active.rule->ladder);
  const auto size = static_cast<std::uint32_t>(ladder.steps.size());
  // Deadlines run from when the step was due, not from when we got round to
  // it, so a late wake-up (or a restart) does not stretch the ladder.
  WallTime due = active.next_step_at.value_or(now);
  std::uint32_t step = active.alert.escalation_step();
  // Repeats that fell due while we slept (a late wake-up, a restart) are
  // covered by this delivery: one, not one per missed period. The next keeps
  // the rhythm, after now.
  auto next_repeat = [&](WallTime next) {
    const auto every = ladder.repeat_every;
    if (next <= now) next += every * ((now - next) / every + 1);
    return next;
  };
  if (step >= size) {  // past the end (also a restored alert on a ladder shortened since)
    if (ladder.repeat_every.count() == 0) {
      active.next_step_at.reset();  // the ladder is exhausted; the alert waits for a person
      return;
    }
    // Everybody on the ladder again, in order (or only the last rung).
    for (std::uint32_t s = ladder.repeat_all ? 1 : size; s <= size; ++s)
      deliver_rung(active, s,
                   ladder.repeat_all ? "repeat of the ladder: still no acknowledgement"
                                     : "repeat of the last step: still no acknowledgement",
                   now, out);
    active.next_step_at = next_repeat(due + ladder.repeat_every);
    return;
  }
  // Climb to the next rung that can deliver: one that cannot (no channel
  // configured, uplink down) is recorded and passed at once, not counted as
  // someone told.
  std::string reason =
      step == 0 ? "first step"
                : "no acknowledgement within " + std::to_string(ladder.steps[step - 1].timeout.count()) + " s";
  for (;;) {
    ++step;
    const bool delivered = deliver_rung(active, step, reason, now, out);
    if (delivered || step == size) break;
    reason = "step " + std::to_string(step) + " (" + ladder.steps[step - 1].target + ") cannot be reached";
  }
  const Step& rung = ladder.steps[step - 1];
  if (step < size) {
    active.next_step_at = due + rung.timeout;
  } else if (ladder.repeat_every.count() > 0) {
    active.next_step_at = next_repeat(due + rung.timeout);
  } else {
    active.next_step_at.reset();
  }
}

bool Engine::deliver_rung(ActiveAlert& active, std::uint32_t step, const std::string& reason, WallTime now,
                          Output& out) {
  const Step& rung = rules_.ladders.at(active.rule->ladder).steps[step - 1];
  v1::Alert& alert = active.alert;
  v1::AlertState from = alert.state();
  alert.set_escalation_step(step);
  alert.set_state(v1::ALERT_STATE_ESCALATING);
  const bool ok = reachable(rung.target, alert);
  auto t = transition(active, from, "rule-engine", "rules",
                      ok ? reason : reason + "; " + rung.target + " cannot be reached: not delivered", now);
  t.set_escalation_target(rung.target);
  if (!ok) t.set_delivery(v1::DELIVERY_FAILED);
  out.transitions.push_back(std::move(t));
  (ok ? out.deliveries : out.undeliverable).push_back({rung.target, step, alert});
  return ok;
}

std::chrono::seconds Engine::realert_after(const ActiveAlert& active) const {
  if (active.rule->realert_after) return *active.rule->realert_after;
  auto ladder = rules_.ladders.find(active.rule->ladder);
  return ladder == rules_.ladders.end() ? std::chrono::seconds(0) : ladder->second.realert_after;
}

// An acknowledged alert comes back: a new episode, from the first rung.
void Engine::new_episode(ActiveAlert& active, const std::string& reason, WallTime now, Output& out) {
  v1::Alert& alert = active.alert;
  v1::AlertState from = alert.state();
  alert.set_episode(std::max<std::uint32_t>(alert.episode(), 1) + 1);
  alert.set_escalation_step(0);
  alert.set_state(v1::ALERT_STATE_RAISED);
  out.transitions.push_back(
      transition(active, from, "rule-engine", "rules", reason + ": episode " + std::to_string(alert.episode()), now));
  active.next_step_at.reset();
  if (!active.rule->ladder.empty() && rules_.ladders.contains(active.rule->ladder)) {
    active.next_step_at = now;
    escalate(active, now, out);
  }
}

void Engine::clear(const Key& key, WallTime now, Output& out) {
  auto it = active_.find(key);
  if (it == active_.end()) return;
  v1::AlertState from = it->second.alert.state();
  it->second.alert.set_state(v1::ALERT_STATE_RESOLVED);
  out.transitions.push_back(transition(it->second, from, "rule-engine", "rules", "condition cleared", now));
  erase_alert(it);
  tracker_for(key).resolved = true;  // a stale copy of the old alarm must not bring it back
}

// --- time ----------------------------------------------------------------------

Output Engine::on_time(WallTime now) {
  Output out;
  // Only what is due: the indexes are ordered by deadline. Entries are taken
  // out as they fire and put back after the pass, so a deadline that does not
  // move (defensive) waits for the next call instead of spinning here.
  std::vector<Key> fired;
  while (!due_index_.empty() && due_index_.begin()->first <= now) {
    Key key = due_index_.begin()->second;
    due_index_.erase(due_index_.begin());
    auto it = trackers_.find(key);
    if (it == trackers_.end()) continue;
    Tracker& tracker = it->second;
    tracker.indexed_due.reset();
    dirty_trackers_.insert(key);
    // A due time slept through (a restart) fires now even if the rule's
    // window has closed since; waiting for the next window would leave the
    // deadline in the past and the gateway waking in a loop.
    const ConditionType type = rules_.rules[key.first].type;
    if (type == ConditionType::kAbsence && !tracker.resident.empty() && is_away(tracker.resident)) {
      // She is out: her home being quiet is expected. The silence counts
      // again from her expected return (or now, if that has passed).
      tracker.last_seen = std::max(now, away_until_of(tracker.resident).value_or(now));
    } else if (type == ConditionType::kAbsence || type == ConditionType::kAway) {
      tracker.absence_reported = true;
      raise(key, tracker, "", type == ConditionType::kAway ? "overdue" : "", now, out);
    } else {
      raise(key, tracker, tracker.last_evidence, tracker.last_value, now, out);
      tracker.true_since.reset();  // this stretch of the condition has raised
    }
    fired.push_back(std::move(key));
  }
  for (const Key& key : fired)
    if (auto it = trackers_.find(key); it != trackers_.end()) reindex_tracker(key, it->second);

  fired.clear();
  while (!step_index_.empty() && step_index_.begin()->first <= now) {
    Key key = step_index_.begin()->second;
    step_index_.erase(step_index_.begin());
    auto it = active_.find(key);
    if (it == active_.end()) continue;
    ActiveAlert& active = it->second;
    active.indexed_step.reset();
    if (active.alert.state() == v1::ALERT_STATE_ACKNOWLEDGED) {
      new_episode(active,
                  "acknowledged but not resolved within " + std::to_string(realert_after(active).count()) + " s", now,
                  out);
      fired.push_back(std::move(key));
      continue;
    }
    while (active.next_step_at && *active.next_step_at <= now) {
      auto before = active.next_step_at;
      escalate(active, now, out);
      if (active.next_step_at == before) break;  // defensive: never spin
    }
    fired.push_back(std::move(key));
  }
  for (const Key& key : fired)
    if (auto it = active_.find(key); it != active_.end()) reindex_alert(key, it->second);
  return out;
}

// --- people ----------------------------------------------------------------------

Output Engine::acknowledge(const std::string& alert_id, const std::string& actor, const std::string& channel,
                           WallTime now) {
  Output out;
  auto found = alert_keys_.find(alert_id);
  if (found == alert_keys_.end()) return out;
  Key key = found->second;
  ActiveAlert& active = active_.at(key);
  v1::AlertState from = active.alert.state();
  if (from == v1::ALERT_STATE_ACKNOWLEDGED) return out;  // the same ack twice is one transition
  active.alert.set_state(v1::ALERT_STATE_ACKNOWLEDGED);
  // The ladder stops here; the re-alert timer starts.
  auto after = realert_after(active);
  active.next_step_at = after.count() > 0 ? std::optional<WallTime>(now + after) : std::nullopt;
  reindex_alert(key, active);
  out.transitions.push_back(transition(active, from, actor, channel, "acknowledged", now));
  return out;
}

Output Engine::resolve(const std::string& alert_id, const std::string& actor, const std::string& channel, WallTime now,
                       const std::string& reason) {
  Output out;
  auto found = alert_keys_.find(alert_id);
  if (found == alert_keys_.end()) return out;
  auto it = active_.find(found->second);
  v1::AlertState from = it->second.alert.state();
  it->second.alert.set_state(v1::ALERT_STATE_RESOLVED);
  out.transitions.push_back(transition(it->second, from, actor, channel, reason, now));
  const Key key = it->first;
  erase_alert(it);
  // Remembered until the device itself reports again, so a retained or
  // replayed copy of the old alarm state does not bring the alert back.
  tracker_for(key).resolved = true;
  return out;
}

bool Engine::clearable_by(const Key& key, std::map<Key, Tracker>::const_iterator tracker,
                          const std::string& device) const {
  if (tracker != trackers_.end() && tracker->second.condition) return tracker->second.device == device;
  auto alert = active_.find(key);
  return alert == active_.end() || alert->second.alert.device_id() == device;
}

Output Engine::device_cancel(const v1::SensorEvent& event, std::chrono::seconds window, WallTime now) {
  Output out;
  const std::string actor = "device:" + event.device_id();
  const WallTime wall_now = wall(now);
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
    for (const std::string* subject : {&event.resident_id(), &event.device_id()}) {
      if (subject->empty()) continue;
      auto it = active_.find(Key{i, *subject});
      if (it == active_.end()) continue;
      const v1::Alert& alert = it->second.alert;
      // Only the device that raised an alert may cancel it: another device,
      // even the same resident's, could be a compromised one.
      if (alert.device_id() != event.device_id()) {
        ++counters_.cancels_from_other_devices;
        continue;
      }
      const WallTime raised{std::chrono::duration_cast<WallTime::duration>(
          std::chrono::nanoseconds(google::protobuf::util::TimeUtil::TimestampToNanoseconds(alert.raised_time())))};
      const bool in_window = window.count() > 0 && wall_now >= raised && wall_now - raised <= window;
      Output step;
      if (in_window)
        step = resolve(alert.id(), actor, "device", now,
                       "cancelled by the resident within " + std::to_string(window.count()) + " s");
      else if (alert.state() != v1::ALERT_STATE_ACKNOWLEDGED)
        step = acknowledge(alert.id(), actor, "device", now);
      for (auto& t : step.transitions) out.transitions.push_back(std::move(t));
      for (auto& d : step.deliveries) out.deliveries.push_back(std::move(d));
      break;  // the resident's and the device's key are the same alert when both match
    }
  }
  return out;
}

bool Engine::set_away(const std::string& resident, WallTime expected_return, WallTime now) {
  for (std::size_t i : away_rules_) {
    Key key{i, resident};
    Tracker& tracker = tracker_for(key);
    tracker.resident = resident;
    tracker.away_until = std::max(expected_return, now);
    tracker.last_seen = now;  // when she was marked away: her leaving follows
    tracker.absence_reported = false;
    reindex_tracker(key, tracker);
  }
  return !away_rules_.empty();
}

Output Engine::returned(const std::string& resident, WallTime now) {
  Output out;
  for (std::size_t i : away_rules_) {
    Key key{i, resident};
    auto tracker = trackers_.find(key);
    if (tracker != trackers_.end() && tracker->second.away_until) back_home(key, tracker->second, now, out);
  }
  return out;
}

void Engine::back_home(const Key& key, Tracker& tracker, WallTime now, Output& out) {
  tracker.away_until.reset();
  tracker.last_seen.reset();
  tracker.absence_reported = false;
  dirty_trackers_.insert(key);
  reindex_tracker(key, tracker);
  if (rules_.rules[key.first].auto_resolve && active_.contains(key)) clear(key, now, out);
  forget_tracker_if_idle(key);
}

bool Engine::is_away(const std::string& resident) const {
  return away_until_of(resident).has_value();
}

std::optional<WallTime> Engine::away_until_of(const std::string& resident) const {
  for (std::size_t i : away_rules_) {
    auto tracker = trackers_.find(Key{i, resident});
    if (tracker != trackers_.end() && tracker->second.away_until) return tracker->second.away_until;
  }
  return std::nullopt;
}

std::optional<WallTime> Engine::next_wakeup() const {
  std::optional<WallTime> next;
  if (!due_index_.empty()) next = due_index_.begin()->first;
  if (!step_index_.empty() && (!next || step_index_.begin()->first < *next)) next = step_index_.begin()->first;
  return next;
}

std::vector<v1::Alert> Engine::active_alerts() const {
  std::vector<v1::Alert> out;
  out.reserve(active_.size());
  for (const auto& [key, active] : active_) out.push_back(active.alert);
  return out;
}

std::optional<v1::Alert> Engine::find_alert(const std::string& alert_id) const {
  auto found = alert_keys_.find(alert_id);
  if (found == alert_keys_.end()) return std::nullopt;
  return active_.at(found->second).alert;
}

v1::AlertTransition Engine::transition(const ActiveAlert& active, v1::AlertState from, const std::string& actor,
                                       const std::string& channel, const std::string& reason, WallTime now) const {
  v1::AlertTransition t;
  t.set_alert_id(active.alert.id());
  t.set_gateway_id(gateway_id_);
  t.set_from_state(from);
  t.set_to_state(active.alert.state());
  *t.mutable_time() = to_timestamp(wall(now));
  t.set_actor(actor);
  t.set_channel(channel);
  t.set_reason(reason);
  t.set_escalation_step(active.alert.escalation_step());
  *t.mutable_alert() = active.alert;
  return t;
}

// --- persistence -------------------------------------------------------------------

namespace {

using nlohmann::json;

json optional_ms(const std::optional<WallTime>& t) {
  return t ? json(to_ms(*t)) : json();
}

std::optional<WallTime> read_optional_ms(const json& j) {
  if (j.is_null()) return std::nullopt;
  return from_ms(j.get<long long>());
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string Engine::tracker_text(const Tracker& t) const {
  json hits = json::array();
  for (auto h : t.hits) hits.push_back(to_ms(h));
  return dump({{"condition", t.condition},
               {"true_since", optional_ms(t.true_since)},
               {"hits", hits},
               {"last_seen", optional_ms(t.last_seen)},
               {"absence_reported", t.absence_reported},
               {"resolved", t.resolved},
               {"away_until", optional_ms(t.away_until)},
               {"last_value", t.last_value},
               {"last_evidence", t.last_evidence},
               {"device", t.device},
               {"resident", t.resident},
               {"room", t.room},
               {"bed", t.bed},
               {"wall_offset_ms", std::chrono::duration_cast<milliseconds>(wall_offset_).count()}});
}

std::string Engine::alert_text(const ActiveAlert& a) const {
  return dump({{"alert", alert_json(a.alert)},
               {"next_step_at", optional_ms(a.next_step_at)},
               {"wall_offset_ms", std::chrono::duration_cast<milliseconds>(wall_offset_).count()}});
}

std::vector<StateRow> Engine::take_changes() {
  std::vector<StateRow> rows;
  rows.reserve(dirty_trackers_.size() + dirty_alerts_.size());
  for (const Key& key : dirty_trackers_) {
    auto it = trackers_.find(key);
    rows.push_back({StateRow::Table::kTracker, rules_.rules[key.first].id, key.second,
                    it == trackers_.end() ? std::string() : tracker_text(it->second)});
  }
  for (const Key& key : dirty_alerts_) {
    auto it = active_.find(key);
    rows.push_back({StateRow::Table::kAlert, rules_.rules[key.first].id, key.second,
                    it == active_.end() ? std::string() : alert_text(it->second)});
  }
  dirty_trackers_.clear();
  dirty_alerts_.clear();
  return rows;
}

std::vector<StateRow> Engine::all_rows() const {
  std::vector<StateRow> rows;
  for (const auto& [key, t] : trackers_)
    rows.push_back({StateRow::Table::kTracker, rules_.rules[key.first].id, key.second, tracker_text(t)});
  for (const auto& [key, a] : active_)
    rows.push_back({StateRow::Table::kAlert, rules_.rules[key.first].id, key.second, alert_text(a)});
  return rows;
}

std::chrono::seconds Engine::longest_wait() const {
  std::chrono::seconds longest{60};
  for (const auto& [id, ladder] : rules_.ladders) {
    longest = std::max({longest, ladder.repeat_every, ladder.realert_after});
    for (const Step& step : ladder.steps) longest = std::max(longest, step.timeout);
  }
  for (const Rule& rule : rules_.rules) longest = std::max(longest, rule.realert_after.value_or(longest));
  return longest;
}

void Engine::restore_rows(const std::vector<StateRow>& rows, std::optional<WallTime> now) {
  std::unordered_map<std::string, std::size_t> rule_index;
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) rule_index.emplace(rules_.rules[i].id, i);
  // Built aside and swapped in at the end: rows that fail half-way leave the
  // engine as it was.
  std::map<Key, Tracker> trackers;
  std::map<Key, ActiveAlert> alerts;
  const auto longest = longest_wait();  // once, not per restored alert
  try {
    for (const StateRow& row : rows) {
      auto index = rule_index.find(row.rule);
      if (index == rule_index.end()) continue;  // the rule was removed since: its state goes with it
      Key key{index->second, row.subject};
      auto doc = json::parse(row.state);
      // Times were saved on the engine time of their run; wall_offset_ms then
      // and now carries them to ours (a wall clock stepped in between moves
      // nothing). What happened cannot be later than now, and no deadline
      // further away than the longest wait the rules have: a clock that
      // restarted in the past (no RTC) fires early, never never.
      const auto shift = milliseconds(doc.value("wall_offset_ms", 0LL)) - wall_offset_;
      auto happened = [&](std::optional<WallTime> t) -> std::optional<WallTime> {
        if (!t) return t;
        *t += shift;
        return now ? std::min(*t, *now) : *t;
      };
      if (row.table == StateRow::Table::kTracker) {
        Tracker& tracker = trackers[key];
        tracker.condition = doc.at("condition").get<bool>();
        tracker.true_since = happened(read_optional_ms(doc.at("true_since")));
        for (const auto& h : doc.at("hits")) tracker.hits.push_back(*happened(from_ms(h.get<long long>())));
        tracker.last_seen = happened(read_optional_ms(doc.at("last_seen")));
        tracker.absence_reported = doc.at("absence_reported").get<bool>();
        tracker.resolved = doc.value("resolved", false);
        // A deadline, not something that happened: moved, never clamped.
        if (doc.contains("away_until")) {
          tracker.away_until = read_optional_ms(doc.at("away_until"));
          if (tracker.away_until) *tracker.away_until += shift;
        }
        tracker.last_value = doc.at("last_value").get<std::string>();
        tracker.last_evidence = doc.at("last_evidence").get<std::string>();
        tracker.device = doc.at("device").get<std::string>();
        tracker.resident = doc.at("resident").get<std::string>();
        tracker.room = doc.at("room").get<std::string>();
        tracker.bed = doc.at("bed").get<std::string>();
      } else {
        ActiveAlert active;
        active.rule = &rules_.rules[index->second];
        if (!google::protobuf::util::JsonStringToMessage(doc.at("alert").get<std::string>(), &active.alert).ok())
          throw RuleError("rule engine state holds an unreadable alert");
        active.next_step_at = read_optional_ms(doc.at("next_step_at"));
        if (active.next_step_at) {
          *active.next_step_at += shift;
          if (now) active.next_step_at = std::min(*active.next_step_at, *now + longest);
        }
        const bool has_ladder = !active.rule->ladder.empty() && rules_.ladders.contains(active.rule->ladder);
        if (!has_ladder && active.alert.state() != v1::ALERT_STATE_ACKNOWLEDGED) active.next_step_at.reset();
        alerts.insert_or_assign(key, std::move(active));
      }
    }
  } catch (const json::exception& error) {
    throw RuleError(std::string("rule engine state is unreadable: ") + error.what());
  }
  trackers_ = std::move(trackers);
  active_ = std::move(alerts);
  recency_.clear();
  due_index_.clear();
  step_index_.clear();
  alert_keys_.clear();
  for (auto& [key, tracker] : trackers_) {
    recency_.push_back(key);
    tracker.recency = std::prev(recency_.end());
    reindex_tracker(key, tracker);
  }
  for (auto& [key, active] : active_) {
    alert_keys_[active.alert.id()] = key;
    reindex_alert(key, active);
  }
  dirty_trackers_.clear();
  dirty_alerts_.clear();
}

std::string Engine::snapshot() const {
  json trackers = json::array(), alerts = json::array();
  for (const StateRow& row : all_rows()) {
    json entry = {{"rule", row.rule}, {"subject", row.subject}, {"state", json::parse(row.state)}};
    (row.table == StateRow::Table::kTracker ? trackers : alerts).push_back(std::move(entry));
  }
  return dump(json{{"version", 2}, {"trackers", trackers}, {"alerts", alerts}});
}

void Engine::restore(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("version"))
    throw RuleError("rule engine snapshot is unreadable");
  std::vector<StateRow> rows;
  try {
    const int version = doc.at("version").get<int>();
    if (version != 1 && version != 2)
      throw RuleError("rule engine snapshot has unknown version " + std::to_string(version));
    for (auto table : {StateRow::Table::kTracker, StateRow::Table::kAlert}) {
      for (const auto& entry : doc.at(table == StateRow::Table::kTracker ? "trackers" : "alerts")) {
        StateRow row{table, entry.at("rule").get<std::string>(), entry.at("subject").get<std::string>(), {}};
        if (version == 2) {
          row.state = dump(entry.at("state"));
        } else {  // version 1, whole-state snapshots of earlier gateways: fields beside rule and subject
          json state = entry;
          state.erase("rule");
          state.erase("subject");
          row.state = dump(state);
        }
        rows.push_back(std::move(row));
      }
    }
  } catch (const json::exception& error) {
    throw RuleError(std::string("rule engine snapshot is unreadable: ") + error.what());
  }
  restore_rows(rows);
}

}  // namespace eg::rules
