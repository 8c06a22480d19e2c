// The rule engine, sans-I/O: fed events, acknowledgements and "time is now T",
// it returns alert transitions and deliveries to make, and says when it next
// needs waking. It owns no timer and reads no clock, so tests run hours of
// escalation in microseconds and a replay gives byte-identical transitions.
// Single-threaded: the gateway calls it from its loop only.
//
// Cost per event does not depend on how many devices, rules or alerts exist:
// rules are indexed by the event kind they watch, pending deadlines live in
// ordered indexes updated only for the trackers an event touches, and the
// state is persisted as the rows that changed (take_changes), not as a
// snapshot of everything.
#pragma once

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/rules/rule_set.hpp"

namespace eg::rules {

// An escalation step to carry out: tell `target` about `alert`.
struct Delivery {
  std::string target;
  std::uint32_t step = 0;
  eldercare::v1::Alert alert;
};

struct Output {
  std::vector<eldercare::v1::AlertTransition> transitions;
  std::vector<Delivery> deliveries;
  // Rungs the ladder could not reach with this configuration (no channel,
  // uplink down): skipped, recorded upstream as failed deliveries; the
  // gateway tells the maintainer.
  std::vector<Delivery> undeliverable;
  bool empty() const { return transitions.empty() && deliveries.empty() && undeliverable.empty(); }
};

// Whether an escalation target can be reached now for this alert (a family
// channel is per resident). The engine asks it at each rung; a rung that
// cannot deliver is skipped, not counted as delivered.
using Reachability = std::function<bool(const std::string& target, const eldercare::v1::Alert& alert)>;

// One persisted piece of engine state: a tracker (per rule and subject) or an
// active alert. `state` is the engine's own text; empty in a change means the
// row is gone.
struct StateRow {
  enum class Table { kTracker, kAlert };
  Table table = Table::kTracker;
  std::string rule;
  std::string subject;
  std::string state;
};

// Bounds on what untrusted input can make the engine hold.
struct Limits {
  // Trackers beyond this evict the least recently touched one that has no
  // active alert (its partial count or duration is forgotten, counted).
  std::size_t max_trackers = 50'000;
  // Alerts beyond this are refused (counted): an attacker inventing devices
  // must not exhaust memory; 10,000 open alerts is no longer a care home.
  std::size_t max_active_alerts = 10'000;
};

struct EngineCounters {
  std::uint64_t trackers_evicted = 0;
  std::uint64_t alerts_refused = 0;
  // Events that raised nothing because of what they are (issue 12 #14).
  std::uint64_t self_test_events = 0;            // a detector's test, a sensor's warm-up
  std::uint64_t stale_states_after_resolve = 0;  // retained or replayed alarm states staff had resolved
  std::uint64_t clears_from_other_devices = 0;   // an "all clear" for an alarm another device raised
  std::uint64_t cancels_from_other_devices = 0;  // a cancel for an alert another device raised
};

class Engine {
 public:
  Engine(RuleSet rules, std::string gateway_id, Limits limits = {});
  // Active alerts point into the engine's own rules: copying would dangle.
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The engine's `now` is monotonic time (immune to clock steps); the wall
  // clock minus it is this offset, used for timestamps, alert ids and
  // time-of-day schedules. The gateway sets it before each call; 0 (tests):
  // engine time is wall time.
  void set_wall_offset(WallTime::duration offset) { wall_offset_ = offset; }

  // Unset: every target is reachable.
  void set_reachability(Reachability reachable) { reachable_ = std::move(reachable); }

  Output on_event(const eldercare::v1::SensorEvent& event, WallTime now);
  // Fires what is due at `now`: durations reached, absences, escalation timeouts.
  Output on_time(WallTime now);
  // Someone took responsibility. Idempotent: acknowledging an alert that is
  // already acknowledged or resolved (or unknown) changes nothing. The
  // ladder stops; if the alert is not resolved within realert_after it
  // re-alerts, and a new trigger meanwhile re-raises it at once (a new
  // episode with its own ladder).
  Output acknowledge(const std::string& alert_id, const std::string& actor, const std::string& channel, WallTime now);
  Output resolve(const std::string& alert_id, const std::string& actor, const std::string& channel, WallTime now,
                 const std::string& reason = "resolved by hand");

  // The earliest time on_time() has work; nullopt when nothing is pending. O(1).
  std::optional<WallTime> next_wakeup() const;

  // "I am fine" from the resident's cancel button (`event`, with resident and
  // device): resolves her call (an SOS of hers, or what this very device
  // raised) when it was raised no more than `window` ago; acknowledges her
  // other alerts (a gas alarm in her flat: she cannot close what a sensor
  // saw). Looks up her alerts by rule, not by scanning every alert.
  Output device_cancel(const eldercare::v1::SensorEvent& event, std::chrono::seconds window, WallTime now);

  // The resident is out until `expected_return` (engine time): absence rules
  // pause for her, and the away rules raise if she is not back by then (plus
  // their grace). False when the rules have no away rule to keep it in.
  bool set_away(const std::string& resident, WallTime expected_return, WallTime now);
  // She is back (staff say so; a sign of life from her devices does the same
  // in on_event): the pause ends and an overdue alert resolves.
  Output returned(const std::string& resident, WallTime now);
  bool is_away(const std::string& resident) const;

  std::vector<eldercare::v1::Alert> active_alerts() const;
  std::size_t active_count() const { return active_.size(); }
  // The alert as it stands now, if it is still active.
  std::optional<eldercare::v1::Alert> find_alert(const std::string& alert_id) const;
  std::size_t tracked_subjects() const { return trackers_.size(); }
  const EngineCounters& counters() const { return counters_; }
  const RuleSet& rules() const { return rules_; }

  // The rows changed since the last call (trackers and alerts touched), to be
  // written in the same transaction as the events that changed them.
  std::vector<StateRow> take_changes();
  bool has_changes() const { return !dirty_trackers_.empty() || !dirty_alerts_.empty(); }
  // Every row, as after a full save (tests, migration from a snapshot).
  std::vector<StateRow> all_rows() const;
  // Replaces the state with the rows of an earlier run: alerts resume at
  // their step with their deadlines, absence rules count the downtime. Rows
  // of rules that no longer exist are dropped. Throws RuleError on a row it
  // cannot read; the engine is then unchanged.
  // With `now`, times restored are kept sane: events no later than now,
  // deadlines no further than the rules' longest wait from now.
  void restore_rows(const std::vector<StateRow>& rows, std::optional<WallTime> now = std::nullopt);

  // The whole mutable state as one text (JSON): tests and tools compare it.
  std::string snapshot() const;
  // Throws RuleError if the text is not a snapshot of this engine's rules.
  void restore(const std::string& snapshot);

 private:
  using Key = std::pair<std::size_t, std::string>;  // rule index, subject
  struct Tracker {                                  // one per (rule, subject)
    bool condition = false;                         // threshold/match state (with hysteresis)
    std::optional<WallTime> true_since;             // for durations
    std::deque<WallTime> hits;                      // for counts
    std::optional<WallTime> last_seen;              // for absence
    std::string device, resident, room, bed;        // the subject's latest whereabouts
    bool absence_reported = false;                  // absence: raised; away: the overdue return raised
    // Away rules: the resident is out until then (engine time); unset once a
    // sign of life or staff say she is back.
    std::optional<WallTime> away_until;
    // This subject's alert was resolved (by staff, or by the device's own
    // clear): a stale copy of the alarm state (retained, a publisher's
    // replay) must not bring it back. Only a live report starts a new alert.
    bool resolved = false;
    std::string last_value;               // for a raise when a duration is reached in on_time()
    std::string last_evidence;            // the event id that last made the condition true
    std::optional<WallTime> indexed_due;  // its entry in due_index_
    std::list<Key>::iterator recency;     // its place in recency_
  };
  struct ActiveAlert {
    eldercare::v1::Alert alert;
    std::optional<WallTime> next_step_at;
    std::optional<WallTime> indexed_step;  // its entry in step_index_
    const Rule* rule = nullptr;
  };

  bool applies(const Rule& rule, const eldercare::v1::SensorEvent& event) const;
  const Parameters& parameters_for(std::size_t rule, const std::string& resident) const;
  WallTime wall(WallTime engine_time) const { return engine_time + wall_offset_; }
  bool in_schedule(const Rule& rule, WallTime t) const;
  bool in_schedule_wall(const Rule& rule, WallTime t) const;
  std::chrono::seconds longest_wait() const;
  std::optional<WallTime> next_schedule_start(const Rule& rule, WallTime t) const;
  std::optional<WallTime> due_of(std::size_t rule, const Tracker& tracker) const;

  Tracker& tracker_for(const Key& key);
  void reindex_tracker(const Key& key, Tracker& tracker);
  void forget_tracker_if_idle(const Key& key);
  void back_home(const Key& key, Tracker& tracker, WallTime now, Output& out);
  std::optional<WallTime> away_until_of(const std::string& resident) const;
  void erase_tracker(std::map<Key, Tracker>::iterator it);
  void reindex_alert(const Key& key, ActiveAlert& active);
  void erase_alert(std::map<Key, ActiveAlert>::iterator it);
  void add_alert(const Key& key, ActiveAlert active);

  void raise(const Key& key, Tracker& tracker, const std::string& evidence, std::string value, WallTime now,
             Output& out);
  void clear(const Key& key, WallTime now, Output& out);
  void escalate(ActiveAlert& active, WallTime now, Output& out);
  void new_episode(ActiveAlert& active, const std::string& reason, WallTime now, Output& out);
  bool deliver_rung(ActiveAlert& active, std::uint32_t step, const std::string& reason, WallTime now, Output& out);
  std::chrono::seconds realert_after(const ActiveAlert& active) const;
  bool reachable(const std::string& target, const eldercare::v1::Alert& alert) const {
    return !reachable_ || reachable_(target, alert);
  }
  eldercare::v1::AlertTransition transition(const ActiveAlert& active, eldercare::v1::AlertState from,
                                            const std::string& actor, const std::string& channel,
                                            const std::string& reason, WallTime now) const;
  std::string tracker_text(const Tracker& tracker) const;
  std::string alert_text(const ActiveAlert& active) const;

  RuleSet rules_;
  std::string gateway_id_;
  Limits limits_;
  Reachability reachable_;
  WallTime::duration wall_offset_{0};
  EngineCounters counters_;
  // Rule indexes per EventKind value: the rules an event of that kind may touch.
  std::vector<std::vector<std::size_t>> rules_by_kind_;
  std::vector<std::size_t> away_rules_;  // the rules that keep a resident's away state
  // Resident -> parameters per rule index, with that resident's overrides.
  std::unordered_map<std::string, std::vector<Parameters>> resident_parameters_;
  std::map<Key, Tracker> trackers_;
  // Whether `device` may end the condition (or alert) of `key`: only the one
  // that raised it.
  bool clearable_by(const Key& key, std::map<Key, Tracker>::const_iterator tracker, const std::string& device) const;
  std::list<Key> recency_;  // least recently touched tracker first
  std::map<Key, ActiveAlert> active_;
  std::unordered_map<std::string, Key> alert_keys_;  // alert id -> key
  std::set<std::pair<WallTime, Key>> due_index_;     // tracker deadlines
  std::set<std::pair<WallTime, Key>> step_index_;    // escalation deadlines
  std::set<Key> dirty_trackers_, dirty_alerts_;
};

}  // namespace eg::rules
