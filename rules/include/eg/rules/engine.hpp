// The rule engine, sans-I/O: fed events, acknowledgements and "time is now T",
// it returns alert transitions and deliveries to make, and says when it next
// needs waking. It owns no timer and reads no clock, so tests run hours of
// escalation in microseconds and a replay gives byte-identical transitions.
// Single-threaded: the gateway calls it from its loop only.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
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
  bool empty() const { return transitions.empty() && deliveries.empty(); }
};

class Engine {
 public:
  Engine(RuleSet rules, std::string gateway_id);
  // Active alerts point into the engine's own rules: copying would dangle.
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Output on_event(const eldercare::v1::SensorEvent& event, WallTime now);
  // Fires what is due at `now`: durations reached, absences, escalation timeouts.
  Output on_time(WallTime now);
  // Someone took responsibility. Idempotent: acknowledging an alert that is
  // already acknowledged or resolved (or unknown) changes nothing.
  Output acknowledge(const std::string& alert_id, const std::string& actor, const std::string& channel, WallTime now);
  Output resolve(const std::string& alert_id, const std::string& actor, const std::string& channel, WallTime now);

  // The earliest time on_time() has work; nullopt when nothing is pending.
  std::optional<WallTime> next_wakeup() const;

  std::vector<eldercare::v1::Alert> active_alerts() const;
  // The alert as it stands now, if it is still active.
  std::optional<eldercare::v1::Alert> find_alert(const std::string& alert_id) const;
  std::size_t tracked_subjects() const { return trackers_.size(); }

  // The whole mutable state as text (JSON), to persist after each change and
  // restore at start: alerts resume at their step with their deadlines, and
  // absence rules count the time the daemon was down.
  std::string snapshot() const;
  // Throws RuleError if the text is not a snapshot of this engine's rules.
  void restore(const std::string& snapshot);

 private:
  struct Tracker {                            // one per (rule, subject)
    bool condition = false;                   // threshold/match state (with hysteresis)
    std::optional<WallTime> true_since;       // for durations
    std::deque<WallTime> hits;                // for counts
    std::optional<WallTime> last_seen;        // for absence
    std::string device, resident, room, bed;  // the subject's latest whereabouts
    bool absence_reported = false;
    std::string last_value;     // for a raise when a duration is reached in on_time()
    std::string last_evidence;  // the event id that last made the condition true
  };
  struct ActiveAlert {
    eldercare::v1::Alert alert;
    std::optional<WallTime> next_step_at;
    const Rule* rule = nullptr;
  };
  using Key = std::pair<std::size_t, std::string>;  // rule index, subject

  bool applies(const Rule& rule, const eldercare::v1::SensorEvent& event) const;
  Parameters parameters_for(const Rule& rule, const std::string& resident) const;
  bool in_schedule(const Rule& rule, WallTime t) const;
  std::optional<WallTime> next_schedule_start(const Rule& rule, WallTime t) const;

  void raise(const Key& key, Tracker& tracker, const std::string& evidence, std::string value, WallTime now,
             Output& out);
  void clear(const Key& key, WallTime now, Output& out);
  void escalate(ActiveAlert& active, WallTime now, Output& out);
  eldercare::v1::AlertTransition transition(const ActiveAlert& active, eldercare::v1::AlertState from,
                                            const std::string& actor, const std::string& channel,
                                            const std::string& reason, WallTime now) const;

  RuleSet rules_;
  std::string gateway_id_;
  std::map<Key, Tracker> trackers_;
  std::map<Key, ActiveAlert> active_;
};

}  // namespace eg::rules
